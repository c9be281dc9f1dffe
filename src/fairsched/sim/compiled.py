"""A compiled (numba) event loop for every heuristic (``edf``, ``fcfs``, ``sjf``, ``llf``, ``rr``,
``prema``, ``affinity-edf``, ``sla-aware``, ``dbp``), the learned schedulers ``drl`` and
``relmas``, their teachers ``triage`` and ``llf-masked``, and the cycle schedulers and env
(the ``policy`` rule, :mod:`fairsched.sim.compiled_policy`).

Why it exists: simulator speed is the product (sweeps run thousands of simulations), and the
pure-Python engine stops near 10^5 layer events per second: every event is a Python call to the
scheduler, a bandwidth re-allocation and a progress update, spread over a dozen small functions.
This kernel does the same work on arrays, 20x to 40x faster (docs/performance.md).

This is the package's one event loop: the pure-Python loop it mirrors (the readable reference)
is the test oracle, ``tests/oracle/engine_py.py``; simulators stepped from outside
(``Simulator.advance`` / ``apply``) run here too (rule ``python``, exit ``NEED_DECISION``). Per-layer traces
(``SimConfig.trace_layers``) come from the kernel too: each layer that ends (``finish_layer``) or
is aborted (``drop``) adds a row to ``tr_f`` / ``tr_i`` (:func:`trace_layer`), at the points where
the engine appends to ``layer_trace``, so the rows, their order and their float bits are the
engine's; Python moves full arrays out as the request log (:meth:`_Kernel._flush_trace`) and
:func:`_fill` turns them into the engine's tuples. With traces off both arrays are None, and
numba prunes every trace branch before typing: the untraced kernel is compiled without trace code
(a traced run compiles, once, a second specialization). A scheduler without an in-kernel rule (user-defined ones) runs here
with rule ``python``: at each decision point the kernel calls its ``decide`` (``_py_hook``; the
Python side is :mod:`fairsched.sim.pydecide`) and applies the decision. In-kernel rules do not time
decisions (``dec_hist`` stays empty). A cycle rule returns to Python at each decision point where
its cycle is due (``NEED_CYCLE``), for the observation and the action. The per-layer RL env runs
the policy rule with the ``external`` pick: the kernel returns at each decision the policy would
make (``NEED_ACTION``) with the observation built, and resumes with the agent's action
(:class:`ActionRun`; many at once: :mod:`fairsched.sim.compiled_batch`).

Exactness: the kernel reproduces the oracle loop bit for bit (request log, counters, floats):
every floating-point operation of the oracle (``tests/oracle/engine_py.py``; comments name the
engine method mirrored) and of the scheduler's ``decide`` is done on the same values in the same
order, and no fast-math is enabled, so no operation is fused or reordered.
``tests/sim/test_compiled.py`` checks the identity.

Rules (``RULES``, named by a scheduler class's ``kernel_spec``): a priority rule pops requests
from a heap in key order, each to the fastest idle sub-accelerator; ``affinity-edf`` may refuse
a placement; ``sla-aware``, ``dbp`` and ``rr`` keep one heap per SLO / tenant (``dbp`` also each
(m,k) stream's last k outcomes, in ``par``); ``prema`` scans the ready set. After a decision that assigned something the kernel decides again at the same instant, as
the engine does.

Layout:

* Request state lives in slot arrays (``reqf``/``reqi``, one column per live request) with a free
  list; a slot is freed when its request ends, so memory follows the live requests, not the run.
* Binary heaps of ``(float key, id, layer)`` with lazy deletion (an entry is stale when its
  slot no longer holds that request, or the request moved on): deadlines, latest starts
  (shedding) and ready requests in scheduler-key order; per-profile heaps of idle subs.
* Bandwidth: incremental max-min (full-speed and throttled classes, a virtual clock for the
  throttled ones) or proportional sharing, with heaps of finish times and tags versioned per sub
  (``Simulator._reallocate``): an event costs O(log M), not O(M).
* Arrivals come in chunks, merged from the same seeded processes in the engine's order; the
  kernel returns when it needs the next chunk, or more room (Python grows an array and resumes).
  The kernel only returns at the top of its loop, before touching the next instant, so resuming
  is exact.
"""

from __future__ import annotations

import numpy as np
import threading

from numba import njit, objmode

from fairsched.sim.compiled_policy import (ACTS, N_PC, N_PF, PC_ACT, PC_CYCLE, PC_K, PC_MAXT, PC_NCAND, PC_NGLOB,
                                           PC_PICK, PC_TA, PF_HI, PF_INVB, PF_LO, PF_LOAD, PF_NEXT, PF_SKIP_T,
                                           PF_THETA,
                                           PICKS, PS_D, PS_N, PS_TAU, pack_mlp, policy_decide)
from fairsched.sim.compiled_policy import P_EXTERNAL, X_ACT, X_CAND, X_NC, X_SUB
from fairsched.sim.request import DONE, READY, RUNNING

INF = np.inf


class _Active(threading.local):
    """``stack``: the Python-decided kernels running in this thread (innermost last; nested runs ok)."""

    def __init__(self):
        self.stack = []


_ACTIVE = _Active()

# kernel exit codes
FINISHED, NEED_ARRIVALS, NEED_ROOM, NEED_CYCLE = 0, 1, 2, 3
NEED_ACTION = 4  # the policy rule's external pick: the per-layer env's agent chooses (ActionRun)
# positions in _Kernel.args() of what the batched env step reads (sim/compiled_batch.py)
A_RUNNING, A_CNT, A_PW, A_PSKIP = 6, 42, 51, 53
# rule ``python`` (a scheduler's own ``decide``): its decision points are served by a call into
# Python from inside the kernel (``_py_hook``), not by an exit: returning from and re-entering
# ``run_kernel`` costs ~10 us of numba dispatch (56 arguments), the in-kernel call ~1 us. A run
# stepped from outside (``Simulator.advance`` / ``apply``, :class:`fairsched.sim.pydecide.StepKernel`)
# exits at each decision point instead: the hook answers -2, the kernel returns NEED_DECISION.
NEED_DECISION = 5

# in-kernel rules: a scheduler's ``kernel_spec`` -> (rule code, key code). A rule "key + placement"
# (a static per-(request, layer) key, fastest-idle placement, optionally refused) is one line here,
# one case in ``key_of`` and, for a refusal, one case in ``decide`` (docs/performance.md).
R_PRIORITY, R_AFFINITY, R_SLA, R_RR, R_PREMA, R_POLICY, R_DBP, R_PYTHON = range(8)
K_DEADLINE, K_ARRIVAL, K_BEST, K_LAXITY = 0, 1, 2, 3
KEYS = {"deadline": K_DEADLINE, "arrival": K_ARRIVAL, "best_remaining": K_BEST, "laxity": K_LAXITY}
RULES = {f"priority:{k}": (R_PRIORITY, c) for k, c in KEYS.items()}
RULES.update({"affinity-edf": (R_AFFINITY, K_DEADLINE), "sla-aware": (R_SLA, K_DEADLINE),
              "rr": (R_RR, K_ARRIVAL), "prema": (R_PREMA, K_BEST), "dbp": (R_DBP, K_DEADLINE),
              # the learned schedulers' protocol (sim/compiled_policy.py); the pick is a parameter
              "policy": (R_POLICY, K_DEADLINE),
              # any Scheduler: its decide(sim) in Python at each decision point (sim/pydecide.py)
              "python": (R_PYTHON, K_DEADLINE)})
SHARINGS = {"maxmin": 0, "proportional": 1}
S_MAXMIN = 0

# fs: float scalars
NOW, TOTAL, ENERGY, PEAK_BW, BW, DEC_COST, SUMF, LEVEL, VCLK, TV, WAKE = range(11)
N_FS = 11  # WAKE: the earliest pending wake_at of a Python decision (INF: none)
# st: int scalars (counts, flags, sizes)
(N_ARRIVED, N_TOTAL, WARMUP_N, N_IDLE, N_READY, DIRTY, LAYER_EVENTS, DECISIONS, ABORTED, ARR_POS,
 ARR_LEN, N_FREE, LOG_LEN, KEY, SHED, SHARING, LOGGING, N_AT, N_DL, N_LST, N_RDY, RULE, N_FH,
 N_FM, N_TH, N_TM, N_F, N_T, N_NEW, GMAX, RR_PTR, STAMP, RESUME) = range(33)
PY_LOG = 33  # rule python: rows in its change log of the ready set (sk_v), not yet read by Python
TR_LEN, TRACING = 34, 35  # per-layer trace (SimConfig.trace_layers): rows in tr_f/tr_i, and the flag
N_ST = 36
# sub: float rows per sub-accelerator (engine: _C, _D, _E, _w, _t0, _tag, _dem, _r0, _start, busy)
S_C, S_D, S_E, S_W, S_T0, S_TAG, S_DEM, S_R0, S_START, S_BUSY = range(10)
N_SUBF = 10
# reqf / reqi: rows per request slot
R_ARRIVAL, R_DEADLINE = 0, 1
R_ID, R_SLO, R_MODEL, R_LAYER, R_STATE, R_SUB, R_COUNTED, R_RPOS, R_RSEQ = range(9)
N_REQI = 9  # R_RSEQ: when the request last became ready (the engine's ``ready`` dict order)
SLACK = 32  # stale heap entries tolerated beyond twice the live ones
# heap entry ints: heap_v[:, col]
H_ID, H_LAYER, H_SLOT = 0, 1, 2
# cost tables: cost[row, profile, layer column]
C_C, C_D, C_E, C_SOLO = range(4)
# model_i rows
M_LAYER_OFF, M_SUF_OFF, M_N_LAYERS = 0, 1, 2
# cnt rows (engine: slo_arrived, slo_hits, slo_dropped, slo_done_all, slo_hits_all)
C_ARRIVED, C_HITS, C_DROPPED, C_DONE_ALL, C_HITS_ALL = range(5)
# log rows
L_ARRIVAL, L_DEADLINE, L_END = 0, 1, 2
L_ID, L_SLO, L_HIT, L_COUNTED = 0, 1, 2, 3
# per-layer trace rows (the engine's layer_trace tuples: start, end, sub, id, layer, done/aborted)
T_START, T_END = 0, 1
T_SUB, T_ID, T_LAYER, T_ABORTED = 0, 1, 2, 3
# rule parameters and per-SLO rule state: par[row, slo] (prema's priority and isolated latency,
# sla-aware's target; dbp: m, k, distance to failure, outcomes kept, next ring position, then the
# ring of the last k outcomes, 1.0 = hit, from row P_RING on)
P_PRIO, P_ISO, P_TARGET = range(3)
P_M, P_K, P_DIST, P_HN, P_HPOS, P_RING = range(6)
NO_MK = float(1 << 30)  # schedulers/dbp.py's NO_MK: streams without (m,k) rank after every (m,k) one


