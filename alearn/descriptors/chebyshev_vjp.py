"""Chebyshev descriptor with analytic derivatives, for fast inference of a K-member committee.

Autograd would need one backward pass through the descriptor per member.  Here the per-pair
and per-triplet basis values *and* their derivatives are computed once (forward mode, no
autograd graph), and the K members' cotangents dE_k/dG (K, N, F) are contracted with them in
one batched pass: forces (K, N, 3) and the virial (K, B, 3, 3) for all members together.
Tested against the autograd path (``features`` + ``torch.autograd``) to machine precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from alearn.descriptors.chebyshev import ChebyshevSpec, Graph, pair_vectors, type_spins


def chebyshev_with_derivative(x: torch.Tensor, order: int) -> tuple[torch.Tensor, torch.Tensor]:
    """T_0..T_order(x) and dT/dx, each (len(x), order + 1).

    float64: the three-term recursion (exact to rounding).  float32 (fast MD): the closed form
    T_n = cos(nθ), T_n′ = n sin(nθ)/sin θ with x = cos θ — a few whole-matrix kernels instead
    of ~5·order small ones; agrees with the recursion to ~1e-5 relative in float32."""
    if x.dtype == torch.float32 and order >= 2:
        return _chebyshev_trig(x, order)
    t = [torch.ones_like(x)]
    d = [torch.zeros_like(x)]
    if order >= 1:
        t.append(x)
        d.append(torch.ones_like(x))
    for _ in range(2, order + 1):
        t.append(2.0 * x * t[-1] - t[-2])
        d.append(2.0 * t[-2] + 2.0 * x * d[-1] - d[-2])
    return torch.stack(t, dim=1), torch.stack(d, dim=1)


def _chebyshev_trig(x: torch.Tensor, order: int) -> tuple[torch.Tensor, torch.Tensor]:
    theta = torch.acos(x.clamp(-1.0, 1.0))
    n = torch.arange(order + 1, dtype=x.dtype, device=x.device)
    n_theta = theta[:, None] * n
    sin_theta = torch.sin(theta)
    # sin θ → 0 only at x = ±1 (r → 0 or Rc, collinear triplets): use the limit n²·(±1)^(n+1)
    small = sin_theta.abs() < 1e-6
    ratio = torch.sin(n_theta) / torch.where(small, torch.ones_like(sin_theta), sin_theta)[:, None]
    limit = n * n * torch.where(x[:, None] > 0, torch.ones_like(n), (-1.0) ** (n + 1))
    derivative = torch.where(small[:, None], limit, n * ratio)
    return torch.cos(n_theta), derivative


def cutoff_with_derivative(r: torch.Tensor, rc: float) -> tuple[torch.Tensor, torch.Tensor]:
    inside = (r < rc).to(r.dtype)
    arg = r * (math.pi / rc)
    return 0.5 * (torch.cos(arg) + 1.0) * inside, -0.5 * (math.pi / rc) * torch.sin(arg) * inside


@dataclass(frozen=True)
class Expansion:
    """Per-pair and per-triplet basis values and derivatives of one geometry."""

    vec: torch.Tensor          # (P, 3)
    r: torch.Tensor            # (P,)
    rad: torch.Tensor          # (P, nr+1) T(x) fc
    drad: torch.Tensor         # (P, nr+1) d/dr
    spin_j: torch.Tensor | None
    ang: torch.Tensor | None   # (T, na+1) T(cos) fa fb
    dang: torch.Tensor | None  # (T, na+1, 3) d/dcos, d/dr_a, d/dr_b
    cos: torch.Tensor | None   # (T,)
    spin_jk: torch.Tensor | None
    geo: torch.Tensor | None   # (T, 8): unit_a (3), unit_b (3), 1/r_a, 1/r_b
    trip_centre: torch.Tensor | None  # (T,) centre atom of each triplet
    trip_row: torch.Tensor | None     # (T,) row of the spin-combined angular cotangent


def compact(spec: ChebyshevSpec, graph: Graph, vec: torch.Tensor,
            r: torch.Tensor) -> tuple[Graph, torch.Tensor, torch.Tensor]:
    """Drop pairs beyond the cutoff and triplets beyond the angular cutoff (Verlet-skin lists
    carry them); a no-op when nothing is beyond."""
    keep = r < spec.max_cutoff_A
    if spec.has_angular:
        inside = r < spec.angular_cutoff_A
        tkeep = inside[graph.trip_a] & inside[graph.trip_b]
    if bool(keep.all()) and (not spec.has_angular or bool(tkeep.all())):
        return graph, vec, r
    new_index = torch.cumsum(keep, 0) - 1
    trip_a, trip_b = graph.trip_a, graph.trip_b
    if spec.has_angular:
        trip_a, trip_b = new_index[trip_a[tkeep]], new_index[trip_b[tkeep]]
    pairs = torch.nonzero(keep).squeeze(1)
    small = replace(graph, i=graph.i[pairs], j=graph.j[pairs], shifts=graph.shifts[pairs],
                    pair_batch=graph.pair_batch[pairs], trip_a=trip_a, trip_b=trip_b)
    return small, vec[pairs], r[pairs]


def expand(spec: ChebyshevSpec, graph: Graph, positions: torch.Tensor) -> tuple[Graph, Expansion]:
    """The graph without pairs/triplets beyond the cutoffs, and its expansion."""
    vec = pair_vectors(graph, positions, graph.cells)
    r = torch.linalg.vector_norm(vec, dim=1)
    graph, vec, r = compact(spec, graph, vec, r)
    return graph, _expand(spec, graph, vec, r)


def _expand(spec: ChebyshevSpec, graph: Graph, vec: torch.Tensor, r: torch.Tensor) -> Expansion:
    rc = spec.radial_cutoff_A
    t, dt = chebyshev_with_derivative(2.0 * r / rc - 1.0, spec.radial_order)
    fc, dfc = cutoff_with_derivative(r, rc)
    rad = t * fc[:, None]
    drad = dt * (2.0 / rc) * fc[:, None] + t * dfc[:, None]
    n_spin = len(spec.elements)
    spin_j = None
    if n_spin > 1:
        spins = torch.tensor(type_spins(n_spin), dtype=r.dtype, device=r.device)
        spin_j = spins[graph.species[graph.j]]
    if not spec.has_angular:
        return Expansion(vec, r, rad, drad, spin_j, None, None, None, None, None, None, None)
    a, b = graph.trip_a, graph.trip_b
    fa, dfa = cutoff_with_derivative(r, spec.angular_cutoff_A)
    inv_r = 1.0 / r
    # one gather per side of every per-pair quantity the triplets need
    columns = [vec * inv_r[:, None], inv_r[:, None], fa[:, None], dfa[:, None]]
    if spin_j is not None:
        columns.append(spin_j[:, None])
    packed = torch.cat(columns, dim=1)
    pa, pb = packed.index_select(0, a), packed.index_select(0, b)
    ua, ub = pa[:, :3], pb[:, :3]
    cos = (ua * ub).sum(dim=1).clamp(-1.0, 1.0)
    ta, dta = chebyshev_with_derivative(cos, spec.angular_order)
    w = pa[:, 4] * pb[:, 4]
    dang = torch.stack([dta * w[:, None], ta * (pa[:, 5] * pb[:, 4])[:, None],
                        ta * (pa[:, 4] * pb[:, 5])[:, None]], dim=2)
    spin_jk = pa[:, 6] * pb[:, 6] if spin_j is not None else None
    geo = torch.cat([ua, ub, pa[:, 3:4], pb[:, 3:4]], dim=1)
    if spin_j is not None:
        pair_row = graph.i * n_spin + graph.species[graph.j]
        trip_row = pair_row.index_select(0, a) * n_spin + graph.species[graph.j].index_select(0, b)
        centre = torch.div(trip_row, n_spin * n_spin, rounding_mode="floor")
    else:
        centre = graph.i.index_select(0, a)
        trip_row = centre
    return Expansion(vec, r, rad, drad, spin_j, ta * w[:, None], dang, cos, spin_jk, geo,
                     centre, trip_row)


def descriptor(spec: ChebyshevSpec, graph: Graph, ex: Expansion, n_atoms: int) -> torch.Tensor:
    """(N, F) descriptor from the expansion (same order as ``chebyshev.features``)."""
    def sums(rad: torch.Tensor, ang: torch.Tensor | None) -> list[torch.Tensor]:
        out = [rad.new_zeros((n_atoms, rad.shape[1])).index_add_(0, graph.i, rad)]
        if ang is not None:
            out.append(ang.new_zeros((n_atoms, ang.shape[1])).index_add_(0, ex.trip_centre, ang))
        return out
    blocks = sums(ex.rad, ex.ang)
    if ex.spin_j is not None:
        w_ang = ex.ang * ex.spin_jk[:, None] if ex.ang is not None else None
        blocks += sums(ex.rad * ex.spin_j[:, None], w_ang)
    return torch.cat(blocks, dim=1)


def _combined(plain: torch.Tensor, weighted: torch.Tensor | None,
              spins: torch.Tensor | None) -> torch.Tensor:
    """Per atom and spin value s: plain + s·weighted, flattened to (N·S, K, width)."""
    if weighted is None or spins is None:
        return plain
    comb = plain[:, None] + spins[None, :, None, None] * weighted[:, None]   # (N, S, K, w)
    return comb.reshape(-1, plain.shape[1], plain.shape[2])


def pair_gradients(spec: ChebyshevSpec, graph: Graph, ex: Expansion,
                   cotangent: torch.Tensor) -> torch.Tensor:
    """dE_k/dD_p for every pair and member, (P, K, 3), from dE_k/dG given as (N, K, F).

    The plain and species-weighted cotangents are combined per atom for every possible spin
    (product) first, so each pair/triplet needs one gather instead of two."""
    nr = spec.radial_order + 1
    na = spec.angular_order + 1 if spec.has_angular else 0
    block = nr + na
    weighted = ex.spin_j is not None
    n_spin = len(spec.elements)
    spins = torch.tensor(type_spins(n_spin), dtype=cotangent.dtype, device=cotangent.device)
    rad = _combined(cotangent[:, :, :nr], cotangent[:, :, block:block + nr] if weighted else None,
                    spins if weighted else None)
    index = graph.i * n_spin + graph.species[graph.j] if weighted else graph.i
    g_r = torch.bmm(rad[index], ex.drad.unsqueeze(2)).squeeze(2)     # (P, K)
    unit = ex.vec / ex.r[:, None]
    grad = g_r[:, :, None] * unit[:, None, :]
    if not spec.has_angular or ex.ang is None:
        return grad
    a, b = graph.trip_a, graph.trip_b
    if weighted:
        products = (spins[:, None] * spins[None, :]).reshape(-1)
        ang = _combined(cotangent[:, :, nr:block], cotangent[:, :, block + nr:], products)
        v_ang = ang.index_select(0, ex.trip_row)                     # (T, K, na)
    else:
        v_ang = cotangent[:, :, nr:block].index_select(0, ex.trip_row)
    g = torch.bmm(v_ang, ex.dang)                                     # (T, K, 3)
    geo = ex.geo
    ua, ub, cos = geo[:, 0:3], geo[:, 3:6], ex.cos[:, None]
    # dE/dD_a = g_cos (u_b − cos u_a)/r_a + g_ra u_a, and symmetrically for b
    geo_a = torch.stack([(ub - cos * ua) * geo[:, 6:7], ua], dim=1)  # (T, 2, 3)
    geo_b = torch.stack([(ua - cos * ub) * geo[:, 7:8], ub], dim=1)
    da = torch.bmm(g[:, :, 0:2], geo_a)
    db = torch.bmm(g[:, :, 0::2], geo_b)
    both = torch.cat([a, b])
    return grad.index_add(0, both, torch.cat([da, db]))


def forces_and_virial(graph: Graph, ex: Expansion, grad: torch.Tensor, n_atoms: int,
                      virial: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Forces (K, N, 3) = −dE/dR and, optionally, dE/dε (K, B, 3, 3) from dE/dD (P, K, 3)."""
    k = grad.shape[1]
    forces = grad.new_zeros((n_atoms, k, 3)).index_add(0, graph.i, grad)
    forces = forces.index_add(0, graph.j, -grad)
    if not virial:
        return forces.transpose(0, 1), None
    outer = ex.vec[:, None, :, None] * grad[:, :, None, :]            # (P, K, 3, 3)
    w = grad.new_zeros((graph.n_structures, k, 3, 3)).index_add(0, graph.pair_batch, outer)
    w = w.transpose(0, 1)
    return forces.transpose(0, 1), 0.5 * (w + w.transpose(2, 3))
