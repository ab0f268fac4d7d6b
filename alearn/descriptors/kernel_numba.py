"""Fused Chebyshev descriptor and force/virial kernels, compiled by numba (CPU, one thread).

Passes over the pairs of a :class:`~alearn.descriptors.chebyshev.Graph` (centres sorted, as
``collate`` builds them), with the angular triplets formed on the fly per centre:

1. :func:`pair_geometry` — pair vectors and distances;
2. :func:`descriptor` — the descriptor G (N, F), radial and angular sums in one loop;
3. :func:`forces` — the K members' cotangents dE_k/dG (N, F, K) contracted with the basis
   derivatives (recomputed, never stored) into forces (N, 3, K) and the virial
   Σ_p D_p ⊗ dE/dD_p (B, 3, 3, K), in one loop over pairs and triplets;
4. :func:`cotangent_adjoint` — its transpose (forces and virial are linear in dE/dG), so that
   direct force training differentiates through the kernel without a second derivative of the
   descriptor.

Per centre, geometry and Chebyshev terms are computed once for all members, in loops that run
over its pairs (triplets) and vectorise; the members' coefficients enter through short
per-member loops, so a committee costs little more than one network.

The torch modules ``chebyshev`` / ``chebyshev_vjp`` are the reference; this module computes the
same sums (SCIENCE.md §1) with the Chebyshev recursion and f_c′ = −(π/2Rc) sin(πr/Rc).  Pairs
beyond the cutoffs (Verlet-skin lists carry them) are skipped; triplets are all pairs a < b of
one centre's pairs inside the angular cutoff, the same set as ``topology`` + ``compact``.
All arrays are float64 (the caller converts); compiled code is cached on disk
(``cache=True``), so only the first start compiles.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_OPTIONS = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False,
                fastmath={"reassoc", "contract", "nsz"})


@njit(**_OPTIONS)
def centre_starts(i, n_atoms):
    """starts[c]..starts[c+1] are the pairs of centre c; −1 in starts[0] if i is not sorted."""
    starts = np.searchsorted(i, np.arange(n_atoms + 1))
    for p in range(1, i.shape[0]):
        if i[p] < i[p - 1]:
            starts[0] = -1
            break
    return starts


@njit(**_OPTIONS)
def pair_geometry(pos, cells, i, j, shifts, pair_batch, vec, r):
    """D_p = R_j − R_i + S_p · cell and |D_p| for every pair, written into ``vec`` and ``r``."""
    for p in range(i.shape[0]):
        b = pair_batch[p]
        s0, s1, s2 = shifts[p, 0], shifts[p, 1], shifts[p, 2]
        acc = 0.0
        for d in range(3):
            v = (pos[j[p], d] - pos[i[p], d]
                 + s0 * cells[b, 0, d] + s1 * cells[b, 1, d] + s2 * cells[b, 2, d])
            vec[p, d] = v
            acc += v * v
        r[p] = math.sqrt(acc)


@njit(**_OPTIONS)
def _cutoff(rr, rc):
    """f_c(r) and f_c′(r) for 0 ≤ r < rc (sin ≥ 0 there, from cos)."""
    c = math.cos(math.pi * rr / rc)
    return 0.5 * (c + 1.0), -0.5 * (math.pi / rc) * math.sqrt(max(0.0, 1.0 - c * c))


@njit(**_OPTIONS)
def _width(starts):
    """The largest number of pairs of one centre (at least 2)."""
    n_atoms = starts.shape[0] - 1
    return max(int(np.max(starts[1:] - starts[:-1])) if n_atoms else 0, 2)


@njit(**_OPTIONS)
def _max_inside(starts, r, cutoff):
    """The largest number of one centre's pairs closer than ``cutoff`` (at least 2)."""
    best = 2
    for c in range(starts.shape[0] - 1):
        n = 0
        for p in range(starts[c], starts[c + 1]):
            if r[p] < cutoff:
                n += 1
        best = max(best, n)
    return best


@njit(**_OPTIONS)
def _triangle(n):
    """(u, v) of all u < v < n, ordered by v then u: the triplets of m pairs are the first
    m(m − 1)/2 entries for every m ≤ n."""
    size = n * (n - 1) // 2
    tu, tv = np.empty(size, np.int64), np.empty(size, np.int64)
    t = 0
    for v in range(1, n):
        for u in range(v):
            tu[t], tv[t] = u, v
            t += 1
    return tu, tv


