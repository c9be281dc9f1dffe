"""Test oracles: independent implementations the package is checked against."""
