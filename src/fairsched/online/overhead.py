"""Decision overhead of the dispatcher: wall time of each ``decide`` on a realistic event stream.

The default scenario's arrivals are replayed on a fake clock (:mod:`.replay`) through a dispatcher on
the default platform (ample bandwidth, so stand-in executors take their cost-table times), and every
``decide`` call is timed with ``perf_counter_ns``. What is measured is the scheduler's time per
decision plus nothing else (no executor work, no thread hand-offs): the cost the dispatcher adds to an
executor going idle. Timings depend on the machine and its load; they are reported, never asserted.

    python -m fairsched.online.overhead edf,sla-aware,drl
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from fairsched.api import build
from fairsched.online.dispatcher import Dispatcher
from fairsched.online.replay import poisson_arrivals, replay


def decision_overhead(names, *, load: float = 0.9, requests: int = 3000, seed: int = 0) -> list[dict]:
    plat, table, wl = build(load=load, requests=requests)
    plat = dataclasses.replace(plat, bandwidth=1e18)
    arr = poisson_arrivals(wl, requests, seed=seed)
    rows = []
    for n in names:
        d = replay(lambda clock, ab: Dispatcher(plat, table, wl, n, clock=clock, on_abort=ab, n_total=len(arr),
                                                log_requests=False, trace_layers=False), arr)
        ns = np.asarray(d.decision_ns, dtype=np.float64)
        rows.append(dict(scheduler=n, decisions=len(ns), p50_us=float(np.quantile(ns, 0.5) / 1e3),
                         p99_us=float(np.quantile(ns, 0.99) / 1e3), mean_us=float(ns.mean() / 1e3)))
    return rows


if __name__ == "__main__":  # pragma: no cover
    names = (sys.argv[1] if len(sys.argv) > 1 else "edf,sla-aware,drl").split(",")
    for r in decision_overhead(names):
        print(f"{r['scheduler']:<10} decisions {r['decisions']:>6}  p50 {r['p50_us']:8.1f} us  "
              f"p99 {r['p99_us']:8.1f} us  mean {r['mean_us']:8.1f} us")