@njit(**_OPTIONS)
def _radial_pairs(starts, c, r, j, species, rc, x, fc, dfc, kind, offset):
    """Pairs of centre c inside the radial cutoff: x = 2r/Rc − 1, f_c, f_c′, neighbour
    species and offset in the centre's pair range into the buffers; returns their count."""
    n = 0
    for p in range(starts[c], starts[c + 1]):
        rr = r[p]
        if rr < rc:
            x[n] = 2.0 * rr / rc - 1.0
            fc[n], dfc[n] = _cutoff(rr, rc)
            kind[n] = species[j[p]]
            offset[n] = p - starts[c]
            n += 1
    return n


@njit(**_OPTIONS)
def _angular_pairs(starts, c, vec, r, j, species, rca, unit, inv, fa, dfa, kind, offset):
    """Pairs of centre c inside the angular cutoff: unit vectors (3, n), 1/r, f_c, f_c′,
    neighbour species and offset in the centre's pair range; returns their count."""
    n = 0
    for p in range(starts[c], starts[c + 1]):
        rr = r[p]
        if rr < rca:
            inv[n] = 1.0 / rr
            for e in range(3):
                unit[e, n] = vec[p, e] / rr
            fa[n], dfa[n] = _cutoff(rr, rca)
            kind[n] = species[j[p]]
            offset[n] = p - starts[c]
            n += 1
    return n


@njit(**_OPTIONS)
def _triplets(unit, fa, kind, spins, tu, tv, m, cos, w, sab):
    """Per triplet t = (u, v) of one centre: cos θ (clamped), f_c(r_u) f_c(r_v) and the
    spin product s_u s_v."""
    for t in range(m):
        u, v = tu[t], tv[t]
        value = unit[0, u] * unit[0, v] + unit[1, u] * unit[1, v] + unit[2, u] * unit[2, v]
        cos[t] = min(1.0, max(-1.0, value))
        w[t] = fa[u] * fa[v]
        sab[t] = spins[kind[u]] * spins[kind[v]]


@njit(**_OPTIONS)
def descriptor(vec, r, starts, j, species, spins, rc, rca, nr, na, weighted, out):
    """Descriptor of every atom into ``out`` (N, F), zeroed by the caller.

    ``nr`` / ``na``: number of radial / angular terms (order + 1; na = 0 without angular set);
    ``weighted``: append the type-spin-weighted copy (more than one element)."""
    n_atoms = starts.shape[0] - 1
    block = nr + na
    width = _width(starts)
    n_ang = _max_inside(starts, r, rca) if na else 2
    tu, tv = _triangle(n_ang)
    size = max(width, tu.shape[0])
    x, fc, dfc, sw = np.empty(size), np.empty(size), np.empty(size), np.empty(size)
    kind, offset = np.empty(width, np.int64), np.empty(width, np.int64)
    unit, inv = np.empty((3, width)), np.empty(width)
    cheb = np.empty((3, size))
    for c in range(n_atoms):
        n = _radial_pairs(starts, c, r, j, species, rc, x, fc, dfc, kind, offset)
        for q in range(n):
            sw[q] = spins[kind[q]] * fc[q]
        _sums(x, fc, sw, n, nr, weighted, out, c, 0, block, cheb)
        if na == 0:
            continue
        n = _angular_pairs(starts, c, vec, r, j, species, rca, unit, inv, fc, dfc, kind, offset)
        m = n * (n - 1) // 2
        _triplets(unit, fc, kind, spins, tu, tv, m, x, dfc, sw)
        for t in range(m):
            sw[t] *= dfc[t]
        _sums(x, dfc, sw, m, na, weighted, out, c, nr, block, cheb)


@njit(**_OPTIONS)
def _sums(x, w, sw, n, order, weighted, out, c, first, block, cheb):
    """out[c, first + a] += Σ_q T_a(x_q) w_q (and the weighted copy with sw) for a < order."""
    for a in range(order):
        plain = 0.0
        spun = 0.0
        if a == 0:
            for q in range(n):
                cheb[0, q] = 1.0
                plain += w[q]
                spun += sw[q]
        elif a == 1:
            for q in range(n):
                cheb[1, q] = x[q]
                plain += x[q] * w[q]
                spun += x[q] * sw[q]
        else:
            for q in range(n):
                t = 2.0 * x[q] * cheb[1, q] - cheb[0, q]
                cheb[0, q] = cheb[1, q]
                cheb[1, q] = t
                plain += t * w[q]
                spun += t * sw[q]
        out[c, first + a] += plain
        if weighted:
            out[c, block + first + a] += spun


