"""The compiled (numba) descriptor and force kernel against the torch reference; backend choice
and the fall-back to torch when the kernel cannot be built."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk

from alearn.descriptors import fused
from alearn.descriptors.chebyshev import ChebyshevSpec, collate, features, topology
from alearn.errors import UserError
from alearn.models.committee import Committee

torch.set_num_threads(1)


def committee_for(elements, members=3, radial=(4.5, 8), angular=(3.5, 4), seed=0) -> Committee:
    spec = ChebyshevSpec(tuple(elements), radial[0], angular[0], radial[1], angular[1])
    model = Committee(spec, (7, 5), "tanh", members, seeds=range(seed, seed + members))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.scale.copy_(0.1 + torch.rand(model.scale.shape, generator=gen, dtype=torch.float64))
        model.shift.copy_(torch.randn(model.shift.shape, generator=gen, dtype=torch.float64))
    return model


def systems() -> dict[str, tuple[list[Atoms], tuple[str, ...]]]:
    rng = np.random.default_rng(3)
    tri = bulk("Cu", "fcc", a=3.7).repeat((2, 2, 2))
    tri.cell[1] += [0.8, 0.0, 0.4]
    tri.positions += 0.1 * rng.normal(size=tri.positions.shape)
    tri.symbols[[1, 4]] = "Au"
    three = tri.copy()
    three.symbols[[2, 6]] = "Ag"
    slab = tri.copy()
    slab.pbc = (True, True, False)
    mol = Atoms("OHHOHHC", positions=rng.uniform(0, 3.2, size=(7, 3)))
    return {"triclinic": ([tri], ("Cu", "Au")), "three elements": ([three], ("Cu", "Ag", "Au")),
            "slab": ([slab], ("Cu", "Au")), "molecule": ([mol], ("H", "C", "O")),
            "batch": ([tri, three, bulk("Au", "fcc", a=4.1, cubic=True)], ("Cu", "Ag", "Au"))}


@pytest.fixture(autouse=True)
def kernel_available():
    assert fused.kernel() is not None, "numba is a dependency: the compiled kernel must load here"


@pytest.mark.parametrize("name", list(systems()))
@pytest.mark.parametrize("angular", [(3.5, 4), (0.0, 0), (5.0, 3)])
def test_kernel_matches_torch_reference(name, angular):
    structures, elements = systems()[name]
    model = committee_for(elements, angular=angular)
    graph = model.graph(structures)
    pos = torch.as_tensor(np.concatenate([a.positions for a in structures]))
    reference = features(model.spec, graph, pos)
    stress = all(a.pbc.all() for a in structures)
    slow = model.evaluate_fast(graph, pos, stress=stress, backend="torch")
    fast = model.evaluate_fast(graph, pos, stress=stress, backend="numba")
    scale = reference.abs().max()
    torch.testing.assert_close(fast.features, reference, atol=1e-12 * scale, rtol=0)
    torch.testing.assert_close(fast.energy, slow.energy, atol=1e-10, rtol=1e-12)
    f_scale = slow.forces.abs().max()
    assert f_scale > 1e-3
    torch.testing.assert_close(fast.forces, slow.forces, atol=1e-11 * f_scale, rtol=0)
    if stress:
        torch.testing.assert_close(fast.stress, slow.stress, atol=1e-11 * slow.stress.abs().max(),
                                   rtol=0)


def test_float32_kernel_agrees_with_float64():
    structures, elements = systems()["triclinic"]
    model = committee_for(elements, members=4)
    graph64 = model.graph(structures)
    pos = torch.as_tensor(structures[0].positions)
    ref = model.evaluate_fast(graph64, pos, stress=True, backend="numba")
    single = model.to(torch.float32)
    out = single.evaluate_fast(single.graph(structures), pos.float(), stress=True, backend="numba")
    assert out.forces.dtype == torch.float32 and out.stress.dtype == torch.float32
    eps = float(torch.finfo(torch.float32).eps)
    # float32 network inputs/weights: errors ~ eps × (largest term), a few hundred terms summed
    torch.testing.assert_close(out.forces.double(), ref.forces,
                               atol=1e3 * eps * float(ref.forces.abs().max()), rtol=0)
    torch.testing.assert_close(out.energy.double(), ref.energy,
                               atol=1e3 * eps * float(ref.energy.abs().max()), rtol=0)


def test_skin_pairs_and_unsorted_pairs_give_the_same_result():
    """A Verlet-skin list (pairs/triplets beyond the cutoffs) and pairs in any order."""
    structures, elements = systems()["triclinic"]
    model = committee_for(elements)
    atoms = structures[0]
    pos = torch.as_tensor(atoms.positions)
    plain = model.evaluate_fast(model.graph([atoms]), pos, stress=True, backend="numba")
    skin = collate([atoms], [topology(atoms, model.spec, skin_A=1.0)])
    assert len(skin.i) > len(model.graph([atoms]).i)
    with_skin = model.evaluate_fast(skin, pos, stress=True, backend="numba")
    order = torch.randperm(len(skin.i), generator=torch.Generator().manual_seed(0))
    shuffled = replace(skin, i=skin.i[order], j=skin.j[order], shifts=skin.shifts[order],
                       pair_batch=skin.pair_batch[order])
    mixed = model.evaluate_fast(shuffled, pos, stress=True, backend="numba")
    for out in (with_skin, mixed):
        torch.testing.assert_close(out.forces, plain.forces, atol=1e-12, rtol=1e-10)
        torch.testing.assert_close(out.stress, plain.stress, atol=1e-12, rtol=1e-10)
        torch.testing.assert_close(out.features, plain.features, atol=1e-12, rtol=1e-10)


def test_isolated_atoms_and_an_empty_pair_list():
    model = committee_for(("H", "O"))
    atoms = Atoms("HO", positions=[[0, 0, 0], [9.0, 0, 0]])
    graph = model.graph([atoms])
    assert len(graph.i) == 0
    pos = torch.as_tensor(atoms.positions)
    fast = model.evaluate_fast(graph, pos, backend="numba")
    slow = model.evaluate_fast(graph, pos, backend="torch")
    torch.testing.assert_close(fast.energy, slow.energy)
    assert float(fast.forces.abs().max()) == 0.0


def test_backend_choice_and_environment(monkeypatch):
    assert fused.requested_backend() == "auto"
    monkeypatch.setenv(fused.ENVIRONMENT, "torch")
    assert fused.requested_backend() == "torch"
    assert fused.requested_backend("numba") == "numba"
    pos = torch.zeros(2, 3, dtype=torch.float64)
    assert not fused.use_kernel(None, pos)
    assert fused.use_kernel("auto", pos)
    assert not fused.use_kernel("auto", pos.to(torch.int64))
    monkeypatch.setenv(fused.ENVIRONMENT, "fortran")
    with pytest.raises(UserError, match="ALEARN_BACKEND = 'fortran'"):
        fused.requested_backend()


def test_missing_compiler_falls_back_to_torch_with_one_warning(monkeypatch, caplog):
    import sys

    import alearn.descriptors

    monkeypatch.setattr(fused, "_kernel", [])
    monkeypatch.delattr(alearn.descriptors, "kernel_numba", raising=False)
    monkeypatch.setitem(sys.modules, "alearn.descriptors.kernel_numba", None)  # import fails
    structures, elements = systems()["molecule"]
    model = committee_for(elements)
    graph = model.graph(structures)
    pos = torch.as_tensor(structures[0].positions)
    with caplog.at_level(logging.WARNING, logger="alearn.descriptors.fused"):
        first = model.evaluate_fast(graph, pos, backend="numba")
        second = model.evaluate_fast(graph, pos)
    lines = [r for r in caplog.records if r.name == "alearn.descriptors.fused"]
    assert len(lines) == 1 and "using the torch path" in lines[0].getMessage()
    reference = model.evaluate_fast(graph, pos, backend="torch")
    torch.testing.assert_close(first.forces, reference.forces)
    torch.testing.assert_close(second.forces, reference.forces)