# ------------------------------------------------------------------------------------ heaps
# A heap is ``hk`` (float keys) and ``hv`` (rows of id, layer, slot); its size is kept by the caller.
# Entries are ordered like the engine's heap tuples: (key, id, layer). Sifts move a hole instead
# of swapping, so each level costs one copy.
@njit(cache=True)
def _less(k1, id1, l1, k2, id2, l2):
    """``(k1, id1, l1) < (k2, id2, l2)`` like Python tuples."""
    if k1 != k2:
        return k1 < k2
    if id1 != id2:
        return id1 < id2
    return l1 < l2


@njit(cache=True)
def _put(hk, hv, i, key, rid, layer, slot):
    hk[i] = key
    hv[i, H_ID] = rid
    hv[i, H_LAYER] = layer
    hv[i, H_SLOT] = slot


@njit(cache=True)
def _move(hk, hv, dst, src):
    hk[dst] = hk[src]
    hv[dst, H_ID] = hv[src, H_ID]
    hv[dst, H_LAYER] = hv[src, H_LAYER]
    hv[dst, H_SLOT] = hv[src, H_SLOT]


@njit(cache=True)
def heap_push(hk, hv, n, key, rid, layer, slot):
    """Add an entry to the heap of size ``n`` (room is checked by the caller); returns the new size."""
    i = n
    while i > 0:
        p = (i - 1) >> 1
        if not _less(key, rid, layer, hk[p], hv[p, H_ID], hv[p, H_LAYER]):
            break
        _move(hk, hv, i, p)
        i = p
    _put(hk, hv, i, key, rid, layer, slot)
    return n + 1


@njit(cache=True)
def _sift_down(hk, hv, i, n, key, rid, layer, slot):
    """Place the entry (key, rid, layer, slot) at hole ``i`` of a heap of size ``n``, moving it down."""
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _less(hk[c + 1], hv[c + 1, H_ID], hv[c + 1, H_LAYER], hk[c], hv[c, H_ID], hv[c, H_LAYER]):
            c += 1
        if not _less(hk[c], hv[c, H_ID], hv[c, H_LAYER], key, rid, layer):
            break
        _move(hk, hv, i, c)
        i = c
    _put(hk, hv, i, key, rid, layer, slot)


@njit(cache=True)
def heap_pop(hk, hv, n):
    """Remove the top entry (read it first); returns the new size."""
    n -= 1
    if n > 0:
        _sift_down(hk, hv, 0, n, hk[n], hv[n, H_ID], hv[n, H_LAYER], hv[n, H_SLOT])
    return n