@njit(**_OPTIONS)
def _basis(x, n, order, values, slopes):
    """values[a, q] = T_a(x_q) and slopes[a, q] = T_a′(x_q) for a < order, q < n."""
    for q in range(n):
        values[0, q] = 1.0
        slopes[0, q] = 0.0
    if order > 1:
        for q in range(n):
            values[1, q] = x[q]
            slopes[1, q] = 1.0
    for a in range(2, order):
        for q in range(n):
            values[a, q] = 2.0 * x[q] * values[a - 1, q] - values[a - 2, q]
            slopes[a, q] = 2.0 * values[a - 1, q] + 2.0 * x[q] * slopes[a - 1, q] - slopes[a - 2, q]


@njit(**_OPTIONS)
def _buffers(starts, r, rca, nr, na, n_k):
    """Work arrays for :func:`forces` and :func:`cotangent_adjoint`, sized for the largest
    centre: radial (7), angular (13), per-member (3), and the triplet tables."""
    width = _width(starts)
    tu, tv = _triangle(_max_inside(starts, r, rca) if na else 2)
    size = max(width, tu.shape[0])
    order = max(nr, na, 2)
    radial = (np.empty(width), np.empty(width), np.empty(width), np.empty(width, np.int64),
              np.empty(width, np.int64), np.empty((3, order, width)))
    angular = (np.empty((3, width)), np.empty(width), np.empty(width), np.empty(width),
               np.empty(width, np.int64), np.empty(width, np.int64), np.empty(size),
               np.empty(size), np.empty(size), np.empty((3, order, size)), np.empty((12, size)))
    members = (np.empty((2, n_k, size)), np.empty((size, 2, n_k)), np.empty((width, 3, n_k)))
    return tu, tv, radial, angular, members


@njit(**_OPTIONS)
def _radial_setup(starts, c, r, j, species, spins, rc, nr, radial):
    """Radial pairs of centre c and the r-derivatives of their basis terms: basis[1] (slopes)
    = d(T_a f_c)/dr and basis[2] = spin · slopes; returns the count."""
    x, fc, dfc, kind, offset, basis = radial
    n = _radial_pairs(starts, c, r, j, species, rc, x, fc, dfc, kind, offset)
    _basis(x, n, nr, basis[0], basis[1])
    for a in range(nr):
        for q in range(n):
            basis[1, a, q] = basis[1, a, q] * (2.0 / rc) * fc[q] + basis[0, a, q] * dfc[q]
            basis[2, a, q] = basis[1, a, q] * spins[kind[q]]
    return n


@njit(**_OPTIONS)
def _angular_setup(starts, c, vec, r, j, species, spins, rca, na, tu, tv, angular):
    """Angular pairs and triplets of centre c: cos θ, weights, spin products, T_a (basis[0]),
    T_a′ (basis[1]) and the triplet geometry; returns (pairs, triplets)."""
    unit, inv, fa, dfa, kind, offset, cos, w, sab, basis, geo = angular
    n = _angular_pairs(starts, c, vec, r, j, species, rca, unit, inv, fa, dfa, kind, offset)
    m = n * (n - 1) // 2
    _triplets(unit, fa, kind, spins, tu, tv, m, cos, w, sab)
    _triplet_geometry(unit, inv, fa, dfa, tu, tv, cos, w, m, geo)
    _basis(cos, m, na, basis[0], basis[1])
    return n, m


@njit(**_OPTIONS)
def forces(vec, r, starts, j, pair_batch, species, spins, rc, rca, nr, na, weighted, cot,
           out, virial):
    """Forces (N, 3, K) and, when ``virial`` has rows, the virial Σ_p D_p ⊗ dE/dD_p
    (B, 3, 3, K) from dE_k/dG (N, F, K); outputs zeroed by the caller."""
    n_k = cot.shape[2]
    tu, tv, radial, angular, members = _buffers(starts, r, rca, nr, na, n_k)
    acc, transposed, local = members
    block = nr + na
    cutoff = max(rc, rca if na else 0.0)
    for c in range(starts.shape[0] - 1):
        local[: starts[c + 1] - starts[c]] = 0.0
        n = _radial_setup(starts, c, r, j, species, spins, rc, nr, radial)
        basis, offset = radial[5], radial[4]
        acc[0, :, :n] = 0.0
        for a in range(nr):
            _accumulate(acc[0], basis[1, a], basis[2, a], cot, c, a, block + a, n, weighted)
        for q in range(n):
            p = starts[c] + offset[q]
            for e in range(3):
                u = vec[p, e] / r[p]
                for k in range(n_k):
                    local[offset[q], e, k] = acc[0, k, q] * u
        if na:
            _, m = _angular_setup(starts, c, vec, r, j, species, spins, rca, na, tu, tv, angular)
            sab, basis = angular[8], angular[9]
            acc[:, :, :m] = 0.0
            for a in range(na):
                for t in range(m):
                    basis[2, 0, t] = basis[1, a, t] * sab[t]
                    basis[2, 1, t] = basis[0, a, t] * sab[t]
                _accumulate(acc[0], basis[1, a], basis[2, 0], cot, c, nr + a, block + nr + a, m,
                            weighted)
                _accumulate(acc[1], basis[0, a], basis[2, 1], cot, c, nr + a, block + nr + a, m,
                            weighted)
            _triplet_gradients(acc, angular[10], tu, tv, angular[5], m, n_k, transposed, local)
        _scatter(vec, r, starts, c, j, pair_batch, cutoff, local, out, virial)


