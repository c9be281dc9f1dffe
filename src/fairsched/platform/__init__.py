"""Platforms: accelerator types, sub-accelerator instances and shared DRAM bandwidth."""

from fairsched.platform.config import AcceleratorType, Platform, SubAccelerator, load_accelerator_type, load_platform

__all__ = ["AcceleratorType", "Platform", "SubAccelerator", "load_accelerator_type", "load_platform"]
