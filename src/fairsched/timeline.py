"""A run's timeline: which layer ran where and when, DRAM bandwidth over time, hit rate over time.

Made from a simulator run with ``SimConfig(trace_layers=True, log_requests=True)`` (either
core, the same rows; ``fairsched simulate --trace run.json --gantt run.png`` sets both). Two outputs:

* :func:`chrome_trace`: the Chrome trace-event JSON format, which Perfetto (ui.perfetto.dev) and
  ``chrome://tracing`` open. Process 1 ("sub-accelerators") has one track (thread) per
  sub-accelerator, named ``sub <i> (<type>)``, with one complete event (``ph: X``) per layer
  execution: name ``<model> L<k>``, args ``request``, ``tenant``, ``model``, ``layer``, ``outcome``
  (``done`` or ``aborted``: the deadline passed mid-layer). Process 2 ("platform") holds the
  counters (``ph: C``): ``DRAM bandwidth (GB/s)`` with series ``in use`` and ``capacity``, and
  ``hit rate: <tenant>``, one counter per tenant. Times are microseconds of simulated time.
* :func:`gantt`: the same for a short window as a PNG: one row per sub-accelerator (bars coloured
  by tenant, aborted layers hatched), bandwidth in use below, per-tenant hit rate at the bottom.

Bandwidth in use is exact: each running layer demands its DRAM bytes over its compute time, and
the simulator's sharing rules grant ``min(B, sum of demands)`` in total (:func:`bandwidth_steps`).
Hit rate is cumulative per tenant over the requests that ended so far (warm-up requests
excluded), updated at each request's end: one counter track per tenant.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

US = 1e6  # trace-event timestamps are microseconds
SUB_PID, PLATFORM_PID = 1, 2


def _check(sim) -> None:
    if sim.layer_trace is None or sim.request_log is None:
        raise ValueError("timeline: run the simulator with SimConfig(trace_layers=True, log_requests=True)")


def _requests(sim) -> dict[int, tuple]:
    """request id -> (tenant name, model)."""
    names = sim.workload.tenants
    return {r[0]: (names[r[1]], r[3]) for r in sim.request_log}


def _spans(sim):
    """(start_s, end_s, sub, request id, tenant, model, layer, outcome) per layer execution, by start."""
    reqs = _requests(sim)
    out = []
    for start, end, sub, rid, k, what in sim.layer_trace:
        tenant, model = reqs.get(rid, ("?", "?"))
        out.append((start, end, sub, rid, tenant, model, k, what))
    out.sort(key=lambda s: (s[0], s[2]))
    return out


def bandwidth_steps(sim, spans=None) -> tuple[np.ndarray, np.ndarray]:
    """``(times_s, bytes_per_s)``: the step function of DRAM bandwidth in use (value from each time on).

    A running layer asks for ``dram_bytes / compute_time`` (its demand at full speed); the sharing
    rules (max-min or proportional) are work-conserving, so the total granted is
    ``min(B, sum of demands)`` over the layers running at that instant."""
    spans = _spans(sim) if spans is None else spans
    plat = sim.platform
    B = plat.bandwidth
    delta: dict[float, float] = {}
    for start, end, sub, _rid, _t, model, k, _what in spans:
        if end <= start:
            continue
        s = plat.subs[sub]
        mc = sim.costs.get(model, s.type)
        compute = float(mc.cycles[k]) / s.clock_hz
        demand = B if compute <= 0 else min(B, float(mc.dram_bytes[k]) / compute)
        delta[start] = delta.get(start, 0.0) + demand
        delta[end] = delta.get(end, 0.0) - demand
    if not delta:
        return np.zeros(1), np.zeros(1)
    t = np.array(sorted(delta))
    v = np.cumsum([delta[x] for x in t])
    v[np.abs(v) < 1e-9 * float(np.abs(v).max())] = 0.0  # float residue where every span has closed
    return t, np.minimum(np.maximum(v, 0.0), B)


def hit_rate_steps(sim) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """tenant -> ``(end_times_s, cumulative hit rate)`` over its counted requests."""
    names = sim.workload.tenants
    rows = sorted((r[6], r[1], bool(r[7])) for r in sim.request_log if r[8])
    acc: dict[str, list] = {n: [[], [], 0, 0] for n in names}
    for end, ti, hit in rows:
        a = acc[names[ti]]
        a[2] += hit
        a[3] += 1
        a[0].append(end)
        a[1].append(a[2] / a[3])
    return {n: (np.array(a[0]), np.array(a[1])) for n, a in acc.items()}


def chrome_trace(sim, *, scheduler: str = "") -> dict:
    """The run as a Chrome trace-event document (a dict; :func:`write_chrome_trace` saves it)."""
    _check(sim)
    plat = sim.platform
    ev: list[dict] = [
        dict(ph="M", name="process_name", pid=SUB_PID, args=dict(name="sub-accelerators")),
        dict(ph="M", name="process_sort_index", pid=SUB_PID, args=dict(sort_index=0)),
        dict(ph="M", name="process_name", pid=PLATFORM_PID, args=dict(name="platform")),
        dict(ph="M", name="process_sort_index", pid=PLATFORM_PID, args=dict(sort_index=1)),
    ]
    for s in plat.subs:
        ev.append(dict(ph="M", name="thread_name", pid=SUB_PID, tid=s.index, args=dict(name=f"sub {s.index} ({s.type})")))
        ev.append(dict(ph="M", name="thread_sort_index", pid=SUB_PID, tid=s.index, args=dict(sort_index=s.index)))
    spans = _spans(sim)
    for start, end, sub, rid, tenant, model, k, what in spans:
        ev.append(dict(ph="X", cat="layer", name=f"{model} L{k}", pid=SUB_PID, tid=sub, ts=start * US,
                       dur=max(0.0, end - start) * US,
                       args=dict(request=rid, tenant=tenant, model=model, layer=k, outcome=what)))
    cap = plat.bandwidth / 1e9
    for t, v in zip(*bandwidth_steps(sim, spans)):
        ev.append(dict(ph="C", name="DRAM bandwidth (GB/s)", pid=PLATFORM_PID, ts=float(t) * US,
                       args={"in use": float(v) / 1e9, "capacity": cap}))
    for tenant, (t, h) in hit_rate_steps(sim).items():
        for ti, hi in zip(t, h):
            ev.append(dict(ph="C", name=f"hit rate: {tenant}", pid=PLATFORM_PID, ts=float(ti) * US,
                           args={"hit rate": float(hi)}))
    return dict(
        traceEvents=ev, displayTimeUnit="ms",
        otherData=dict(generator="fairsched", scheduler=scheduler, platform=plat.describe(),
                       scenario=sim.workload.name, load=sim.workload.load, time_unit="simulated microseconds"),
    )


def write_chrome_trace(sim, path: str | Path, *, scheduler: str = "") -> Path:
    from fairsched.io import atomic_write_text

    atomic_write_text(path, json.dumps(chrome_trace(sim, scheduler=scheduler), separators=(",", ":")))
    return Path(path)


def gantt(sim, path: str | Path, *, start_ms: float | None = None, window_ms: float = 20.0,
          scheduler: str = "") -> Path:
    """Draw ``window_ms`` of the run (from ``start_ms``; default: the end of the warm-up, or the
    first layer) as a PNG: one row per sub-accelerator, bandwidth, per-tenant hit rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from fairsched.io import atomic_write_with

    _check(sim)
    spans = _spans(sim)
    plat = sim.platform
    if start_ms is None:
        counted = [r[4] for r in sim.request_log if r[8]]
        t0 = min(counted) if counted else (spans[0][0] if spans else 0.0)
    else:
        t0 = start_ms / 1e3
    t1 = t0 + window_ms / 1e3
    tenants = list(sim.workload.tenants)
    cmap = plt.get_cmap("tab20")
    color = {t: cmap(i % 20) for i, t in enumerate(tenants)}
    fig, (ax, axb, axh) = plt.subplots(3, 1, figsize=(12, 2.2 + 0.45 * plat.n + 4.0), sharex=True,
                                       gridspec_kw=dict(height_ratios=[max(2.0, 0.45 * plat.n), 1.3, 1.6]))
    ms = 1e3
    for start, end, sub, _rid, tenant, model, k, what in spans:
        if end < t0 or start > t1:
            continue
        ax.broken_barh([(start * ms, max(end - start, 0.0) * ms)], (sub - 0.4, 0.8), facecolors=color.get(tenant),
                       edgecolor="black", linewidth=0.2, hatch="///" if what == "aborted" else None)
    ax.set_yticks(range(plat.n), [f"sub {s.index} ({s.type})" for s in plat.subs])
    ax.invert_yaxis()
    ax.set_title(f"{scheduler or 'run'} on {plat.describe()}; scenario '{sim.workload.name}', load "
                 f"{sim.workload.load:g}: {window_ms:g} ms from t = {t0 * ms:.1f} ms (hatched: aborted layer)",
                 fontsize=9)
    ax.legend(handles=[Patch(color=color[t], label=t) for t in tenants], fontsize=7, ncol=min(6, len(tenants)),
              loc="upper center", bbox_to_anchor=(0.5, -0.02), frameon=False)
    t, v = bandwidth_steps(sim, spans)
    axb.step(t * ms, v / 1e9, where="post", color="tab:blue", label="in use")
    axb.axhline(plat.bandwidth / 1e9, color="tab:red", linestyle="--", linewidth=1, label="capacity")
    axb.set_ylabel("DRAM GB/s")
    axb.legend(fontsize=7, loc="upper right")
    lo = 1.0
    for tenant, (te, h) in hit_rate_steps(sim).items():
        if len(te):
            # the value in force at t0, then every change inside the window
            i0 = max(0, int(np.searchsorted(te, t0, side="right")) - 1)
            sel = slice(i0, int(np.searchsorted(te, t1, side="right")))
            x = np.concatenate([[t0], te[sel][1:], [t1]]) * ms
            y = np.concatenate([h[sel][:1], h[sel][1:], h[sel][-1:]])
            if len(y) > 1:
                axh.step(x, y, where="post", color=color[tenant], linewidth=1.6)
                lo = min(lo, float(y.min()))
    axh.set_ylabel("hit rate so far")
    axh.set_ylim(max(0.0, lo - 0.05), 1.01)
    axh.set_xlabel("simulated time (ms)")
    axh.set_xlim(t0 * ms, t1 * ms)
    fig.tight_layout()
    atomic_write_with(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
    return Path(path)