@njit(**_OPTIONS)
def cotangent_adjoint(vec, r, starts, j, pair_batch, species, spins, rc, rca, nr, na, weighted,
                      out_bar, virial_bar, cot_bar):
    """The transpose of :func:`forces`: dL/d(dE_k/dG) (N, F, K) into ``cot_bar`` (zeroed by
    the caller) from dL/dforces (N, 3, K) and dL/dvirial (B, 3, 3, K; may have no rows)."""
    n_k = out_bar.shape[2]
    tu, tv, radial, angular, members = _buffers(starts, r, rca, nr, na, n_k)
    acc, transposed, local = members
    block = nr + na
    cutoff = max(rc, rca if na else 0.0)
    for c in range(starts.shape[0] - 1):
        _gather(vec, r, starts, c, j, pair_batch, cutoff, out_bar, virial_bar, local)
        n = _radial_setup(starts, c, r, j, species, spins, rc, nr, radial)
        basis, offset = radial[5], radial[4]
        for q in range(n):
            p = starts[c] + offset[q]
            for k in range(n_k):
                acc[0, k, q] = 0.0
            for e in range(3):
                u = vec[p, e] / r[p]
                for k in range(n_k):
                    acc[0, k, q] += local[offset[q], e, k] * u
        for a in range(nr):
            _reduce(acc[0], basis[1, a], basis[2, a], cot_bar, c, a, block + a, n, weighted)
        if na:
            _, m = _angular_setup(starts, c, vec, r, j, species, spins, rca, na, tu, tv, angular)
            sab, basis = angular[8], angular[9]
            _triplet_adjoint(local, angular[10], tu, tv, angular[5], m, n_k, transposed, acc)
            for a in range(na):
                for t in range(m):
                    basis[2, 0, t] = basis[1, a, t] * sab[t]
                    basis[2, 1, t] = basis[0, a, t] * sab[t]
                _reduce(acc[0], basis[1, a], basis[2, 0], cot_bar, c, nr + a, block + nr + a, m,
                        weighted)
                _reduce(acc[1], basis[0, a], basis[2, 1], cot_bar, c, nr + a, block + nr + a, m,
                        weighted)


@njit(**_OPTIONS)
def _reduce(acc, basis, spun, cot_bar, c, plain, weighted_row, n, weighted):
    """cot_bar[c, plain, k] += Σ_q acc[k, q] basis[q] (and the weighted row with spun)."""
    for k in range(cot_bar.shape[2]):
        total = 0.0
        spin_total = 0.0
        for q in range(n):
            total += acc[k, q] * basis[q]
            spin_total += acc[k, q] * spun[q]
        cot_bar[c, plain, k] += total
        if weighted:
            cot_bar[c, weighted_row, k] += spin_total


@njit(**_OPTIONS)
def _gather(vec, r, starts, c, j, pair_batch, cutoff, out_bar, virial_bar, local):
    """dL/d(dE/dD_p) (pairs, 3, K) of the pairs of centre c: the transpose of :func:`_scatter`."""
    n_k = local.shape[2]
    with_virial = virial_bar.shape[0] > 0
    for p in range(starts[c], starts[c + 1]):
        q, nb = p - starts[c], j[p]
        if r[p] >= cutoff:
            continue
        for e in range(3):
            for k in range(n_k):
                local[q, e, k] = out_bar[c, e, k] - out_bar[nb, e, k]
        if with_virial:
            b = pair_batch[p]
            for x in range(3):
                for y in range(3):
                    for k in range(n_k):
                        local[q, y, k] += vec[p, x] * virial_bar[b, x, y, k]


