"""The learned schedulers' decision protocol inside the compiled core, and the one MLP forward pass.

Why: ``drl``, ``relmas`` and their teachers ``triage`` and ``llf-masked`` decide through one
protocol (:class:`~fairsched.rl.policy_scheduler.PolicyScheduler`): for the lowest-index idle
sub-accelerator not yet left idle at this instant, the candidate menu of
:meth:`~fairsched.rl.features.FeatureBuilder.candidates`, then a pick, one assignment, and the
simulator asks again at the same instant. On the Python core that costs ~40 us per decision; here
it is a few microseconds, so these schedulers run on the compiled core (``kernel_spec =
"policy"``), bit for bit like the Python core.

Picks (``PC_PICK``): ``urgent`` (``llf-masked``: candidate 0), ``triage`` (the ``drl`` teacher:
:func:`fairsched.rl.teacher.triage_action` on the float32 values of the observation it reads),
``mlp`` (the whole float32 observation of :meth:`FeatureBuilder.build`, the forward pass
:func:`mlp_logits`, the masked arg-max :func:`masked_argmax`), and the cycle dispatchers' orders
(:mod:`fairsched.rl.cycle`): ``srpt`` (least remaining work here, first on ties) and ``llf-short``
(least laxity among the shorter half), drl's protect-set dispatchers ``protect`` /
``protect-shed`` (:func:`protect_pick`: an explicit per-tenant protect mask, carried in ``pw``,
which no other pick than ``mlp`` reads; ``protect-slo*``: the mask per SLO), and ``sjf`` and
``sjf-feasible`` (:func:`sjf_pick`: relmas's sjf modes of cycle_version 3, over every ready
request, not the candidates), and ``sjf-bytes`` (:func:`sjf_bytes_pick`, cycle_version 4). A cycle scheduler (``PC_CYCLE``) also has the kernel return
at each decision point where its cycle is due (``now >= PF_NEXT``), so Python sets the next pick.
``external`` (the per-layer env, :class:`fairsched.sim.compiled.ActionRun`): the kernel builds the
observation of :meth:`FeatureBuilder.build` and returns (``NEED_ACTION``); the env's agent picks.

Exactness: every float operation of ``features.py`` is done on the same values in the same order
(float64, rounded to float32 where the observation stores it; comparisons of float32 values with
a Python float are done in float32, as numpy 2 does). :func:`mlp_logits` is also what
:meth:`fairsched.rl.policy.NumpyPolicy.logits` calls, so the Python and the compiled paths run the
very same forward pass (numpy's BLAS sums in another order, and its float32 tanh may differ from
libm's in the last bit: two implementations could not agree bit for bit).

These are separate ``@njit`` functions, not closures of :func:`~fairsched.sim.compiled.run_kernel`:
closures are compiled into the kernel's monolith, whose first compile is already long.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# pick codes
P_URGENT, P_TRIAGE, P_MLP, P_SRPT, P_LLF_SHORT = range(5)
PICKS = {"urgent": P_URGENT, "triage": P_TRIAGE, "mlp": P_MLP, "srpt": P_SRPT, "llf-short": P_LLF_SHORT}
# the per-layer env's pick: the kernel builds the observation into ``pw`` and returns (NEED_ACTION);
# ``pskip`` then holds, after the M skip flags, the paused sub, Python's action, the number of
# candidates and their slots (X_SUB, X_ACT, X_NC, X_CAND rows below). A high code: other picks
# are numbered from 0 up.
P_EXTERNAL = 9
PICKS["external"] = P_EXTERNAL
X_SUB, X_ACT, X_NC, X_CAND = 0, 1, 2, 3
# the protect-set dispatchers of drl (cycle_version 3): a per-tenant protect mask, read from ``pw``
P_PROTECT, P_PROTECT_SHED, P_PROTECT_SLO, P_PROTECT_SLO_SHED = 20, 21, 22, 23
PICKS.update({"protect": P_PROTECT, "protect-shed": P_PROTECT_SHED, "protect-slo": P_PROTECT_SLO,
              "protect-slo-shed": P_PROTECT_SLO_SHED})
P_SJF, P_SJF_FEAS = 30, 31  # relmas's sjf modes (cycle_version 3): codes apart from the others' picks
PICKS.update({"sjf": P_SJF, "sjf-feasible": P_SJF_FEAS})
P_SJF_BYTES = 32  # relmas's sjf-bytes mode (cycle_version 4): sjf_bytes_pick
PICKS["sjf-bytes"] = P_SJF_BYTES
# drl's "how" dispatch variants (rl/protect.HowController): the mask, then HOW_N config entries, in ``pw``
P_HOW = 40
PICKS["how"] = P_HOW
HOW_N = 8  # pw[-8:] = order (protected class), order (others), filter, placement, line (1: triage's line), per SLO,
#             admission slack delta, admission mode (A_* below; rl/protect.ADMITS)
A_OFF, A_DEMOTE, A_DEFER, A_DROP = range(4)
O_LLF, O_EDF, O_SRPT, O_SJF, O_NONE = range(5)  # O_NONE (others only): never started
F_ENV, F_FEAS, F_NONE = range(3)  # feasible here and not risky / feasible here / no test
ACTS = {"tanh": 0, "relu": 1}
# pcfg: int configuration
PC_PICK, PC_K, PC_TA, PC_ACT, PC_NCAND, PC_NGLOB, PC_MAXT, PC_CYCLE = range(8)
N_PC = 8
# pflt: float scalars (PF_SKIP_T is state: the instant of the skip set; PF_NEXT: the next cycle)
PF_SKIP_T, PF_THETA, PF_LOAD, PF_INVB, PF_LO, PF_HI, PF_NEXT = range(7)
N_PF = 7
# pslo rows
PS_D, PS_TAU, PS_N = range(3)
# tenant-state cache (tst rows over max(S, T)) and its key (tkey[0]: sum of ended requests)
T_MS, T_QS, T_MT, T_QT, T_CUM = range(5)
# the thermometer levels of the cumulative share (features.CUM_LEVELS, version 3)
CUM_LEVELS = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 1.0])

# layout of the kernel's arrays, repeated here (a number each; compiled.py is the owner)
_R_ARRIVAL, _R_DEADLINE = 0, 1
_R_ID, _R_SLO, _R_MODEL, _R_LAYER = 0, 1, 2, 3
_C_C, _C_D, _C_SOLO = 0, 1, 3
_M_LAYER_OFF, _M_SUF_OFF, _M_N_LAYERS = 0, 1, 2
_C_HITS, _C_DROPPED, _C_DONE_ALL, _C_HITS_ALL = 1, 2, 3, 4


# ------------------------------------------------------------------------------ the MLP
def pack_mlp(layers) -> tuple[np.ndarray, np.ndarray]:
    """``[(W, b), ...]`` (``W`` as out x in) -> ``(w, dims)``: float32 weights, each layer's
    ``W`` transposed (in x out, row-major) then its bias; ``dims`` = (in, hidden..., out)."""
    dims = [int(layers[0][0].shape[1])] + [int(W.shape[0]) for W, _ in layers]
    parts = []
    for W, b in layers:
        parts.append(np.ascontiguousarray(np.asarray(W, np.float32).T).ravel())
        parts.append(np.asarray(b, np.float32).ravel())
    return np.concatenate(parts).astype(np.float32), np.array(dims, np.int64)


def mlp_scratch(dims: np.ndarray) -> np.ndarray:
    """Scratch of :func:`mlp_logits`: two activation rows and a row of input indices."""
    return np.zeros((3, int(max(dims))), np.float32)


@njit(cache=True, error_model="numpy")
def tanh32(v, n):
    """``v[:n] = tanh(v[:n])`` for float32: a rational approximation (the coefficients of
    Eigen's float tanh, degree 13/6, evaluated in float64 on x clamped to [-9, 9]), at most 3 ulp
    from the correctly rounded value (numpy's float32 tanh: 1 ulp). Why not libm or numpy: a
    call per element costs ~15 ns and blocks SIMD; this loop is plain arithmetic (256 tanh per
    forward pass of the shipped policies). ``error_model="numpy"``: under numba's default
    ("python") every float division checks for a zero divisor and may raise, and that branch keeps
    LLVM from vectorising the loop; ``q`` is never zero here (its coefficients are positive), so
    the results are the same, four times faster (tests/sim/test_compiled_policy.py checks them
    against this function's own Python code)."""
    for i in range(n):
        x = min(max(np.float64(v[i]), -9.0), 9.0)
        x2 = x * x
        p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13
        p = x2 * p + -8.60467152213735e-11
        p = x2 * p + 5.12229709037114e-08
        p = x2 * p + 1.48572235717979e-05
        p = x2 * p + 6.37261928875436e-04
        p = x2 * p + 4.89352455891786e-03
        p = x * p
        q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04
        q = x2 * q + 2.26843463243900e-03
        q = x2 * q + 4.89352518554385e-03
        v[i] = np.float32(p / q)


@njit(cache=True)
def mlp_logits(w, dims, act, x, h):
    """``Wout act(... act(W0 x + b0) ...) + bout`` in float32 (``act`` 0: tanh, 1: relu).

    Each output is summed over its inputs in input order, from 0, then its bias added; inputs
    equal to zero are skipped (the invalid candidate blocks, the zero tenant block of
    ``relmas``). The loop over outputs is contiguous in ``w`` (SIMD lanes, no sum reordered) and
    takes four inputs per pass (one load and store of the sums per four products).
    ``h``: scratch (3 x widest layer, :func:`mlp_scratch`); returns a view of it."""
    nl = dims.shape[0] - 1
    a = 0
    for j in range(dims[0]):
        h[0, j] = x[j]
    idx = h[2]  # the nonzero inputs' indices, as float32 (exact below 2**24)
    off = 0
    for layer in range(nl):
        n_in, n_out = dims[layer], dims[layer + 1]
        src, dst = h[a], h[1 - a]
        nz = 0
        for j in range(n_in):
            if src[j] != 0.0:
                idx[nz] = j
                nz += 1
        for i in range(n_out):
            dst[i] = np.float32(0.0)
        t = 0
        while t + 4 <= nz:
            j0, j1, j2, j3 = int(idx[t]), int(idx[t + 1]), int(idx[t + 2]), int(idx[t + 3])
            x0, x1, x2, x3 = src[j0], src[j1], src[j2], src[j3]
            r0 = w[off + j0 * n_out:off + (j0 + 1) * n_out]
            r1 = w[off + j1 * n_out:off + (j1 + 1) * n_out]
            r2 = w[off + j2 * n_out:off + (j2 + 1) * n_out]
            r3 = w[off + j3 * n_out:off + (j3 + 1) * n_out]
            for i in range(n_out):  # the same sums, in the same order, as one product at a time
                dst[i] = (((dst[i] + r0[i] * x0) + r1[i] * x1) + r2[i] * x2) + r3[i] * x3
            t += 4
        while t < nz:
            j0 = int(idx[t])
            x0 = src[j0]
            r0 = w[off + j0 * n_out:off + (j0 + 1) * n_out]
            for i in range(n_out):
                dst[i] += r0[i] * x0
            t += 1
        off += n_in * n_out
        bias = w[off:off + n_out]
        for i in range(n_out):
            dst[i] += bias[i]
        off += n_out
        if layer < nl - 1:
            if act == 0:
                tanh32(dst, n_out)
            else:
                for i in range(n_out):
                    if dst[i] < 0.0:
                        dst[i] = np.float32(0.0)
        a = 1 - a
    return h[a, :dims[nl]]


@njit(cache=True)
def masked_argmax(lg, mask):
    """``lg[~mask] = -inf; lg.argmax()`` (first maximum; a NaN wins, as in numpy)."""
    best = -1
    bv = -np.inf
    for i in range(lg.shape[0]):
        v = lg[i] if mask[i] else -np.inf
        if v != v:
            return i
        if best < 0 or v > bv:
            best = i
            bv = v
    return best


# -------------------------------------------------------------------------- protect sets
@njit(cache=True)
def protect_pick(sub, now, nr, rlist, reqf, reqi, sprof, model_i, psuf, bsuf, pflt, pslo, slo_ten, tst, prot,
                 shed, per_slo):
    """drl's protect-set dispatch (:class:`fairsched.rl.protect.ProtectController`): over *every*
    feasible, non-risky ready request on ``sub`` (not the K-candidate menu: an abandoned tenant's
    head cannot crowd a protected one out), the least ``(class, laxity, id)`` with class 0 for a
    savable tenant whose ``prot`` entry is nonzero, 1 for another savable one, 2 for a lost one
    (``q_t > 1``). ``shed``: only class 0 is ever started (abandoned tenants' requests wait and
    are dropped at their deadline). ``per_slo``: ``prot`` is indexed by SLO, not tenant. Returns
    the slot, or -1 (nothing to start on ``sub``)."""
    p = sprof[sub]
    lo, hi = pflt[PF_LO], pflt[PF_HI]
    best = -1
    bc, bl, bi = 3, 0.0, 0
    for j in range(nr):
        slot = rlist[j]
        k = reqi[_R_LAYER, slot]
        so = model_i[_M_SUF_OFF, reqi[_R_MODEL, slot]] + k
        rem = psuf[p, so]
        dl = reqf[_R_DEADLINE, slot]
        lax = dl - now - rem
        if lax < 0.0:
            continue
        s = reqi[_R_SLO, slot]
        D = pslo[PS_D, s]
        if lax < lo * D and dl - now - bsuf[so] >= hi * D:
            continue  # risky here: wait for a faster type
        t = slo_ten[s]
        c = 2 if tst[T_QT, t] > 1.0 else 0 if prot[s if per_slo else t] != 0.0 else 1
        if shed and c > 0:
            continue
        rid = reqi[_R_ID, slot]
        if c < bc or (c == bc and _lt(lax, rid, bl, bi)):
            best, bc, bl, bi = slot, c, lax, rid
    return best


@njit(cache=True)
def how_pick(sub, now, nr, rlist, reqf, reqi, running, sprof, cost, model_i, psuf, bsuf, pflt, pslo, slo_ten, tst,
             pw, cnt):
    """drl's "how" dispatch variants (:meth:`fairsched.rl.protect.HowController.how_pick`): over the
    ready requests that pass the filter on the sub they would get (``sub``, or with ``sub < 0`` the
    idle sub where the next layer runs fastest), the least ``(class, key, id)``: class 0 = a savable
    tenant that is protected (by triage's line over the cumulative share, or by the mask in
    ``pw[:-HOW_N]``), 2 = another savable tenant, 4 = a lost one; key = laxity there, deadline,
    remaining work there, or remaining work on the best types (the class's order; ``O_NONE``: never
    started). Admission (:meth:`fairsched.rl.protect.HowController.admit_class`): a savable
    tenant's request whose SLO has slack (an ended request and running margin ``m_s >= delta``)
    goes to class 1 (demote: protected only), 3 (defer) or is not started (drop). Returns
    ``(slot, sub)``, or ``(-1, -1)``."""
    n = pw.shape[0] - HOW_N
    order, uorder, filt = int(pw[n]), int(pw[n + 1]), int(pw[n + 2])
    line, per_slo = pw[n + 4] != 0.0, pw[n + 5] != 0.0
    delta, amode = float(pw[n + 6]), int(pw[n + 7])
    theta = np.float32(pflt[PF_THETA])
    lo, hi = pflt[PF_LO], pflt[PF_HI]
    best, bsub = -1, -1
    bc, bk, bi = 5, 0.0, 0
    for j in range(nr):
        slot = rlist[j]
        s = reqi[_R_SLO, slot]
        t = slo_ten[s]
        if tst[T_QT, t] > 1.0:
            c = 4
        elif line:
            c = 0 if np.float32(_clip(tst[T_CUM, t], 0.0, 4.0)) <= theta else 2
        else:
            c = 0 if pw[s if per_slo else t] != 0.0 else 2
        if amode != A_OFF and c < 4 and cnt[_C_DONE_ALL, s] > 0 and tst[T_MS, s] >= delta:
            if amode == A_DROP:
                continue
            if amode == A_DEFER:
                c = 3
            elif c == 0:
                c = 1
        if c > bc:
            continue
        o = order if c <= 1 else uorder
        if o == O_NONE:
            continue
        mi = reqi[_R_MODEL, slot]
        k = reqi[_R_LAYER, slot]
        so = model_i[_M_SUF_OFF, mi] + k
        here = sub if sub >= 0 else _fastest_idle(running, sprof, cost, model_i[_M_LAYER_OFF, mi] + k)
        rem = psuf[sprof[here], so]
        dl = reqf[_R_DEADLINE, slot]
        lax = dl - now - rem
        if filt != F_NONE:
            if lax < 0.0:
                continue
            D = pslo[PS_D, s]
            if filt == F_ENV and lax < lo * D and dl - now - bsuf[so] >= hi * D:
                continue  # risky here: wait for a faster type
        key = lax if o == O_LLF else dl if o == O_EDF else rem if o == O_SRPT else bsuf[so]
        rid = reqi[_R_ID, slot]
        if c < bc or _lt(key, rid, bk, bi):
            best, bsub, bc, bk, bi = slot, here, c, key, rid
    return best, bsub


# -------------------------------------------------------------------------- the protocol
@njit(cache=True)
def _clip(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


@njit(cache=True)
def _lt(l1, i1, l2, i2):
    """``(l1, i1) < (l2, i2)``."""
    return l1 < l2 or (l1 == l2 and i1 < i2)


@njit(cache=True)
def tenant_state(cnt, pslo, slo_ten, ten_share, ten_order, tst, tkey):
    """FeatureBuilder._tenant_state: per-SLO margin ``m_s`` and need ``q_s``, per-tenant ``m_t``,
    ``q_t`` and cumulative share; returns the savable share. Recomputed only when a request ended."""
    S = slo_ten.shape[0]
    T = ten_share.shape[0]
    key = 0
    for s in range(S):
        key += cnt[_C_DONE_ALL, s]
    if key == tkey[0]:
        return tst[T_CUM, T]  # the savable share, cached beside the cumulative shares
    for s in range(S):
        d = cnt[_C_DONE_ALL, s]
        hr = cnt[_C_HITS_ALL, s] / d if d else 1.0
        tau = pslo[PS_TAU, s]
        N = pslo[PS_N, s]
        tst[T_MS, s] = hr - tau
        hits = cnt[_C_HITS, s]
        done = hits + cnt[_C_DROPPED, s]
        left = N - done
        if left >= 1.0:
            tst[T_QS, s] = (tau * N - hits) / left
        else:
            tst[T_QS, s] = 0.0 if hits >= tau * N else 2.0
    seen = np.zeros(T, np.bool_)
    for s in range(S):  # min / max over a tenant's SLOs in SLO order (Python's min keeps the first)
        t = slo_ten[s]
        if not seen[t]:
            seen[t] = True
            tst[T_MT, t] = tst[T_MS, s]
            tst[T_QT, t] = tst[T_QS, s]
        else:
            if tst[T_MS, s] < tst[T_MT, t]:
                tst[T_MT, t] = tst[T_MS, s]
            if tst[T_QS, s] > tst[T_QT, t]:
                tst[T_QT, t] = tst[T_QS, s]
    acc = 0.0
    for j in range(T):
        t = ten_order[j]
        if tst[T_QT, t] <= 1.0:
            acc += ten_share[t]
            tst[T_CUM, t] = acc
        else:
            tst[T_CUM, t] = acc + ten_share[t]
    tst[T_CUM, T] = acc
    tkey[0] = key
    return acc


@njit(cache=True)
def _candidates(sub, now, nr, rlist, reqf, reqi, sprof, model_i, psuf, bsuf, pcfg, pflt, pslo, slo_ten,
                tst, f_lax, f_rem, f_id, f_slot, heads, count, cand):
    """FeatureBuilder.candidates for ``sub``: fills ``cand`` (indices into the feasible arrays,
    laxity order) and ``count`` (feasible requests per SLO); returns the number of candidates."""
    K = pcfg[PC_K]
    p = sprof[sub]
    lo, hi = pflt[PF_LO], pflt[PF_HI]
    S = slo_ten.shape[0]
    for s in range(S):
        count[s] = 0
        heads[s] = -1
    nf = 0
    for j in range(nr):
        slot = rlist[j]
        k = reqi[_R_LAYER, slot]
        so = model_i[_M_SUF_OFF, reqi[_R_MODEL, slot]] + k
        rem = psuf[p, so]
        dl = reqf[_R_DEADLINE, slot]
        lax = dl - now - rem
        if lax >= 0.0:
            D = pslo[PS_D, reqi[_R_SLO, slot]]
            if lax < lo * D and dl - now - bsuf[so] >= hi * D:
                continue  # risky here: wait for a faster type
            f_lax[nf] = lax
            f_rem[nf] = rem
            f_id[nf] = reqi[_R_ID, slot]
            f_slot[nf] = slot
            nf += 1
    if nf == 0:
        return 0
    nc = 0
    if pcfg[PC_TA]:
        nh = 0
        for f in range(nf):  # the least-laxity feasible request of every SLO
            s = reqi[_R_SLO, f_slot[f]]
            count[s] += 1
            h = heads[s]
            if h < 0:
                heads[s] = f
                nh += 1
            elif _lt(f_lax[f], f_id[f], f_lax[h], f_id[h]):
                heads[s] = f
        hl = np.empty(nh, np.int64)
        m = 0
        for s in range(S):
            if heads[s] >= 0:
                hl[m] = heads[s]
                m += 1
        if nh > K:  # K // 2 most urgent heads, then the heads of the tenants that need hits most
            taken = np.zeros(nh, np.bool_)
            nu = K // 2
            for _ in range(nu):
                b = -1
                for x in range(nh):
                    if not taken[x] and (b < 0 or _lt(f_lax[hl[x]], f_id[hl[x]], f_lax[hl[b]], f_id[hl[b]])):
                        b = x
                taken[b] = True
                cand[nc] = hl[b]
                nc += 1
            for _ in range(K - nu):
                b = -1
                bq = 0.0
                for x in range(nh):
                    if taken[x]:
                        continue
                    f = hl[x]
                    q = tst[T_QT, slo_ten[reqi[_R_SLO, f_slot[f]]]]
                    nq = -(q if q <= 1.0 else -1.0)
                    if b < 0 or nq < bq or (nq == bq and _lt(f_lax[f], f_id[f], f_lax[hl[b]], f_id[hl[b]])):
                        b, bq = x, nq
                taken[b] = True
                cand[nc] = hl[b]
                nc += 1
        else:
            for x in range(nh):
                cand[x] = hl[x]
            nc = nh
    else:  # the K least-laxity feasible requests, whatever their SLO
        for f in range(nf):
            count[reqi[_R_SLO, f_slot[f]]] += 1
        taken = np.zeros(nf, np.bool_)
        nk = K if K < nf else nf
        for _ in range(nk):
            b = -1
            for f in range(nf):
                if not taken[f] and (b < 0 or _lt(f_lax[f], f_id[f], f_lax[b], f_id[b])):
                    b = f
            taken[b] = True
            cand[nc] = b
            nc += 1
    for x in range(1, nc):  # laxity order
        c = cand[x]
        y = x
        while y > 0 and _lt(f_lax[c], f_id[c], f_lax[cand[y - 1]], f_id[cand[y - 1]]):
            cand[y] = cand[y - 1]
            y -= 1
        cand[y] = c
    return nc


@njit(cache=True)
def _observation(sub, now, nc, cand, f_lax, f_rem, f_slot, count, reqf, reqi, running, sprof, n_idle, nr,
                 n_arrived, n_total, cost, model_i, bsuf, blay, pcfg, pflt, pslo, slo_ten, ten_share, tst, obs,
                 mask):
    """FeatureBuilder.build's observation and mask (float64 arithmetic, stored as float32)."""
    K = pcfg[PC_K]
    NC = pcfg[PC_NCAND]
    ta = pcfg[PC_TA] != 0
    inv_B = pflt[PF_INVB]
    p = sprof[sub]
    M = running.shape[0]
    T = ten_share.shape[0]
    obs[:] = 0.0
    mask[:] = False
    mask[K] = True
    for j in range(nc):
        f = cand[j]
        slot = f_slot[f]
        lax, rem = f_lax[f], f_rem[f]
        s = reqi[_R_SLO, slot]
        mi = reqi[_R_MODEL, slot]
        k = reqi[_R_LAYER, slot]
        D = pslo[PS_D, s]
        col = model_i[_M_LAYER_OFF, mi] + k
        best = bsuf[model_i[_M_SUF_OFF, mi] + k]
        lt = cost[_C_SOLO, p, col]
        lt_best = blay[col]
        b = j * NC
        obs[b] = 1.0
        obs[b + 1] = _clip(lax / D, -1.0, 4.0)
        obs[b + 2] = _clip((reqf[_R_DEADLINE, slot] - now - best) / D, -1.0, 4.0)
        obs[b + 3] = _clip(rem / D, 0.0, 4.0)
        obs[b + 4] = _clip(np.log(rem / best) if best > 0 else 0.0, 0.0, 3.0)
        obs[b + 5] = _clip(np.log(lt / lt_best) if lt_best > 0 else 0.0, 0.0, 3.0)
        c = cost[_C_C, p, col]
        obs[b + 6] = _clip(cost[_C_D, p, col] / c * inv_B if c > 0 else 0.0, 0.0, 4.0)
        obs[b + 7] = k / model_i[_M_N_LAYERS, mi]
        obs[b + 8] = _clip((now - reqf[_R_ARRIVAL, slot]) / D, 0.0, 4.0)
        obs[b + 9] = np.log1p(float(count[s])) / 3.0
        if ta:
            t = slo_ten[s]
            obs[b + 10] = pslo[PS_TAU, s]
            obs[b + 11] = _clip(tst[T_MS, s], -1.0, 1.0)
            obs[b + 12] = _clip(tst[T_MT, t], -1.0, 1.0)
            obs[b + 13] = _clip(tst[T_QS, s], -1.0, 2.0)
            obs[b + 14] = _clip(tst[T_QT, t], -1.0, 2.0)
            obs[b + 15] = _clip(ten_share[t], 0.0, 4.0)
            obs[b + 16] = _clip(tst[T_CUM, t], 0.0, 4.0)
            obs[b + 17] = 1.0 if tst[T_QT, t] > 1.0 else 0.0
            cu = tst[T_CUM, t]
            for i in range(CUM_LEVELS.shape[0]):
                if cu <= CUM_LEVELS[i]:
                    obs[b + 18 + i] = 1.0
        mask[j] = True
    g = K * NC
    bw = 0.0
    same_type = 0
    same_idle = 0
    for i in range(M):
        rs = running[i]
        if sprof[i] == p:
            same_type += 1
        if rs < 0:
            if sprof[i] == p:
                same_idle += 1
        else:
            mi = reqi[_R_MODEL, rs]
            nl = model_i[_M_N_LAYERS, mi]
            kk = reqi[_R_LAYER, rs]
            if kk > nl - 1:
                kk = nl - 1
            col = model_i[_M_LAYER_OFF, mi] + kk
            c = cost[_C_C, sprof[i], col]
            if c > 0:
                bw += cost[_C_D, sprof[i], col] / c
    obs[g] = _clip(pflt[PF_LOAD], 0.0, 4.0)
    obs[g + 1] = _clip(n_arrived / (n_total if n_total > 1 else 1), 0.0, 1.0)
    obs[g + 2] = n_idle / M
    obs[g + 3] = _clip(nr / M, 0.0, 8.0) / 4.0
    obs[g + 4] = _clip(bw * inv_B, 0.0, 4.0)
    obs[g + 5 + (p % pcfg[PC_MAXT])] = 1.0
    obs[g + 9] = same_idle / (same_type if same_type > 1 else 1)
    if ta:
        up = 0
        lost = 0
        mn = tst[T_MT, 0]
        for t in range(T):
            x = tst[T_MT, t]
            if x >= 0.0:
                up += 1
            if tst[T_QT, t] > 1.0:
                lost += 1
            if x < mn:
                mn = x
        obs[g + 10] = up / T
        obs[g + 11] = lost / T
        obs[g + 12] = _clip(tst[T_CUM, T], 0.0, 4.0)
        obs[g + 13] = _clip(mn, -1.0, 1.0)


@njit(cache=True)
def _fastest_idle(running, sprof, cost, col):
    """Simulator.fastest_idle: the idle sub with the least solo time of layer ``col``, first on ties."""
    best = -1
    bt = 0.0
    for i in range(running.shape[0]):
        if running[i] < 0:
            x = cost[_C_SOLO, sprof[i], col]
            if best < 0 or x < bt:
                best, bt = i, x
    return best


@njit(cache=True)
def sjf_pick(now, nr, rlist, reqf, reqi, running, sprof, cost, model_i, psuf, bsuf, feasible):
    """relmas's ``sjf`` / ``sjf-feasible`` modes (CycleController._sjf_dispatch): the ready request
    with the least best-type remaining work (then the least id) to the idle sub where its next layer
    runs fastest alone (Simulator.fastest_idle); with ``feasible``, a request that cannot finish on
    that sub's type is skipped. Returns ``(slot, sub)``, or ``(-1, -1)`` with no such request."""
    bs = -1
    bsub = -1
    bb = 0.0
    bid = 0
    for j in range(nr):
        slot = rlist[j]
        mi = reqi[_R_MODEL, slot]
        k = reqi[_R_LAYER, slot]
        so = model_i[_M_SUF_OFF, mi] + k
        b = bsuf[so]
        rid = reqi[_R_ID, slot]
        if bs >= 0 and (b > bb or (b == bb and rid > bid)):
            continue
        sub = _fastest_idle(running, sprof, cost, model_i[_M_LAYER_OFF, mi] + k)
        if feasible and reqf[_R_DEADLINE, slot] - now - psuf[sprof[sub], so] < 0.0:
            continue
        bs, bsub, bb, bid = slot, sub, b, rid
    return bs, bsub


@njit(cache=True)
def sjf_bytes_pick(now, nr, rlist, reqf, reqi, running, sprof, cost, model_i, psuf):
    """relmas's ``sjf-bytes`` mode (CycleController._bytes_dispatch): among the ready requests that
    can finish on the idle sub where their next layer runs fastest, the least DRAM traffic still to
    move on that sub's type (summed from the last layer down), then the least id."""
    bs = -1
    bsub = -1
    bb = 0.0
    bid = 0
    for j in range(nr):
        slot = rlist[j]
        mi = reqi[_R_MODEL, slot]
        k = reqi[_R_LAYER, slot]
        off = model_i[_M_LAYER_OFF, mi]
        sub = _fastest_idle(running, sprof, cost, off + k)
        p = sprof[sub]
        if reqf[_R_DEADLINE, slot] - now - psuf[p, model_i[_M_SUF_OFF, mi] + k] < 0.0:
            continue
        b = 0.0
        for la in range(model_i[_M_N_LAYERS, mi] - 1, k - 1, -1):
            b += cost[_C_D, p, off + la]
        rid = reqi[_R_ID, slot]
        if bs >= 0 and (b > bb or (b == bb and rid > bid)):
            continue
        bs, bsub, bb, bid = slot, sub, b, rid
    return bs, bsub


@njit(cache=True)
def policy_decide(now, n_idle, nr, n_arrived, n_total, rlist, reqf, reqi, running, sprof, cost, model_i, psuf,
                  bsuf, blay, cnt, pcfg, pflt, pslo, slo_ten, ten_share, ten_order, pw, pdims, pskip, tst, tkey,
                  f_lax, f_rem, f_id, f_slot, heads, count, cand, obs, mask, hbuf):
    """PolicyScheduler.decide: returns ``(slot, sub)`` of the one assignment, or ``(-1, -1)`` when
    every idle sub-accelerator not yet left idle at this instant is left idle now; with the
    ``external`` pick ``(-2, sub)`` when the agent must choose for ``sub`` (menu in ``pskip``)."""
    M = running.shape[0]
    K = pcfg[PC_K]
    pick = pcfg[PC_PICK]
    ta = pcfg[PC_TA] != 0
    ext = pick == P_EXTERNAL
    if pick == P_SJF or pick == P_SJF_FEAS:  # every ready request, sjf's placement: no candidates
        return sjf_pick(now, nr, rlist, reqf, reqi, running, sprof, cost, model_i, psuf, bsuf, pick == P_SJF_FEAS)
    if pick == P_SJF_BYTES:
        return sjf_bytes_pick(now, nr, rlist, reqf, reqi, running, sprof, cost, model_i, psuf)
    if pick == P_HOW and pw[pw.shape[0] - HOW_N + 3] != 0.0:  # placed where the request runs fastest
        if n_idle == 0:
            return -1, -1
        tenant_state(cnt, pslo, slo_ten, ten_share, ten_order, tst, tkey)
        return how_pick(-1, now, nr, rlist, reqf, reqi, running, sprof, cost, model_i, psuf, bsuf, pflt, pslo,
                        slo_ten, tst, pw, cnt)
    if now != pflt[PF_SKIP_T]:  # a new instant: no sub is left idle yet
        pflt[PF_SKIP_T] = now
        pskip[:M] = 0
    for sub in range(M):
        if running[sub] >= 0 or pskip[sub]:
            continue
        if ta:
            tenant_state(cnt, pslo, slo_ten, ten_share, ten_order, tst, tkey)
        if pick == P_HOW:  # each idle sub in index order, as the protect picks
            slot, _ = how_pick(sub, now, nr, rlist, reqf, reqi, running, sprof, cost, model_i, psuf, bsuf, pflt, pslo,
                               slo_ten, tst, pw, cnt)
            if slot >= 0:
                return slot, sub
            pskip[sub] = 1
            continue
        if P_PROTECT <= pick <= P_PROTECT_SLO_SHED:
            slot = protect_pick(sub, now, nr, rlist, reqf, reqi, sprof, model_i, psuf, bsuf, pflt, pslo, slo_ten, tst,
                                pw, pick == P_PROTECT_SHED or pick == P_PROTECT_SLO_SHED, pick >= P_PROTECT_SLO)
            if slot >= 0:
                return slot, sub
            pskip[sub] = 1
            continue
        nc = _candidates(sub, now, nr, rlist, reqf, reqi, sprof, model_i, psuf, bsuf, pcfg, pflt, pslo, slo_ten,
                         tst, f_lax, f_rem, f_id, f_slot, heads, count, cand)
        if nc:
            a = 0
            if pick == P_TRIAGE:  # rl.teacher.triage_action on the float32 values it reads
                theta = np.float32(pflt[PF_THETA])
                a = -1
                bc = 3
                for j in range(nc):
                    t = slo_ten[reqi[_R_SLO, f_slot[cand[j]]]]
                    lost = tst[T_QT, t] > 1.0
                    cs = np.float32(_clip(tst[T_CUM, t], 0.0, 4.0))
                    c = 0 if (not lost and cs <= theta) else 1 if not lost else 2
                    if c < bc:
                        a, bc = j, c
            elif pick == P_SRPT:  # min(range(n), key=(remaining, j))
                for j in range(1, nc):
                    if f_rem[cand[j]] < f_rem[cand[a]]:
                        a = j
            elif pick == P_LLF_SHORT and nc > 1:  # the first j with remaining <= the lower median
                rs = np.empty(nc, np.float64)
                for j in range(nc):
                    rs[j] = f_rem[cand[j]]
                cut = np.sort(rs)[(nc - 1) // 2]
                for j in range(nc):
                    if rs[j] <= cut:
                        a = j
                        break
            elif pick == P_MLP:
                _observation(sub, now, nc, cand, f_lax, f_rem, f_slot, count, reqf, reqi, running, sprof, n_idle, nr,
                             n_arrived, n_total, cost, model_i, bsuf, blay, pcfg, pflt, pslo, slo_ten, ten_share,
                             tst, obs, mask)
                a = masked_argmax(mlp_logits(pw, pdims, pcfg[PC_ACT], obs, hbuf), mask)
            elif ext:  # the env's agent picks: observation in obs (the kernel passes pw), menu in pskip
                _observation(sub, now, nc, cand, f_lax, f_rem, f_slot, count, reqf, reqi, running, sprof, n_idle, nr,
                             n_arrived, n_total, cost, model_i, bsuf, blay, pcfg, pflt, pslo, slo_ten, ten_share,
                             tst, obs, mask)
                pskip[M + X_SUB] = sub
                pskip[M + X_NC] = nc
                for j in range(nc):
                    pskip[M + X_CAND + j] = f_slot[cand[j]]
                return -2, sub
            if a < K:
                return f_slot[cand[a]], sub
        pskip[sub] = 1
    return -1, -1
