"""Replay an event sequence through a :class:`Dispatcher` on a fake clock.

Executors are stand-ins that take exactly their cost-table time per layer (solo time; no bandwidth
contention, so give the platform ample bandwidth to compare with the simulator). Events at one instant
are fed in the simulator's order: layer finishes, then deadlines, then arrivals, then one dispatch.
Uses: the test that the dispatcher decides as the simulator does, and measuring decision overhead
on a realistic event stream without real executors (``fairsched bench``-style, no timed asserts).
"""

from __future__ import annotations

import heapq

INF = float("inf")


class FakeClock:
    """A clock that stands still until set: ``clock.t = 1.5``; ``clock()`` returns ``t``."""

    def __init__(self, t: float = 0.0):
        self.t = float(t)

    def __call__(self) -> float:
        return self.t


def replay(make_dispatcher, arrivals, *, max_events: int = 10_000_000):
    """Build a dispatcher with ``make_dispatcher(clock, on_abort)`` and feed it ``arrivals``
    (``(time, slo)`` pairs); returns the dispatcher after the last event."""
    clock = FakeClock(0.0)
    aborted: list[int] = []
    d = make_dispatcher(clock, lambda i, req: aborted.append(i))
    arr = sorted((float(t), int(s)) for t, s in arrivals)
    fin = [INF] * d.M
    ai = 0
    for _ in range(max_events):
        t_arr = arr[ai][0] if ai < len(arr) else INF
        t_dl = d.next_deadline()
        t = min(t_arr, min(fin), t_dl)
        if t == INF:
            return d
        clock.t = t
        for i in range(d.M):
            if fin[i] <= t:
                fin[i] = INF
                d.layer_finished(i)
        d.expire()
        for i in aborted:  # the stand-in executors stop at once
            fin[i] = INF
            d.layer_finished(i)
        aborted.clear()
        while ai < len(arr) and arr[ai][0] <= t:
            d.request_arrived(arr[ai][1])
            ai += 1
        for i, req, k in d.dispatch():
            d.take(i)  # the stand-in executor starts it at once
            C = d.prof[d.sub_prof[i]][req.mi].C[k]
            fin[i] = t + 1.0 / (1.0 / C)  # the simulator's arithmetic: remaining work 1.0 at rate 1/C
    raise RuntimeError("replay: too many events")


def poisson_arrivals(workload, n: int, seed: int = 0) -> list[tuple[float, int]]:
    """``n`` arrivals ``(time, slo)`` merged from independent Poisson streams at the SLOs' rates."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for s in workload.slos:
        k = max(1, int(n * s.rate / workload.total_rate * 1.5) + 10)
        ts = np.cumsum(rng.exponential(1.0 / s.rate, size=k))
        out += [(float(t), s.index) for t in ts]
    heapq.heapify(out)
    return [heapq.heappop(out) for _ in range(min(n, len(out)))]