@njit(**_OPTIONS)
def _triplet_adjoint(local, geo, tu, tv, offset, m, n_k, transposed, acc):
    """The transpose of :func:`_triplet_gradients`: acc[0] = dL/dg_cos, acc[1] = dL/dg_T per
    member and triplet, from dL/d(dE/dD) of the pairs (local)."""
    for t in range(m):
        ou, ov = offset[tu[t]], offset[tv[t]]
        for k in range(n_k):
            transposed[t, 0, k] = 0.0
            transposed[t, 1, k] = 0.0
        for e in range(3):
            a0, a1, b0, b1 = geo[e, t], geo[3 + e, t], geo[6 + e, t], geo[9 + e, t]
            for k in range(n_k):
                transposed[t, 0, k] += local[ou, e, k] * a0 + local[ov, e, k] * b0
                transposed[t, 1, k] += local[ou, e, k] * a1 + local[ov, e, k] * b1
    for k in range(n_k):
        for t in range(m):
            acc[0, k, t] = transposed[t, 0, k]
            acc[1, k, t] = transposed[t, 1, k]


@njit(**_OPTIONS)
def _accumulate(acc, basis, spun, cot, c, plain, weighted_row, n, weighted):
    """acc[k, q] += cot[c, plain, k] basis[q] (+ cot[c, weighted_row, k] spun[q])."""
    for k in range(cot.shape[2]):
        cp = cot[c, plain, k]
        if weighted:
            cs = cot[c, weighted_row, k]
            for q in range(n):
                acc[k, q] += cp * basis[q] + cs * spun[q]
        else:
            for q in range(n):
                acc[k, q] += cp * basis[q]


@njit(**_OPTIONS)
def _triplet_geometry(unit, inv, fa, dfa, tu, tv, cos, w, m, geo):
    """Coefficients of dE/dD_u = g_cos·geo[0:3] + g_T·geo[3:6] and dE/dD_v = g_cos·geo[6:9] +
    g_T·geo[9:12] per triplet (u, v), with g_cos = Σ_a c_a T_a′(cos), g_T = Σ_a c_a T_a(cos):
    the derivative of T_a(cos θ) f_c(r_u) f_c(r_v) by D_u is
    T_a′ f_u f_v (û_v − cos û_u)/r_u + T_a f_u′ f_v û_u."""
    for t in range(m):
        u, v = tu[t], tv[t]
        for e in range(3):
            geo[e, t] = w[t] * (unit[e, v] - cos[t] * unit[e, u]) * inv[u]
            geo[3 + e, t] = dfa[u] * fa[v] * unit[e, u]
            geo[6 + e, t] = w[t] * (unit[e, u] - cos[t] * unit[e, v]) * inv[v]
            geo[9 + e, t] = fa[u] * dfa[v] * unit[e, v]


@njit(**_OPTIONS)
def _triplet_gradients(acc, geo, tu, tv, offset, m, n_k, members, local):
    """dE_k/dD of the pairs of every triplet of one centre, added to local (pairs, 3, K):
    g_cos = acc[0], g_T = acc[1] per member, first transposed to ``members`` (m, 2, K)."""
    for k in range(n_k):
        for t in range(m):
            members[t, 0, k] = acc[0, k, t]
            members[t, 1, k] = acc[1, k, t]
    for t in range(m):
        ou, ov = offset[tu[t]], offset[tv[t]]
        for e in range(3):
            a0, a1, b0, b1 = geo[e, t], geo[3 + e, t], geo[6 + e, t], geo[9 + e, t]
            for k in range(n_k):
                local[ou, e, k] += members[t, 0, k] * a0 + members[t, 1, k] * a1
            for k in range(n_k):
                local[ov, e, k] += members[t, 0, k] * b0 + members[t, 1, k] * b1


@njit(**_OPTIONS)
def _scatter(vec, r, starts, c, j, pair_batch, cutoff, local, out, virial):
    """Forces F_c += dE/dD_p, F_j −= dE/dD_p and the virial Σ_p D_p ⊗ dE/dD_p of the pairs of
    centre c (closer than ``cutoff``)."""
    n_k = local.shape[2]
    with_virial = virial.shape[0] > 0
    for p in range(starts[c], starts[c + 1]):
        if r[p] >= cutoff:
            continue
        q, nb = p - starts[c], j[p]
        for e in range(3):
            for k in range(n_k):
                out[c, e, k] += local[q, e, k]
                out[nb, e, k] -= local[q, e, k]
        if with_virial:
            b = pair_batch[p]
            for x in range(3):
                for y in range(3):
                    for k in range(n_k):
                        virial[b, x, y, k] += vec[p, x] * local[q, y, k]
