"""Arrival processes, one per SLO, each with its own seeded generator.

Each process yields absolute arrival times (seconds) in increasing order, drawn in numpy chunks
so the simulator pays a list lookup, not an RNG call, per request. Rates are set by the workload
(from the requested utilization); a process only shapes *when* requests come.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fairsched.errors import InputError

CHUNK = 2048


class ArrivalProcess:
    """Base: subclasses fill ``_gaps(n)`` with the next ``n`` inter-arrival gaps."""

    def __init__(self, rate: float, rng: np.random.Generator):
        self.rate = float(rate)
        self.rng = rng
        self.t = 0.0
        self._buf: list[float] = []
        self._pos = 0

    def _gaps(self, n: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _draw(self) -> np.ndarray:
        """The next ``CHUNK`` arrival times (always this size: the float sums depend on it)."""
        times = self.t + np.cumsum(self._gaps(CHUNK))
        self.t = float(times[-1])
        return times

    def next(self) -> float:
        if self._pos >= len(self._buf):
            self._buf = self._draw().tolist()
            self._pos = 0
        v = self._buf[self._pos]
        self._pos += 1
        return v

    def block(self) -> np.ndarray:
        """The arrival times :meth:`next` would return next, as one array of at least one value:
        the rest of the current chunk, else a new chunk. The compiled core (``sim.compiled``)
        takes arrivals this way, a chunk per call instead of a call per request."""
        if self._pos < len(self._buf):
            rest = np.array(self._buf[self._pos:], dtype=np.float64)
            self._pos = len(self._buf)
            return rest
        return self._draw()


class Poisson(ArrivalProcess):
    def _gaps(self, n):
        return self.rng.exponential(1.0 / self.rate, n)


class Periodic(ArrivalProcess):
    """Fixed period ``1/rate`` with a random phase and optional uniform jitter (fraction of period)."""

    def __init__(self, rate, rng, jitter: float = 0.0):
        super().__init__(rate, rng)
        self.jitter = jitter
        self._first = True

    def _gaps(self, n):
        p = 1.0 / self.rate
        g = np.full(n, p)
        if self.jitter > 0:
            g += self.rng.uniform(-self.jitter * p / 2, self.jitter * p / 2, n)
            g = np.maximum(g, 0.0)
        if self._first:
            g[0] = self.rng.uniform(0, p)
            self._first = False
        return g


class Bursty(ArrivalProcess):
    """On/off (2-state MMPP): Poisson at a high rate during exponentially long ON periods,
    silent during OFF periods; the long-run mean rate equals ``rate``. Starts in an ON period.

    Drawn without a per-period loop (cost independent of how many ON/OFF periods pass between
    arrivals): by memorylessness, the ON time between two arrivals is ``x ~ Exp(peak)``, the ON
    periods that end within it are ``K ~ Poisson(x / mean_on)``, and each is followed by an OFF
    period, ``Exp(mean_off)``, so the gap is ``x + Gamma(K, mean_off)``."""

    def __init__(self, rate, rng, mean_on_s: float, mean_off_s: float):
        super().__init__(rate, rng)
        self.on, self.off = mean_on_s, mean_off_s
        self.peak = rate * (mean_on_s + mean_off_s) / mean_on_s

    def _gaps(self, n):
        rng = self.rng
        x = rng.exponential(1.0 / self.peak, n)
        k = rng.poisson(x / self.on)
        off = np.zeros(n)
        m = k > 0
        off[m] = rng.gamma(k[m], self.off)
        return x + off


class TraceReplay(ArrivalProcess):
    """Replay inter-arrival gaps from a CSV trace (cycled when exhausted); by default rescaled to
    ``rate`` with the shape kept, else used as given (``unit_s`` seconds per trace unit)."""

    def __init__(self, rate, rng, gaps: np.ndarray, rescale: bool = True, unit_s: float = 1e-3):
        super().__init__(rate, rng)
        self.gaps = gaps * (1.0 / rate) / gaps.mean() if rescale else gaps * unit_s
        self._i = 0

    def _gaps(self, n):
        idx = (self._i + np.arange(n)) % len(self.gaps)
        self._i = int((self._i + n) % len(self.gaps))
        return self.gaps[idx]


def read_trace_gaps(path: str | Path, column: str, where: str) -> np.ndarray:
    """Arrival times (any unit) from a CSV column -> positive inter-arrival gaps."""
    import io

    from fairsched.io import decode_text, read_input_bytes

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{where}.path: trace file '{p}' does not exist; give an existing CSV file")
    text = decode_text(read_input_bytes(p, f"{where}.path"), p, f"{where}.path")
    try:
        df = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        raise InputError(f"{where}.path: trace '{p}' is not a readable CSV; fix the file") from None
    if column not in df.columns:
        cols = [str(c)[:40] for c in df.columns[:10]]
        raise InputError(f"{where}.column: trace '{p}' has no column '{column}' (it has {cols}); set 'column'")
    t = pd.to_numeric(df[column], errors="coerce").to_numpy(np.float64)
    if len(t) < 2 or np.isnan(t).any():
        raise InputError(f"{where}: trace '{p}' column '{column}' needs >= 2 numeric arrival times")
    if not np.isfinite(t).all():
        row = int(np.flatnonzero(~np.isfinite(t))[0])
        raise InputError(f"{where}: trace '{p}' column '{column}' has a non-finite time in data row {row + 1}; "
                         "use finite numbers")
    with np.errstate(all="ignore"):
        gaps = np.diff(t)
    if np.any(gaps < 0):
        raise InputError(f"{where}: trace '{p}' column '{column}' must be sorted by time (non-decreasing)")
    with np.errstate(all="ignore"):
        span, mean = float(gaps.sum()), float(gaps.mean())
        scaled = gaps / mean if mean > 0 else gaps
    if not np.isfinite(gaps).all() or not np.isfinite(span):
        raise InputError(f"{where}: trace '{p}' column '{column}' spans more time than a float can hold; "
                         "use smaller numbers (another unit)")
    if span <= 0:
        raise InputError(f"{where}: trace '{p}' spans zero time; arrival times must increase")
    if not (mean >= 1e-300 and np.isfinite(scaled).all()):
        raise InputError(f"{where}: trace '{p}' column '{column}' has gaps too small to compute with; "
                         "use larger numbers (another unit)")
    return gaps