@njit(cache=True)
def heap_compact(hk, hv, n, reqi, ready_only):
    """Drop the stale entries (ended requests; with ``ready_only`` also requests that are not
    ready at the entry's layer) and re-heapify; returns the new size. Stale entries do nothing
    when popped, and the others are unique, so the order of pops is unchanged."""
    m = 0
    for j in range(n):
        slot = hv[j, H_SLOT]
        if reqi[R_ID, slot] != hv[j, H_ID]:
            continue
        if ready_only and (reqi[R_STATE, slot] != READY or reqi[R_LAYER, slot] != hv[j, H_LAYER]):
            continue
        _move(hk, hv, m, j)
        m += 1
    for i in range(m // 2 - 1, -1, -1):
        _sift_down(hk, hv, i, m, hk[i], hv[i, H_ID], hv[i, H_LAYER], hv[i, H_SLOT])
    return m


@njit(cache=True)
def _short(hk, n, need):
    """A heap must grow: too little room for ``need`` pushes, or over half full after compaction."""
    return hk.shape[0] - n < need or 2 * n > hk.shape[0]


@njit(cache=True)
def fin_compact(hk, hv, n, ver):
    """Drop finish-heap entries whose version is not the sub's current one; re-heapify."""
    m = 0
    for j in range(n):
        if hv[j, H_LAYER] != ver[hv[j, H_ID]]:
            continue
        _move(hk, hv, m, j)
        m += 1
    for i in range(m // 2 - 1, -1, -1):
        _sift_down(hk, hv, i, m, hk[i], hv[i, H_ID], hv[i, H_LAYER], hv[i, H_SLOT])
    return m


# Int heaps: per-profile idle subs (``ih[p]``, ordered by sub index) and per-group ready requests
# (``gh[g]``, rows of (id, layer, slot), ordered by id: within one tenant or SLO, id order is
# arrival order and deadline order, so it is the order of rr's and sla-aware's keys).
@njit(cache=True)
def ih_push(h, n, x):
    i = n
    while i > 0:
        p = (i - 1) >> 1
        if h[p] <= x:
            break
        h[i] = h[p]
        i = p
    h[i] = x
    return n + 1


@njit(cache=True)
def ih_pop(h, n):
    n -= 1
    if n > 0:
        x = h[n]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= n:
                break
            if c + 1 < n and h[c + 1] < h[c]:
                c += 1
            if h[c] >= x:
                break
            h[i] = h[c]
            i = c
        h[i] = x
    return n


@njit(cache=True)
def _gless(g, a, b):
    if g[a, H_ID] != g[b, H_ID]:
        return g[a, H_ID] < g[b, H_ID]
    return g[a, H_LAYER] < g[b, H_LAYER]


@njit(cache=True)
def _gswap(g, a, b):
    for c in range(3):
        x = g[a, c]
        g[a, c] = g[b, c]
        g[b, c] = x


@njit(cache=True)
def _gdown(g, i, n):
    while True:
        c = 2 * i + 1
        if c >= n:
            return
        if c + 1 < n and _gless(g, c + 1, c):
            c += 1
        if not _gless(g, c, i):
            return
        _gswap(g, i, c)
        i = c


@njit(cache=True)
def gh_push(g, n, rid, layer, slot):
    i = n
    g[i, H_ID] = rid
    g[i, H_LAYER] = layer
    g[i, H_SLOT] = slot
    while i > 0:
        p = (i - 1) >> 1
        if not _gless(g, i, p):
            break
        _gswap(g, i, p)
        i = p
    return n + 1


@njit(cache=True)
def gh_pop(g, n):
    n -= 1
    if n > 0:
        for c in range(3):
            g[0, c] = g[n, c]
        _gdown(g, 0, n)
    return n


@njit(cache=True)
def gh_compact(g, n, reqi):
    m = 0
    for j in range(n):
        slot = g[j, H_SLOT]
        if (reqi[R_ID, slot] != g[j, H_ID] or reqi[R_STATE, slot] != READY
                or reqi[R_LAYER, slot] != g[j, H_LAYER]):
            continue
        for c in range(3):
            g[m, c] = g[j, c]
        m += 1
    for i in range(m // 2 - 1, -1, -1):
        _gdown(g, i, m)
    return m


@njit(cache=True)
def _mk_distance(col):
    """``schedulers/dbp.py::distance`` on one SLO's column of ``par`` (m, k, outcomes kept ``n``,
    next ring position, ring): walk the outcomes from the most recent; older ones count as hits."""
    m, k, n = int(col[P_M]), int(col[P_K]), int(col[P_HN])
    hits = 0
    for pos in range(1, n + 1):
        if col[P_RING + (int(col[P_HPOS]) - pos) % k] != 0.0:
            hits += 1
            if hits == m:
                return float(k - pos + 1)
    if hits + (k - n) >= m:
        return float(k - (n + (m - hits)) + 1)
    return 0.0


# ------------------------------------------------------------------- Python decisions
def _serve(kind):
    """The object side of ``_py_hook``: the innermost running Python-decided kernel serves it."""
    return _ACTIVE.stack[-1].serve(kind)


@njit(cache=True)
def _py_hook(kind):
    """Call Python from inside the kernel (``kind`` 0: decide, 1: the next chunk of the decision,
    2: pop the wakes due now, 3: read the full change log); returns (rows written to rd_v, more
    rows follow, next wake time)."""
    with objmode(ne="int64", more="int64", wk="float64"):
        ne, more, wk = _serve(kind)
    return ne, more, wk


@njit(cache=True)
def trace_layer(tr_f, tr_i, n, t0, t1, i, rid, k, aborted):
    """Row ``n`` of the per-layer trace: layer ``k`` of request ``rid`` ran on sub ``i`` from ``t0``
    to ``t1`` (``aborted``: dropped while running). Returns the new length."""
    tr_f[T_START, n] = t0
    tr_f[T_END, n] = t1
    tr_i[T_SUB, n] = i
    tr_i[T_ID, n] = rid
    tr_i[T_LAYER, n] = k
    tr_i[T_ABORTED, n] = aborted
    return n + 1


@njit(cache=True)
def trace_done(tr_f, tr_i, n, due, nd, start, now, running, reqi):
    """The rows of the ``nd`` layers finishing at ``now`` on subs ``due[:nd]`` (in that order),
    written before they end (their slots still hold their requests). Returns the new length."""
    for j in range(nd):
        i = due[j]
        slot = running[i]
        n = trace_layer(tr_f, tr_i, n, start[i], now, i, reqi[R_ID, slot], reqi[R_LAYER, slot], 0)
    return n


# ----------------------------------------------------------------------------------- kernel
@njit(cache=True)
def run_kernel(fs, st, sub, sprof, sver, scls, running, reqf, reqi, free, dl_k, dl_v, ls_k, ls_v, rd_k, rd_v,
               sk_k, sk_v, fh_k, fh_v, fm_k, fm_v, th_k, th_v, tm_k, tm_v, ih, ih_n, gh, gsize, glive, slo_grp, rlist, par, athr, arr_t, arr_s,
               cost, bsuf, model_i, slo_model, slo_dl, cnt, log_f, log_i, pcfg, pflt, pslo, slo_ten, ten_share, ten_order,
               pw, pdims, pskip, psuf, blay, tr_f, tr_i):
    """Run events until the end (``FINISHED``), the end of the arrival chunk (``NEED_ARRIVALS``),
    a full array (``NEED_ROOM``, with the arrivals of the next instant in ``st[N_AT]``) or, for a
    cycle scheduler, a decision point where its cycle is due (``NEED_CYCLE``: Python sets the
    cycle's pick; with ``st[RESUME]`` set the kernel resumes at that decision point), or, for the
    external pick, a decision the agent makes (``NEED_ACTION``: Python sets ``pskip[M + X_ACT]``;
    the kernel resumes with it, ``st[RESUME] == 2``), or, for rule python stepped from outside
    (``Simulator.advance`` / ``apply``), a decision point (``NEED_DECISION``: the hook answered -2;
    on resuming, ``st[RESUME] == 3``, the kernel calls the hook again for the decision).

    Mirrors ``Simulator.advance`` / ``apply`` with the scheduler's rule (``st[RULE]``) deciding in
    place. ``sub`` holds the engine's per-sub lists as rows; ``running`` the slot running on each
    sub (-1: idle); ``sprof`` each sub's profile (type, clock), ``ih[p]`` that profile's idle subs."""
    M = sub.shape[1]
    P = ih.shape[0]
    S = slo_dl.shape[0]
    G = gsize.shape[0]
    B = fs[BW]
    key_kind = st[KEY]
    rule = st[RULE]
    grouped = rule == R_SLA or rule == R_RR or rule == R_DBP
    leafed = rule == R_SLA or rule == R_DBP  # a tournament tree over SLO heads
    heaped = rule == R_PRIORITY or rule == R_AFFINITY
    pol = rule == R_POLICY  # places on any idle sub: the per-profile idle heaps are not kept
    anysub = pol or rule == R_PYTHON
    shed = st[SHED] != 0
    logging = st[LOGGING] != 0
    # the per-layer trace (tr_f / tr_i), as the engine's layer_trace; None when off, so numba
    # prunes every trace branch before typing (a run without traces compiles the code of no traces)
    tracing = tr_f is not None
    maxmin = st[SHARING] == S_MAXMIN
    C, D, E, w, t0, tag = sub[S_C], sub[S_D], sub[S_E], sub[S_W], sub[S_T0], sub[S_TAG]
    dem, r0, start, busy = sub[S_DEM], sub[S_R0], sub[S_START], sub[S_BUSY]
    # the external pick (NEED_ACTION) and a stepped Python decide (NEED_DECISION) return in the
    # middle of an instant's decisions: the subs started since the last re-allocation are then
    # kept in pskip's last M entries (rule python: pskip is just those M entries)
    ext = pol and pcfg[PC_PICK] == P_EXTERNAL
    newl = pskip[pskip.shape[0] - M:] if ext or rule == R_PYTHON else np.empty(M, np.int64)
    due = np.empty(M, np.int64)  # subs finishing at this instant
    used_g = np.zeros(G, np.int64)  # rr: the decision (stamp) that last took this tenant's head
    ctake = np.zeros(0, np.int64)  # prema: scratch of candidate slots
    cmark = np.zeros(0, np.bool_)
    # policy: scratch of the candidate menu, the tenant state (cached by ended requests), the observation
    nsc = free.shape[0] if pol else 1
    f_lax, f_rem = np.empty(nsc, np.float64), np.empty(nsc, np.float64)
    f_id, f_slot = np.empty(nsc, np.int64), np.empty(nsc, np.int64)
    heads, count = np.empty(S, np.int64), np.empty(S, np.int64)
    cand = np.empty(pcfg[PC_K] + 1, np.int64)
    # the external pick builds its observation into pw (no weights there), which Python reads
    obs = pw if ext else np.zeros(pcfg[PC_K] * pcfg[PC_NCAND] + pcfg[PC_NGLOB], np.float32)
    mask = np.zeros(pcfg[PC_K] + 1, np.bool_)
    hbuf = np.zeros((3, pdims.max()), np.float32)  # compiled_policy.mlp_scratch
    tst = np.zeros((5, max(S, ten_share.shape[0]) + 1), np.float64)
    tkey = np.full(1, -1, np.int64)
    # sla-aware: a tournament tree over SLOs; leaf g = (-deficit, deadline, id) of SLO g's head
    # (lid -1: no ready request), refreshed only for SLOs marked dirty (head or hit rate changed)
    GP = 1
    while GP < G:
        GP *= 2
    tree = np.full(2 * GP, -1, np.int64)
    lk = np.zeros(G, np.float64)
    ld = np.zeros(G, np.float64)
    lid = np.full(G, -1, np.int64)
    gdirty = np.zeros(G, np.bool_)
    dlist = np.empty(G, np.int64)
    ndirty = np.zeros(1, np.int64)

    def key_of(slot, k):  # the scheduler's key of a request at layer k (ties: id)
        if key_kind == K_DEADLINE:
            return reqf[R_DEADLINE, slot]
        if key_kind == K_ARRIVAL:
            return reqf[R_ARRIVAL, slot]
        b = bsuf[model_i[M_SUF_OFF, reqi[R_MODEL, slot]] + k]
        if key_kind == K_BEST:
            return b
        return reqf[R_DEADLINE, slot] - b

    def live_ready(slot, rid, k):
        return reqi[R_ID, slot] == rid and reqi[R_STATE, slot] == READY and reqi[R_LAYER, slot] == k

    def group_head(g):  # slot of group g's first live ready request (glive[g] > 0)
        while True:
            slot = gh[g, 0, H_SLOT]
            if live_ready(slot, gh[g, 0, H_ID], gh[g, 0, H_LAYER]):
                return slot
            gsize[g] = gh_pop(gh[g], gsize[g])

    def dirty(g):
        if leafed and not gdirty[g]:
            gdirty[g] = True
            dlist[ndirty[0]] = g
            ndirty[0] += 1

    def better(a, b):
        if a < 0:
            return b
        if b < 0:
            return a
        return a if _less(lk[a], ld[a], lid[a], lk[b], ld[b], lid[b]) else b

    def refresh():
        for j in range(ndirty[0]):
            g = dlist[j]
            gdirty[g] = False
            if glive[g] == 0:
                lid[g] = -1
                tree[GP + g] = -1
            else:
                slot = group_head(g)
                if rule == R_DBP:
                    lk[g] = par[P_DIST, g]
                else:
                    d = cnt[C_DONE_ALL, g]
                    h = cnt[C_HITS_ALL, g] / d if d else 1.0
                    lk[g] = -(par[P_TARGET, g] - h)
                ld[g] = reqf[R_DEADLINE, slot]
                lid[g] = reqi[R_ID, slot]
                tree[GP + g] = g
            x = (GP + g) >> 1
            while x >= 1:
                tree[x] = better(tree[2 * x], tree[2 * x + 1])
                x >>= 1
        ndirty[0] = 0

    def py_log(rid, k, slot):  # rule python: the ready set's changes, in order (k -1: left it)
        n = st[PY_LOG]
        if n == sk_k.shape[0]:  # full: Python reads it now
            _py_hook(3)
            n = 0
        sk_v[n, H_ID] = rid
        sk_v[n, H_LAYER] = k
        sk_v[n, H_SLOT] = slot
        st[PY_LOG] = n + 1

    def make_ready(slot, k):  # engine: ready[id] = req (+ _lst push when shedding)
        rid = reqi[R_ID, slot]
        reqi[R_STATE, slot] = READY
        reqi[R_RSEQ, slot] = st[N_ARRIVED] + st[LAYER_EVENTS]  # grows at every make_ready
        if rule == R_PYTHON:
            py_log(rid, k, slot)
        n = st[N_READY]
        st[N_READY] = n + 1
        if heaped:
            st[N_RDY] = heap_push(rd_k, rd_v, st[N_RDY], key_of(slot, k), rid, k, slot)
        elif grouped:
            g = slo_grp[reqi[R_SLO, slot]]
            dirty(g)
            glive[g] += 1
            if gsize[g] >= 2 * glive[g] + SLACK:
                gsize[g] = gh_compact(gh[g], gsize[g], reqi)
            gsize[g] = gh_push(gh[g], gsize[g], rid, k, slot)
            if gsize[g] > st[GMAX]:
                st[GMAX] = gsize[g]
        else:
            rlist[n] = slot
            reqi[R_RPOS, slot] = n
        if shed:
            lst = reqf[R_DEADLINE, slot] - bsuf[model_i[M_SUF_OFF, reqi[R_MODEL, slot]] + k]
            st[N_LST] = heap_push(ls_k, ls_v, st[N_LST], lst, rid, k, slot)

    def unready(slot):  # a ready request leaves the ready set (started or dropped)
        if rule == R_PYTHON:
            py_log(reqi[R_ID, slot], -1, slot)
        n = st[N_READY] - 1
        st[N_READY] = n
        if grouped:
            g = slo_grp[reqi[R_SLO, slot]]
            glive[g] -= 1
            dirty(g)
        elif not heaped:
            j = reqi[R_RPOS, slot]
            last = rlist[n]
            rlist[j] = last
            reqi[R_RPOS, last] = j

    def hpush(hk, hv, nidx, key, i, v):  # engine: _push (compaction when full: same pops)
        if st[nidx] > 2 * (M - st[N_IDLE]) + 8:
            st[nidx] = fin_compact(hk, hv, st[nidx], sver)
        st[nidx] = heap_push(hk, hv, st[nidx], key, i, v, 0)

    def head(hk, hv, nidx):  # engine: _head; True if a live entry is on top
        while st[nidx] > 0 and hv[0, H_LAYER] != sver[hv[0, H_ID]]:
            st[nidx] = heap_pop(hk, hv, st[nidx])
        return st[nidx] > 0

    def to_full(i, wi):  # engine: _to_full
        now = fs[NOW]
        v = sver[i] + 1
        sver[i] = v
        scls[i] = 1
        w[i] = wi
        t0[i] = now
        d = dem[i]
        fs[SUMF] += d
        st[N_F] += 1
        hpush(fh_k, fh_v, N_FH, now + (wi if wi > 0.0 else 0.0) / r0[i], i, v)
        hpush(fm_k, fm_v, N_FM, -d, i, v)

    def to_throttled(i, b):  # engine: _to_throttled
        v = sver[i] + 1
        sver[i] = v
        scls[i] = 2
        tg = fs[VCLK] + b
        tag[i] = tg
        st[N_T] += 1
        hpush(th_k, th_v, N_TH, tg, i, v)
        if maxmin:
            hpush(tm_k, tm_v, N_TM, dem[i], i, v)

    def leave(i):  # engine: _leave
        c = scls[i]
        if c == 1:
            st[N_F] -= 1
            fs[SUMF] = fs[SUMF] - dem[i] if st[N_F] else 0.0
        elif c == 2:
            st[N_T] -= 1
        scls[i] = 0
        sver[i] += 1

    def remaining(i):  # engine: _remaining
        c = scls[i]
        if c == 1:
            return w[i] - (fs[NOW] - t0[i]) * r0[i]
        if c == 2:
            V = fs[VCLK] + (fs[NOW] - fs[TV]) * fs[LEVEL]
            return (tag[i] - V) / (D[i] if maxmin else C[i])
        return 1.0

    def reallocate():  # engine: _reallocate
        st[DIRTY] = 0
        now = fs[NOW]
        if st[N_T]:
            fs[VCLK] = fs[VCLK] + (now - fs[TV]) * fs[LEVEL]
        fs[TV] = now
        n_new = st[N_NEW]
        st[N_NEW] = 0
        if not maxmin:
            for j in range(n_new):
                i = newl[j]
                if running[i] >= 0 and scls[i] == 0:
                    to_throttled(i, C[i])
            total = fs[TOTAL]
            f = 1.0 if total <= B else B / total
            fs[LEVEL] = f
            used = total if f == 1.0 else total * f
            if used > fs[PEAK_BW]:
                fs[PEAK_BW] = used
            return
        for j in range(n_new):
            i = newl[j]
            if running[i] >= 0 and scls[i] == 0:
                to_full(i, 1.0)
        moves = 0
        limit = 2 * (M - st[N_IDLE]) + 4
        L = INF
        while True:
            nT = st[N_T]
            L = (B - fs[SUMF]) / nT if nT else INF
            if moves > limit:
                break
            if st[N_F]:
                head(fm_k, fm_v, N_FM)
                d = fm_k[0]
                i = fm_v[0, H_ID]
                if (-d > L) if nT else (fs[SUMF] > B):
                    wi = w[i] - (now - t0[i]) * r0[i]
                    leave(i)
                    to_throttled(i, (wi if wi > 0.0 else 0.0) * D[i])
                    moves += 1
                    continue
            if nT:
                head(tm_k, tm_v, N_TM)
                d = tm_k[0]
                i = tm_v[0, H_ID]
                if d <= L:
                    b = tag[i] - fs[VCLK]
                    leave(i)
                    to_full(i, b / D[i])
                    moves += 1
                    continue
            break
        fs[LEVEL] = L
        nT = st[N_T]
        used = fs[SUMF] + nT * L if nT else fs[SUMF]
        if used > fs[PEAK_BW]:
            fs[PEAK_BW] = used

    def start_layer(slot, i):  # engine: _start_layer; i is the lowest idle sub of its profile
        unready(slot)
        p = sprof[i]
        if not anysub:
            ih_n[p] = ih_pop(ih[p], ih_n[p])
        k = reqi[R_LAYER, slot]
        reqi[R_STATE, slot] = RUNNING
        reqi[R_SUB, slot] = i
        running[i] = slot
        st[N_IDLE] -= 1
        col = model_i[M_LAYER_OFF, reqi[R_MODEL, slot]] + k
        c = C[i] = cost[C_C, p, col] + fs[DEC_COST]
        d = D[i] = cost[C_D, p, col]
        dd = d / c
        dem[i] = dd
        r0[i] = 1.0 / c
        E[i] = cost[C_E, p, col]
        fs[TOTAL] += dd
        newl[st[N_NEW]] = i
        st[N_NEW] += 1
        start[i] = fs[NOW]
        st[DIRTY] = 1

    def free_sub(i):  # engine: _free
        running[i] = -1
        st[N_IDLE] += 1
        if not anysub:
            p = sprof[i]
            ih_n[p] = ih_push(ih[p], ih_n[p], i)
        leave(i)
        fs[TOTAL] = fs[TOTAL] - dem[i] if st[N_IDLE] < M else 0.0
        st[DIRTY] = 1
        busy[i] += fs[NOW] - start[i]

    def end(slot, hit):  # engine: _end; the slot is freed
        s = reqi[R_SLO, slot]
        counted = reqi[R_COUNTED, slot] != 0
        cnt[C_DONE_ALL, s] += 1
        dirty(s)
        if rule == R_DBP and par[P_K, s] > 0:  # DBP._ended: the outcome joins the stream's history
            kk = int(par[P_K, s])
            pos = int(par[P_HPOS, s])
            par[P_RING + pos, s] = 1.0 if hit else 0.0
            par[P_HPOS, s] = (pos + 1) % kk
            if par[P_HN, s] < kk:
                par[P_HN, s] += 1
            par[P_DIST, s] = _mk_distance(par[:, s])
        if hit:
            cnt[C_HITS_ALL, s] += 1
            if counted:
                cnt[C_HITS, s] += 1
        if logging:
            n = st[LOG_LEN]
            log_i[L_ID, n] = reqi[R_ID, slot]
            log_i[L_SLO, n] = s
            log_i[L_HIT, n] = hit
            log_i[L_COUNTED, n] = counted
            log_f[L_ARRIVAL, n] = reqf[R_ARRIVAL, slot]
            log_f[L_DEADLINE, n] = reqf[R_DEADLINE, slot]
            log_f[L_END, n] = fs[NOW]
            st[LOG_LEN] = n + 1
        reqi[R_ID, slot] = -1  # every heap entry of this request is now stale
        reqi[R_STATE, slot] = DONE
        free[st[N_FREE]] = slot
        st[N_FREE] += 1

    def drop(slot):  # engine: _drop
        if reqi[R_STATE, slot] == RUNNING:
            i = reqi[R_SUB, slot]
            wi = remaining(i)
            free_sub(i)
            x = 1.0 - wi
            fs[ENERGY] += E[i] * (x if x > 0.0 else 0.0)
            st[ABORTED] += 1
            if tracing:  # engine: _drop's layer_trace row
                st[TR_LEN] = trace_layer(tr_f, tr_i, st[TR_LEN], start[i], fs[NOW], i, reqi[R_ID, slot],
                                         reqi[R_LAYER, slot], 1)
            reqi[R_SUB, slot] = -1
        else:
            unready(slot)
        if reqi[R_COUNTED, slot]:
            cnt[C_DROPPED, reqi[R_SLO, slot]] += 1
        end(slot, False)

    def finish_layer(i):  # engine: _finish_layer
        slot = running[i]
        free_sub(i)
        fs[ENERGY] += E[i]
        st[LAYER_EVENTS] += 1
        k = reqi[R_LAYER, slot] + 1
        reqi[R_LAYER, slot] = k
        reqi[R_SUB, slot] = -1
        if k == model_i[M_N_LAYERS, reqi[R_MODEL, slot]]:
            end(slot, True)
        else:
            make_ready(slot, k)

    def arrive():  # engine: _arrive
        p = st[ARR_POS]
        t = arr_t[p]
        s = arr_s[p]
        st[ARR_POS] = p + 1
        seq = st[N_ARRIVED]
        st[N_ARRIVED] = seq + 1
        st[N_FREE] -= 1
        slot = free[st[N_FREE]]
        counted = seq >= st[WARMUP_N]
        deadline = t + slo_dl[s]
        reqi[R_ID, slot] = seq
        reqi[R_SLO, slot] = s
        reqi[R_MODEL, slot] = slo_model[s]
        reqi[R_LAYER, slot] = 0
        reqi[R_SUB, slot] = -1
        reqi[R_COUNTED, slot] = counted
        reqf[R_ARRIVAL, slot] = t
        reqf[R_DEADLINE, slot] = deadline
        if counted:
            cnt[C_ARRIVED, s] += 1
        st[N_DL] = heap_push(dl_k, dl_v, st[N_DL], deadline, seq, 0, slot)
        make_ready(slot, 0)

    def shed_hopeless():  # engine: _shed
        now = fs[NOW]
        while st[N_LST] > 0 and ls_k[0] < now:
            rid, k, slot = ls_v[0, H_ID], ls_v[0, H_LAYER], ls_v[0, H_SLOT]
            st[N_LST] = heap_pop(ls_k, ls_v, st[N_LST])
            if reqi[R_ID, slot] == rid and reqi[R_STATE, slot] == READY and reqi[R_LAYER, slot] == k:
                drop(slot)

    def fastest_idle(col):  # Simulator.fastest_idle: least solo time, first index on ties
        best = -1
        bt = 0.0
        for p in range(P):
            if ih_n[p] > 0:
                i = ih[p, 0]
                x = cost[C_SOLO, p, col]
                if best < 0 or x < bt or (x == bt and i < best):
                    best = i
                    bt = x
        return best

    def col_of(slot):
        return model_i[M_LAYER_OFF, reqi[R_MODEL, slot]] + reqi[R_LAYER, slot]

    def decide():  # one call of the scheduler's decide + Simulator.apply; returns assignments
        n = 0
        if rule == R_PRIORITY:  # PriorityScheduler.decide: key order, fastest idle sub
            while st[N_IDLE] > 0 and st[N_READY] > 0:
                rid, k, slot = rd_v[0, H_ID], rd_v[0, H_LAYER], rd_v[0, H_SLOT]
                st[N_RDY] = heap_pop(rd_k, rd_v, st[N_RDY])
                if not live_ready(slot, rid, k):
                    continue  # stale entry
                start_layer(slot, fastest_idle(col_of(slot)))
                n += 1
        elif rule == R_AFFINITY:  # AffinityEDF.decide: EDF order, refuse a too slow placement
            ns = 0
            while st[N_IDLE] > 0 and st[N_RDY] > 0:
                key, rid, k, slot = rd_k[0], rd_v[0, H_ID], rd_v[0, H_LAYER], rd_v[0, H_SLOT]
                st[N_RDY] = heap_pop(rd_k, rd_v, st[N_RDY])
                if not live_ready(slot, rid, k):
                    continue
                col = col_of(slot)
                i = fastest_idle(col)
                if cost[C_SOLO, sprof[i], col] <= athr[col]:
                    start_layer(slot, i)
                    n += 1
                else:  # refused: back into the heap after this decision
                    _put(sk_k, sk_v, ns, key, rid, k, slot)
                    ns += 1
            for j in range(ns):
                st[N_RDY] = heap_push(rd_k, rd_v, st[N_RDY], sk_k[j], sk_v[j, H_ID], sk_v[j, H_LAYER],
                                      sk_v[j, H_SLOT])
        elif leafed:  # SLAAware: largest SLO deficit (target - hit rate) first, then EDF; DBP: least
            # distance to an (m,k) failure first, then EDF
            while st[N_IDLE] > 0 and st[N_READY] > 0:
                refresh()  # the SLOs whose head or hit rate changed since
                bg = tree[1]  # the SLO whose head has the least (-deficit, deadline, id)
                slot = group_head(bg)
                gsize[bg] = gh_pop(gh[bg], gsize[bg])
                start_layer(slot, fastest_idle(col_of(slot)))
                n += 1
        elif rule == R_RR:  # RoundRobin: tenants take turns from the pointer, oldest request first
            st[STAMP] += 1
            stamp = st[STAMP]
            while st[N_IDLE] > 0:
                t = -1
                for j in range(G):
                    c = (st[RR_PTR] + j) % G
                    if glive[c] > 0 and used_g[c] != stamp:
                        t = c
                        break
                if t < 0:
                    break
                used_g[t] = stamp
                slot = group_head(t)
                gsize[t] = gh_pop(gh[t], gsize[t])
                st[RR_PTR] = (t + 1) % G
                start_layer(slot, fastest_idle(col_of(slot)))
                n += 1
        elif rule == R_POLICY:  # PolicyScheduler.decide: one assignment on the first idle sub it uses
            slot, i = policy_decide(fs[NOW], st[N_IDLE], st[N_READY], st[N_ARRIVED], st[N_TOTAL], rlist, reqf, reqi,
                                    running, sprof, cost, model_i, psuf, bsuf, blay, cnt, pcfg, pflt, pslo, slo_ten,
                                    ten_share, ten_order, pw, pdims, pskip, tst, tkey, f_lax, f_rem, f_id, f_slot,
                                    heads, count, cand, obs, mask, hbuf)
            if slot == -2:  # the agent chooses (NEED_ACTION); the decision is counted when it assigns
                return -1
            if slot >= 0:
                start_layer(slot, i)
                n += 1
        elif rule == R_PYTHON:  # Scheduler.decide in Python (sim/pydecide.py), then Simulator.apply
            # the decision comes as rows (kind 0: drop, 1: assign; slot; sub) in rd_v, in chunks
            ne, more, wk = _py_hook(0)
            if ne < 0:  # -1: decide returned None (apply does nothing, not even count it); -2: a
                return 0 if ne == -1 else -1  # stepped run pauses here (NEED_DECISION)
            while True:
                for j in range(ne):
                    if rd_v[j, 0] == 0:
                        drop(rd_v[j, 1])
                    else:
                        start_layer(rd_v[j, 1], rd_v[j, 2])
                    n += 1
                if more == 0:
                    break
                ne, more, wk = _py_hook(1)
            fs[WAKE] = wk
        else:  # Prema: token threshold, then shortest remaining (best types) first
            nr = st[N_READY]
            now = fs[NOW]
            top = 0.0
            for j in range(nr):
                slot = rlist[j]
                s = reqi[R_SLO, slot]
                tk = par[P_PRIO, s] * (now - reqf[R_ARRIVAL, slot]) / par[P_ISO, s]
                if j == 0 or tk > top:
                    top = tk
            thr = 9.0 if top >= 9.0 else 3.0 if top >= 3.0 else 1.0 if top >= 1.0 else 0.0
            nc = 0
            for j in range(nr):
                slot = rlist[j]
                s = reqi[R_SLO, slot]
                tk = par[P_PRIO, s] * (now - reqf[R_ARRIVAL, slot]) / par[P_ISO, s]
                ctake[j] = slot
                cmark[j] = tk >= thr
                if cmark[j]:
                    nc += 1
            if nc < st[N_IDLE]:  # too few candidates: every ready request is one
                for j in range(nr):
                    cmark[j] = True
                nc = nr
            while st[N_IDLE] > 0 and nc > 0:  # the candidates in (best remaining, id) order
                bj = -1
                bb = 0.0
                bid = 0
                for j in range(nr):
                    if cmark[j]:
                        slot = ctake[j]
                        b = bsuf[model_i[M_SUF_OFF, reqi[R_MODEL, slot]] + reqi[R_LAYER, slot]]
                        rid = reqi[R_ID, slot]
                        if bj < 0 or b < bb or (b == bb and rid < bid):
                            bj, bb, bid = j, b, rid
                cmark[bj] = False
                nc -= 1
                slot = ctake[bj]
                start_layer(slot, fastest_idle(col_of(slot)))
                n += 1
        st[DECISIONS] += 1
        return n

    if rule == R_PREMA:
        ctake = np.empty(free.shape[0], np.int64)
        cmark = np.zeros(free.shape[0], np.bool_)
    if leafed:  # every SLO's leaf is rebuilt on entry (once per arrival chunk)
        for g in range(G):
            dirty(g)

    def decide_all(n):  # engine: a decision that assigned something is followed by another at this instant
        # n: -1, or the assignments of a decision already made (the agent's, on resuming from
        # NEED_ACTION); True when the agent must choose (the external pick)
        while True:
            if n < 0:
                n = decide()
                if n < 0:
                    return True
            if n == 0 or st[N_IDLE] == 0 or st[N_READY] == 0:
                break
            if shed:
                shed_hopeless()
            if st[N_READY] == 0:
                break
            n = -1
        return False

    def resume_action():  # back from NEED_ACTION: apply the agent's action (pskip[M + X_ACT])
        a = pskip[M + X_ACT]
        i = pskip[M + X_SUB]
        if 0 <= a < pskip[M + X_NC]:
            start_layer(pskip[M + X_CAND + a], i)
            st[DECISIONS] += 1
            return 1
        pskip[i] = 1  # left idle until the next instant
        return -1

    cyc = pol and pcfg[PC_CYCLE] != 0
    while True:  # engine: advance
        if st[RESUME]:  # back from NEED_CYCLE (1), NEED_ACTION (2) or NEED_DECISION (3, the decide is
            # called again: Python hands over the decision made while paused): the decision point it stopped at
            n = resume_action() if st[RESUME] == 2 else -1
            st[RESUME] = 0
            if decide_all(n):
                st[RESUME] = 3 if rule == R_PYTHON else 2
                return NEED_DECISION if rule == R_PYTHON else NEED_ACTION
            continue
        if st[DIRTY]:
            reallocate()
        if st[N_ARRIVED] < st[N_TOTAL]:
            if st[ARR_POS] >= st[ARR_LEN]:
                return NEED_ARRIVALS
            t_arr = arr_t[st[ARR_POS]]
        else:
            t_arr = INF
        t_fin = fh_k[0] if head(fh_k, fh_v, N_FH) else INF
        if st[N_T]:
            head(th_k, th_v, N_TH)
            t_fin = min(t_fin, fs[TV] + (th_k[0] - fs[VCLK]) / fs[LEVEL])
        while st[N_DL] > 0 and reqi[R_ID, dl_v[0, H_SLOT]] != dl_v[0, H_ID]:  # ended: stale
            st[N_DL] = heap_pop(dl_k, dl_v, st[N_DL])
        t_dl = dl_k[0] if st[N_DL] > 0 else INF
        t = min(min(t_arr, t_fin), min(t_dl, fs[WAKE]))
        if t == INF:
            return FINISHED
        # room for everything this instant can add (arrivals at t, a finish per sub, the log)
        n_at = 0
        if t_arr <= t:
            p = st[ARR_POS]
            while p + n_at < st[ARR_LEN] and arr_t[p + n_at] <= t and st[N_ARRIVED] + n_at < st[N_TOTAL]:
                n_at += 1
        # keep heaps at most about twice their live entries (one per live request in the deadline
        # heap, one per ready request in the others): shallow heaps, and memory bounded by them
        if st[N_DL] > 2 * (free.shape[0] - st[N_FREE]) + SLACK:
            st[N_DL] = heap_compact(dl_k, dl_v, st[N_DL], reqi, False)
        if st[N_LST] > 2 * st[N_READY] + SLACK:
            st[N_LST] = heap_compact(ls_k, ls_v, st[N_LST], reqi, True)
        if st[N_RDY] > 2 * st[N_READY] + SLACK:
            st[N_RDY] = heap_compact(rd_k, rd_v, st[N_RDY], reqi, True)
        tr_short = False
        if tracing:
            tr_short = tr_f.shape[1] - st[TR_LEN] < free.shape[0] - st[N_FREE] + n_at + M
        if (tr_short or st[N_FREE] < n_at or _short(dl_k, st[N_DL], n_at) or _short(ls_k, st[N_LST], n_at + M)
                or _short(rd_k, st[N_RDY], n_at + M)
                or (grouped and st[GMAX] + n_at + M + 1 > gh.shape[1])
                or (logging and log_f.shape[1] - st[LOG_LEN] < free.shape[0] - st[N_FREE] + n_at)):
            st[N_AT] = n_at
            return NEED_ROOM
        if t > fs[NOW]:
            fs[NOW] = t
        if t_fin <= t:
            nd = 0
            while st[N_FH] > 0 and fh_k[0] <= t:
                i, v = fh_v[0, H_ID], fh_v[0, H_LAYER]
                st[N_FH] = heap_pop(fh_k, fh_v, st[N_FH])
                if v == sver[i]:
                    due[nd] = i
                    nd += 1
            if st[N_T]:  # throttled layers finish in tag order, at tV + (tag - V) / L
                while head(th_k, th_v, N_TH) and fs[TV] + (th_k[0] - fs[VCLK]) / fs[LEVEL] <= t:
                    due[nd] = th_v[0, H_ID]
                    nd += 1
                    st[N_TH] = heap_pop(th_k, th_v, st[N_TH])
            for j in range(1, nd):  # layers finishing at one instant end in sub order
                i = due[j]
                x = j
                while x > 0 and due[x - 1] > i:
                    due[x] = due[x - 1]
                    x -= 1
                due[x] = i
            if tracing:  # engine: _finish_layer's rows (nothing else adds rows until these layers end)
                st[TR_LEN] = trace_done(tr_f, tr_i, st[TR_LEN], due, nd, start, fs[NOW], running, reqi)
            for j in range(nd):
                finish_layer(due[j])
        if t_dl <= t:
            while st[N_DL] > 0 and dl_k[0] <= t:
                rid, slot = dl_v[0, H_ID], dl_v[0, H_SLOT]
                st[N_DL] = heap_pop(dl_k, dl_v, st[N_DL])
                if reqi[R_ID, slot] == rid:
                    drop(slot)
        for _ in range(n_at):
            arrive()
        if fs[WAKE] <= t:  # engine: wakes due at t are popped (Python keeps them)
            ne, more, wk = _py_hook(2)
            fs[WAKE] = wk
        if st[N_IDLE] > 0 and st[N_READY] > 0:
            if shed and st[N_LST] > 0 and ls_k[0] < t:
                shed_hopeless()
                if st[N_READY] == 0:
                    continue
            if cyc and fs[NOW] >= pflt[PF_NEXT]:  # CycleScheduler.decide: a cycle is due (Python)
                st[RESUME] = 1
                return NEED_CYCLE
            if decide_all(-1):
                st[RESUME] = 3 if rule == R_PYTHON else 2
                return NEED_DECISION if rule == R_PYTHON else NEED_ACTION


# ------------------------------------------------------------------------------ Python side
def _heap(cap: int) -> tuple[np.ndarray, np.ndarray]:
    return np.empty(cap, np.float64), np.empty((cap, 3), np.int64)


class _Arrivals:
    """The run's arrivals as ``(times, slos)`` chunks, in the engine's order.

    The engine pops ``(time, slo)`` tuples from a heap holding each SLO's next arrival; as each
    process is non-decreasing, that is the sorted merge of the streams by ``(time, slo)``. A chunk
    holds every pending arrival before ``H``, the smallest "last drawn time" over the streams:
    everything not yet emitted is at or after ``H``, so chunks never interleave nor split an
    instant. Memory stays a few blocks per stream, whatever the number of requests."""

    def __init__(self, sim, min_chunk: int = 16384):
        self.left = sim.n_total
        self.min_chunk = min_chunk
        self.last = -INF
        if sim._procs is None:  # a fixed list: already in memory, one chunk
            fx = sim._fixed
            self.fixed = (np.array([t for t, _ in fx], np.float64), np.array([s for _, s in fx], np.int64))
            return
        self.fixed = None
        self.procs = sim._procs
        # the first arrival of each process was drawn by Simulator._reset_state into its heap
        heads = {s: t for t, s in sim._arr}
        self.pend = [np.array([heads[s]], np.float64) for s in range(len(self.procs))]

    def next_chunk(self) -> tuple[np.ndarray, np.ndarray]:
        if self.fixed is not None:
            out, self.fixed = self.fixed, (np.empty(0), np.empty(0, np.int64))
            self.left = 0
            return out
        ts, ss, n = [], [], 0
        while n < min(self.min_chunk, self.left):
            for s, p in enumerate(self.pend):
                if len(p) == 0 or p[0] == p[-1]:  # nothing can be emitted before the next block
                    self.pend[s] = np.concatenate([p, self.procs[s].block()])
            h = min(p[-1] for p in self.pend)
            for s, p in enumerate(self.pend):
                c = int(np.searchsorted(p, h, "left"))
                if c:
                    ts.append(p[:c])
                    ss.append(np.full(c, s, np.int64))
                    self.pend[s] = p[c:]
                    n += c
        if not ts:
            return np.empty(0), np.empty(0, np.int64)
        t, s = np.concatenate(ts), np.concatenate(ss)
        o = np.lexsort((s, t))
        take = min(len(o), self.left)
        t, s = t[o[:take]], s[o[:take]]
        self.left -= take
        if take and not t[0] > self.last:  # would break the engine's same-instant ordering
            raise RuntimeError("compiled core: arrival chunks overlap (a bug)")
        if take:
            self.last = t[-1]
        return t, s


class _Kernel:
    """Arrays of one compiled run, and the loop that calls the kernel and grows arrays."""

    def __init__(self, sim, spec: str, params: tuple = (), slots: int = 1024, heap: int = 1024, group: int = 64):
        M = sim.M
        n_models = len(sim.models)
        n_prof = len(sim.prof_keys)
        lay_off = np.concatenate([[0], np.cumsum(sim.n_layers)]).astype(np.int64)
        suf_off = np.concatenate([[0], np.cumsum([n + 1 for n in sim.n_layers])]).astype(np.int64)
        # per profile (type, clock), not per sub: every sub of a profile has the same costs
        self.cost = np.zeros((4, n_prof, int(lay_off[-1])), np.float64)
        for p in range(n_prof):
            for mi in range(n_models):
                pr = sim.prof[p][mi]
                a, b = lay_off[mi], lay_off[mi + 1]
                self.cost[C_C, p, a:b] = pr.C
                self.cost[C_D, p, a:b] = pr.D
                self.cost[C_E, p, a:b] = pr.E
                self.cost[C_SOLO, p, a:b] = pr.solo
        self.sprof = np.array(sim.sub_prof, np.int64)
        self.sver = np.zeros(M, np.int64)
        self.scls = np.zeros(M, np.int64)
        # idle subs of each profile: a sorted row is a valid heap
        self.ih = np.zeros((n_prof, M), np.int64)
        self.ih_n = np.zeros(n_prof, np.int64)
        for i, p in enumerate(sim.sub_prof):
            self.ih[p, self.ih_n[p]] = i
            self.ih_n[p] += 1
        self.bsuf = np.array([v for row in sim.best_suffix for v in row], np.float64)
        self.model_i = np.array([lay_off[:-1], suf_off[:-1], sim.n_layers], np.int64).reshape(3, n_models)
        self.slo_model = np.array(sim.slo_model, np.int64)
        self.slo_dl = np.array(sim.slo_deadline, np.float64)
        S = len(sim.slo_model)
        self.cnt = np.zeros((5, S), np.int64)
        rule, key = RULES[spec]
        # rule parameters, computed with the same float operations as the Python schedulers
        self.par = np.zeros((3, S), np.float64)
        self.athr = np.zeros(int(lay_off[-1]), np.float64)
        self.slo_grp = np.zeros(S, np.int64)
        n_groups = 1
        if rule == R_SLA:
            self.par[P_TARGET] = sim.slo_target
            self.slo_grp = np.arange(S, dtype=np.int64)
            n_groups = S
        elif rule == R_DBP:
            mks = [s.mk for s in sim.workload.slos]
            kmax = max([mk[1] for mk in mks if mk] or [0])
            self.par = np.zeros((P_RING + kmax, S), np.float64)
            for s, mk in enumerate(mks):
                if mk:
                    self.par[P_M, s], self.par[P_K, s] = mk
                    self.par[P_DIST, s] = _mk_distance(self.par[:, s])
                else:
                    self.par[P_DIST, s] = NO_MK
            self.slo_grp = np.arange(S, dtype=np.int64)
            n_groups = S
        elif rule == R_RR:
            self.slo_grp = np.array(sim.slo_tenant, np.int64)
            n_groups = len(sim.workload.tenants)
        elif rule == R_PREMA:
            (prio, iso), = params
            self.par[P_PRIO], self.par[P_ISO] = prio, iso
        elif rule == R_AFFINITY:
            (max_slowdown,) = params
            for mi in range(n_models):
                for k in range(sim.n_layers[mi]):
                    best = min(sim.prof[p][mi].solo[k] for p in range(n_prof))
                    self.athr[lay_off[mi] + k] = max_slowdown * best
        self._policy(sim, params[0] if rule == R_POLICY else None, n_prof, suf_off)
        self.gh = np.zeros((n_groups, group if rule in (R_SLA, R_RR, R_DBP) else 1, 3), np.int64)
        self.gsize = np.zeros(n_groups, np.int64)
        self.glive = np.zeros(n_groups, np.int64)

        self.fs = np.zeros(N_FS, np.float64)
        self.fs[WAKE] = INF
        self.fs[BW] = sim.B
        self.fs[DEC_COST] = sim.cfg.decision_cost_s
        self.st = np.zeros(N_ST, np.int64)
        self.st[N_TOTAL] = sim.n_total
        self.st[WARMUP_N] = sim.warmup_n
        self.st[N_IDLE] = M
        self.st[RULE] = rule
        self.st[KEY] = key
        self.st[SHED] = bool(sim.cfg.shed_hopeless)
        self.st[SHARING] = SHARINGS[sim.cfg.sharing]
        self.st[LOGGING] = bool(sim.cfg.log_requests)
        self.st[TRACING] = bool(sim.cfg.trace_layers)
        self.sub = np.zeros((N_SUBF, M), np.float64)
        self.fs[LEVEL] = INF
        self.running = np.full(M, -1, np.int64)
        self.reqf = np.zeros((2, 0), np.float64)
        self.reqi = np.zeros((N_REQI, 0), np.int64)
        self.free = np.zeros(0, np.int64)
        self.rlist = np.zeros(0, np.int64)
        self._grow_slots(slots)
        self.dl, self.ls, self.rd, self.sk = _heap(heap), _heap(heap), _heap(heap), _heap(heap)
        self.fh, self.fm, self.th, self.tm = (_heap(4 * M + 64) for _ in range(4))
        self.log_f = np.zeros((3, 0), np.float64)
        self.log_i = np.zeros((4, 0), np.int64)
        self.log_chunks: list[tuple[np.ndarray, np.ndarray]] = []
        if sim.cfg.log_requests:
            self.log_f, self.log_i = np.zeros((3, 4 * slots)), np.zeros((4, 4 * slots), np.int64)
        # the per-layer trace: rows until Python moves them out (room test: the kernel's); None
        # when off (the kernel's trace code is then pruned at compile time)
        self.tr_f = self.tr_i = None
        self.trace_chunks: list[tuple[np.ndarray, np.ndarray]] = []
        if sim.cfg.trace_layers:
            self.tr_f, self.tr_i = np.zeros((2, 4 * slots + M)), np.zeros((4, 4 * slots + M), np.int64)
        self.arr_t, self.arr_s = np.empty(0), np.empty(0, np.int64)

    def run(self, arrivals: _Arrivals) -> int:
        """Run to the end (``FINISHED``) or, for a cycle rule without a hook, to the next due
        decision point (``NEED_CYCLE``: call :meth:`set_cycle`, then ``run`` again)."""
        while True:
            code = run_kernel(*self.args())
            code = self.after(code, arrivals)
            if (code == FINISHED or code == NEED_ACTION or code == NEED_DECISION
                    or (code == NEED_CYCLE and self.on_cycle is None)):
                return code

    def args(self) -> tuple:
        """``run_kernel``'s arguments (their positions: the ``A_*`` constants). Arrays are replaced
        when they grow and when an arrival chunk comes: take a fresh tuple after :meth:`after`."""
        return (self.fs, self.st, self.sub, self.sprof, self.sver, self.scls, self.running, self.reqf,
                self.reqi, self.free, *self.dl, *self.ls, *self.rd, *self.sk, *self.fh, *self.fm,
                *self.th, *self.tm, self.ih,
                self.ih_n, self.gh, self.gsize, self.glive, self.slo_grp, self.rlist, self.par,
                self.athr, self.arr_t, self.arr_s, self.cost, self.bsuf, self.model_i,
                self.slo_model, self.slo_dl, self.cnt, self.log_f, self.log_i, *self.pol, self.tr_f, self.tr_i)

    def after(self, code: int, arrivals: _Arrivals) -> int:
        """Python's side of one kernel return: the next arrival chunk, more room or a cycle's pick;
        returns ``code`` (call the kernel again unless it is FINISHED, NEED_ACTION or a NEED_CYCLE
        without a hook)."""
        if code == FINISHED:
            self._flush_log()
        elif code == NEED_ACTION or code == NEED_DECISION:
            pass
        elif code == NEED_CYCLE:
            if self.on_cycle is not None:
                self._cycle()
        elif code == NEED_ARRIVALS:
            self.arr_t, self.arr_s = arrivals.next_chunk()
            self.st[ARR_POS], self.st[ARR_LEN] = 0, len(self.arr_t)
            if not len(self.arr_t):  # cannot happen while requests are due: a bug
                raise RuntimeError("compiled core: arrivals ran out before n_total")
        else:
            self._make_room(int(self.st[N_AT]), self.sub.shape[1])
        return code

    def _policy(self, sim, par, n_prof, suf_off) -> None:
        """The arrays of the policy rule (``par``: the dict of ``PolicyScheduler.kernel_params``,
        values computed by the scheduler's FeatureBuilder); tiny placeholders for other rules."""
        pcfg, pflt = np.zeros(N_PC, np.int64), np.zeros(N_PF, np.float64)
        pflt[PF_SKIP_T] = -1.0  # no instant yet
        pcfg[PC_K], pcfg[PC_MAXT] = 1, 1
        S, M = len(sim.slo_model), sim.M
        self.sim, self.on_cycle = sim, None
        if par is None:
            self.pol = (pcfg, pflt, np.zeros((3, S)), np.zeros(S, np.int64), np.zeros(1), np.zeros(1, np.int64),
                        np.zeros(1, np.float32), np.ones(2, np.int64), np.zeros(M, np.int64),
                        np.zeros((n_prof, 1)), np.zeros(1))
            return
        pcfg[PC_PICK] = PICKS[par["pick"]]
        pcfg[PC_K], pcfg[PC_TA] = int(par["K"]), bool(par["tenant_aware"])
        pcfg[PC_NCAND], pcfg[PC_NGLOB], pcfg[PC_MAXT] = par["n_cand"], par["n_global"], par["max_types"]
        pflt[PF_THETA], pflt[PF_LOAD], pflt[PF_INVB] = par.get("theta", 0.0), par["load"], par["inv_B"]
        pflt[PF_LO], pflt[PF_HI] = par["risky"]
        if par.get("next_cycle") is not None:  # a cycle rule; its hook (if any) is called at each due point
            self.on_cycle = par.get("cycle")
            pcfg[PC_CYCLE], pflt[PF_NEXT] = 1, par["next_cycle"]
        pslo = np.zeros((3, S), np.float64)
        pslo[PS_D], pslo[PS_TAU], pslo[PS_N] = par["D"], par["tau"], par["N"]
        pskip = np.zeros(M, np.int64)
        if par["pick"] == "mlp":
            pcfg[PC_ACT] = ACTS[par["activation"]]
            pw, pdims = pack_mlp(par["layers"])
        elif par["pick"] == "external":  # pw: the observation; pskip: skip flags, the menu, started subs
            pw, pdims = np.zeros(int(par["K"]) * par["n_cand"] + par["n_global"], np.float32), np.ones(2, np.int64)
            pskip = np.zeros(M + X_CAND + int(par["K"]) + M, np.int64)
        elif par.get("protect") is not None:  # drl's protect-set picks read the per-tenant mask here
            pw, pdims = np.array(par["protect"], np.float32), np.ones(2, np.int64)
        else:
            pw, pdims = np.zeros(1, np.float32), np.ones(2, np.int64)
        # per-profile suffixes (remaining solo time on this type from layer k), the best solo time per layer
        psuf = np.zeros((n_prof, int(suf_off[-1])), np.float64)
        for p in range(n_prof):
            for mi, pr in enumerate(sim.prof[p]):
                psuf[p, suf_off[mi]:suf_off[mi] + len(pr.suffix)] = pr.suffix
        blay = np.array([v for row in par["best_layer"] for v in row], np.float64)
        self.pol = (pcfg, pflt, pslo, np.array(par["slo_tenant"], np.int64),
                    np.array(par["tenant_share"], np.float64), np.array(par["tenant_order"], np.int64),
                    pw, pdims, pskip, psuf, blay)

    def _cycle(self) -> None:
        """A cycle is due: the scheduler's hook reads the state view and sets the next pick."""
        pcfg, pflt = self.pol[0], self.pol[1]
        self.set_cycle(**self.on_cycle(StateView(self)))

    def set_cycle(self, pick: str, theta: float, next_cycle: float, protect=None) -> None:
        """The pick of the cycle that starts at the paused decision point, and the next boundary
        (``protect``: drl's per-tenant protect mask, for the protect-set picks)."""
        pcfg, pflt = self.pol[0], self.pol[1]
        pcfg[PC_PICK], pflt[PF_THETA], pflt[PF_NEXT] = PICKS[pick], theta, next_cycle
        if protect is not None:
            self.pol[6][:] = protect

    # ---- growing: the kernel's room test, from the other side
    def _make_room(self, n_at: int, M: int) -> None:
        st = self.st
        if st[N_FREE] < n_at:
            self._grow_slots(max(2 * len(self.free), len(self.free) - int(st[N_FREE]) + n_at))
        self.dl = self._grow_heap(self.dl, int(st[N_DL]), n_at)
        self.ls = self._grow_heap(self.ls, int(st[N_LST]), n_at + M)
        self.rd = self._grow_heap(self.rd, int(st[N_RDY]), n_at + M)
        if len(self.sk[0]) < len(self.rd[0]):  # affinity-edf's refused requests: at most the ready heap
            self.sk = _heap(len(self.rd[0]))
        if st[RULE] in (R_SLA, R_RR, R_DBP):
            st[GMAX] = int(self.gsize.max())
            need = int(st[GMAX]) + n_at + M + 1
            if need > self.gh.shape[1]:
                gh = np.zeros((self.gh.shape[0], 2 * need, 3), np.int64)
                gh[:, :self.gh.shape[1]] = self.gh
                self.gh = gh
        if st[LOGGING]:
            need = len(self.free) - int(st[N_FREE]) + n_at
            if self.log_f.shape[1] - st[LOG_LEN] < need:
                self._flush_log()
                if self.log_f.shape[1] < need:
                    self.log_f, self.log_i = np.zeros((3, 2 * need)), np.zeros((4, 2 * need), np.int64)
        if st[TRACING]:  # a row per layer that ends this instant: a finish per sub, an abort per request
            need = len(self.free) - int(st[N_FREE]) + n_at + M
            if self.tr_f.shape[1] - st[TR_LEN] < need:
                self._flush_trace()
                if self.tr_f.shape[1] < need:
                    self.tr_f, self.tr_i = np.zeros((2, 2 * need)), np.zeros((4, 2 * need), np.int64)

    def _grow_slots(self, cap: int) -> None:
        old = len(self.free)
        self.reqf = np.concatenate([self.reqf, np.zeros((2, cap - old))], axis=1)
        grown = np.zeros((N_REQI, cap - old), np.int64)
        grown[R_ID] = -1
        self.reqi = np.concatenate([self.reqi, grown], axis=1)
        n_free = int(self.st[N_FREE])
        free = np.zeros(cap, np.int64)
        free[:n_free] = self.free[:n_free]
        free[n_free:n_free + cap - old] = np.arange(old, cap)
        self.free = free
        self.st[N_FREE] = n_free + cap - old
        rlist = np.zeros(cap, np.int64)  # prema's ready set: at most one entry per slot
        rlist[:old] = self.rlist[:old]
        self.rlist = rlist

    @staticmethod
    def _grow_heap(heap, n: int, need: int) -> tuple[np.ndarray, np.ndarray]:
        hk, hv = heap
        if not _short(hk, n, need):
            return heap
        nk, nv = _heap(2 * max(len(hk), n + need))
        nk[:n], nv[:n] = hk[:n], hv[:n]
        return nk, nv

    def _flush_log(self) -> None:
        n = int(self.st[LOG_LEN])
        if n:
            self.log_chunks.append((self.log_f[:, :n].copy(), self.log_i[:, :n].copy()))
            self.st[LOG_LEN] = 0

    def _flush_trace(self) -> None:
        n = int(self.st[TR_LEN]) if self.tr_f is not None else 0
        if n:
            self.trace_chunks.append((self.tr_f[:, :n].copy(), self.tr_i[:, :n].copy()))
            self.st[TR_LEN] = 0


class _ReadyView:
    __slots__ = ("id", "slo", "tenant", "mi", "next_layer", "n_layers", "arrival", "deadline")


class StateView:
    """A read-only snapshot of a paused kernel, with the fields of the simulator's state that the
    cycle observation reads (``now``, ``M``, ``running`` (None when idle), ``ready`` (id ->
    request-like objects), the SLO counters, ``n_arrived``, ``n_total``, ``workload``,
    ``best_suffix``, ``slo_tenant``)."""

    def __init__(self, k: "_Kernel"):
        sim, st, cnt = k.sim, k.st, k.cnt
        self.now = float(k.fs[NOW])
        self.M, self.n_total, self.workload = sim.M, sim.n_total, sim.workload
        self.best_suffix, self.slo_tenant, self.prof, self.sub_prof = sim.best_suffix, sim.slo_tenant, sim.prof, sim.sub_prof
        self.n_arrived = int(st[N_ARRIVED])
        self.slo_arrived, self.slo_hits = cnt[C_ARRIVED].tolist(), cnt[C_HITS].tolist()
        self.slo_dropped = cnt[C_DROPPED].tolist()
        self.slo_done_all, self.slo_hits_all = cnt[C_DONE_ALL].tolist(), cnt[C_HITS_ALL].tolist()
        self.running = [None if x < 0 else int(x) for x in k.running.tolist()]
        self.ready = {}
        reqf, reqi = k.reqf, k.reqi
        for slot in k.rlist[:int(st[N_READY])].tolist():
            r = _ReadyView()
            r.id, r.slo, r.mi = int(reqi[R_ID, slot]), int(reqi[R_SLO, slot]), int(reqi[R_MODEL, slot])
            r.next_layer, r.tenant = int(reqi[R_LAYER, slot]), sim.slo_tenant[r.slo]
            r.n_layers = sim.n_layers[r.mi]
            r.arrival, r.deadline = float(reqf[R_ARRIVAL, slot]), float(reqf[R_DEADLINE, slot])
            self.ready[r.id] = r

    @property
    def idle(self) -> list[int]:
        return [i for i, r in enumerate(self.running) if r is None]


def run_compiled(sim, spec: str, params: tuple = (), *, slots: int = 1024, heap: int = 1024,
                 chunk: int = 16384, group: int = 64) -> None:
    """Run ``sim`` (fresh) to the end with the compiled kernel and the in-kernel rule ``spec``
    (a key of ``RULES``; ``params`` the scheduler's ``kernel_params()``); fill its public counters.

    ``slots``, ``heap``, ``group``: initial sizes of the request pool, of each heap and of each
    per-tenant / per-SLO heap (they double as needed); ``chunk``: arrivals per refill. They change
    speed and memory, never results."""
    k = _Kernel(sim, spec, params, slots=slots, heap=heap, group=group)
    k.run(_Arrivals(sim, min_chunk=chunk))
    _fill(sim, k)


class _PausedRun:
    """A compiled run of the policy rule that pauses where Python must choose (the kernel's exit
    ``pause``): :meth:`run` returns True when paused, False at the end. ``sim`` (fresh) gets the
    SLO counters at every pause and everything at the end, as :func:`run_compiled` fills it.
    (Stepping a Python ``decide`` from outside, ``NEED_DECISION``: :class:`fairsched.sim.pydecide.StepKernel`.)"""

    pause = -1  # the exit code of a pause (a subclass's)

    def __init__(self, sim, params: tuple, *, chunk: int = 16384):
        self.sim = sim
        self._k = _Kernel(sim, "policy", params)
        self._check()
        self._arr = _Arrivals(sim, min_chunk=chunk)
        self.finished = False
        sim.core_used = "compiled"

    def _check(self) -> None:
        """Refuse parameters that describe another rule (ValueError); read what the pause shows."""

    def run(self) -> bool:
        if self.finished:
            return False
        paused = self._k.run(self._arr) == self.pause
        if paused:
            _fill_counters(self.sim, self._k)
        else:
            _fill(self.sim, self._k)
            self.finished = True
        return paused


class CycleRun(_PausedRun):
    """A compiled run of a cycle rule that pauses at every decision point where a cycle is due,
    so that a caller (the cycle env) chooses each cycle's pick: :meth:`run` returns True when
    paused (read :meth:`view`, then :meth:`set_cycle`) and False at the end."""

    pause = NEED_CYCLE

    def _check(self) -> None:
        if self._k.on_cycle is not None or not self._k.pol[0][PC_CYCLE]:
            raise ValueError("CycleRun: the parameters must describe a cycle rule without a hook")

    def view(self) -> "StateView":
        return StateView(self._k)

    def set_cycle(self, pick: str, theta: float, next_cycle: float, protect=None) -> None:
        self._k.set_cycle(pick, theta, next_cycle, protect)


class ActionRun(_PausedRun):
    """A compiled run of the policy rule with the ``external`` pick (the per-layer env): it
    pauses at every decision where the policy would be asked (an idle sub with at least one
    candidate), with the float32 observation and the menu ready. :meth:`run` returns True when
    paused (read :attr:`obs`, :meth:`mask`, :attr:`sub`; then :meth:`set_action`), False at the
    end."""

    pause = NEED_ACTION

    def _check(self) -> None:
        pcfg = self._k.pol[0]
        if pcfg[PC_PICK] != P_EXTERNAL or pcfg[PC_CYCLE]:
            raise ValueError("ActionRun: the parameters must describe the policy rule with the external pick")
        self.K = int(pcfg[PC_K])
        self.obs = self._k.pol[6]  # the kernel writes each observation here (a view: copy to keep it)
        self._x = self._k.pol[8][self.sim.M:]  # X_SUB, X_ACT, X_NC, X_CAND...

    @property
    def sub(self) -> int:
        return int(self._x[X_SUB])

    @property
    def n_candidates(self) -> int:
        return int(self._x[X_NC])

    def mask(self) -> np.ndarray:
        m = np.zeros(self.K + 1, np.bool_)
        m[:int(self._x[X_NC])] = True
        m[self.K] = True
        return m

    def set_action(self, a: int) -> None:
        """Candidate ``a`` (< the number of candidates) on the paused sub, or leave it idle (else)."""
        self._x[X_ACT] = a


def _fill_counters(sim, k: _Kernel) -> None:
    fs, st, cnt = k.fs, k.st, k.cnt
    sim.now = float(fs[NOW])
    sim.n_arrived = int(st[N_ARRIVED])
    sim.slo_arrived, sim.slo_hits = cnt[C_ARRIVED].tolist(), cnt[C_HITS].tolist()
    sim.slo_dropped = cnt[C_DROPPED].tolist()
    sim.slo_done_all, sim.slo_hits_all = cnt[C_DONE_ALL].tolist(), cnt[C_HITS_ALL].tolist()
    sim.layer_events = int(st[LAYER_EVENTS])
    sim.decisions = int(st[DECISIONS])


def _fill(sim, k: _Kernel) -> None:
    """The simulator's public counters (and request log) from a finished kernel run."""
    fs, st, cnt = k.fs, k.st, k.cnt
    sim.now = float(fs[NOW])
    sim.n_arrived = int(st[N_ARRIVED])
    sim.slo_arrived, sim.slo_hits = cnt[C_ARRIVED].tolist(), cnt[C_HITS].tolist()
    sim.slo_dropped = cnt[C_DROPPED].tolist()
    sim.slo_done_all, sim.slo_hits_all = cnt[C_DONE_ALL].tolist(), cnt[C_HITS_ALL].tolist()
    sim.busy = k.sub[S_BUSY].tolist()
    sim.energy_dyn = float(fs[ENERGY])
    sim.layer_events = int(st[LAYER_EVENTS])
    sim.decisions = int(st[DECISIONS])
    sim.aborted_layers = int(st[ABORTED])
    sim.peak_bw = float(fs[PEAK_BW])
    sim._arr = []
    sim.finished = True
    if sim.request_log is not None:
        tenant, models, mi = sim.slo_tenant, sim.models, sim.slo_model
        for lf, li in k.log_chunks:
            for rid, s, hit, counted, a, d, e in zip(*li.tolist(), *lf.tolist()):
                sim.request_log.append((rid, tenant[s], s, models[mi[s]], a, d, e, bool(hit), bool(counted)))
    if getattr(sim, "layer_trace", None) is not None:  # the engine's tuples, in its order
        k._flush_trace()
        what = ("done", "aborted")
        for tf, ti in k.trace_chunks:
            for t0, t1, i, rid, lay, ab in zip(*tf.tolist(), *ti.tolist()):
                sim.layer_trace.append((t0, t1, i, rid, lay, what[ab]))
        k.trace_chunks = []
