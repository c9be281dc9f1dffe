"""Real executors: ONNX Runtime sessions on the CPU that run one DNN layer per call.

An *executor kind* is a set of ONNX Runtime session settings; kinds are chosen so that they really
differ per layer, as accelerator types do:

* ``ort-opt``: one intra-op thread, all graph optimisations (``ORT_ENABLE_ALL``: blocked NCHWc
  convolution layouts and fused kernels);
* ``ort-noopt``: one intra-op thread, graph optimisations off (``ORT_DISABLE_ALL``: plain kernels).
  Measured alone, depthwise-heavy MobileNetV2 ran about 3x slower on it, ResNet-18 about 1.5x,
  SqueezeNet about the same (and faster in some concurrent profiles): affinity differs per model
  and per layer, not by one factor;
* ``ort-2t``: two intra-op threads, all optimisations (faster on big layers when cores are free).

One thread per kind by default, so that two executors share two cores without oversubscription.
A running layer is aborted (firm deadline) by setting ``terminate`` on its ``RunOptions`` from another
thread; ONNX Runtime then stops the run early and raises, and the executor acknowledges the abort.
"""

from __future__ import annotations

import threading

import numpy as np

from fairsched.errors import InputError
from fairsched.online.layers import input_shape, layer_model, model_layers

KINDS = {
    "ort-opt": dict(threads=1, opt="all"),
    "ort-noopt": dict(threads=1, opt="none"),
    "ort-2t": dict(threads=2, opt="all"),
}


def _ort():
    try:
        import onnxruntime as ort
    except ImportError:
        raise InputError("the online demo needs ONNX Runtime; install the extra: pip install 'fairsched[online]'") from None
    return ort


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InputError(f"executor kind '{kind}' is unknown; use one of {', '.join(KINDS)}")


class LayerRunner:
    """All layers of some models as ONNX Runtime sessions of one executor kind; runs one at a time."""

    def __init__(self, kind: str, models: list[str] | dict[str, float], scale: float = 1.0, seed: int = 0):
        """``models``: names (all at ``scale``) or ``{name: scale factor}`` (times ``scale``)."""
        check_kind(kind)
        ort = _ort()
        self.kind = kind
        spec = KINDS[kind]
        so = ort.SessionOptions()
        so.intra_op_num_threads = spec["threads"]
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if spec["opt"] == "all"
                                       else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
        so.log_severity_level = 3
        self._RunOptions = ort.RunOptions
        self.layers = {}
        self.sessions: dict[str, list] = {}
        rng = np.random.default_rng(seed)
        factors = models if isinstance(models, dict) else {m: 1.0 for m in models}
        for m, f in factors.items():
            ls = model_layers(m, scale * f)
            self.layers[m] = ls
            row = []
            for k, l in enumerate(ls):
                s = ort.InferenceSession(layer_model(l, seed=seed + k), so, providers=["CPUExecutionProvider"])
                x = rng.standard_normal(input_shape(l), dtype=np.float32)
                row.append((s, {"x": x}))
            self.sessions[m] = row

    def n_layers(self, model: str) -> int:
        return len(self.sessions[model])

    def run(self, model: str, k: int, ro=None) -> bool:
        """Run layer ``k`` of ``model`` (``ro``: the RunOptions to abort it with); False if aborted."""
        s, feed = self.sessions[model][k]
        try:
            s.run(None, feed, ro)
            return True
        except Exception:  # onnxruntime raises on terminate; any other failure is a real error
            if ro is not None and ro.terminate:
                return False
            raise


class Executor:
    """One executor: runs layers on a kind's sessions (shared by executors of that kind; ONNX
    Runtime sessions may run concurrently) and can be told to abort its running layer."""

    def __init__(self, index: int, runner: LayerRunner):
        self.index = index
        self.runner = runner
        self._ro = None
        self._lock = threading.Lock()
        self.aborted = 0

    def run(self, model: str, k: int) -> bool:
        ro = self.runner._RunOptions()
        with self._lock:
            self._ro = ro
        try:
            ok = self.runner.run(model, k, ro)
        finally:
            with self._lock:
                self._ro = None
        self.aborted += not ok
        return ok

    def abort(self) -> None:
        """Stop the running layer, if any (called from another thread, e.g. the deadline watchdog)."""
        with self._lock:
            if self._ro is not None:
                self._ro.terminate = True
