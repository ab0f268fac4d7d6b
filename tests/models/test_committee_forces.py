"""Forces and stress of the committee against finite differences; invariances; spreads."""

from __future__ import annotations

import numpy as np
import pytest
from ase.calculators.fd import calculate_numerical_stress



def numeric_forces(calc, atoms, h=1e-5):
    out = np.zeros((len(atoms), 3))
    for a in range(len(atoms)):
        for c in range(3):
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[a, c] += sign * h
                out[a, c] -= sign * calc.get_potential_energy(moved) / (2 * h)
    return out


@pytest.mark.parametrize("system", ["triclinic", "triclinic, three elements", "molecule"])
def test_forces_match_finite_differences(system, backend, make_committee, make_cell, make_cluster):
    atoms = make_cluster() if system == "molecule" else make_cell()
    elements = {"triclinic": ("Cu", "Au"), "molecule": ("O", "H")}.get(system, ("Cu", "Au", "Ag"))
    if len(elements) == 3:
        atoms.symbols[[2, 6]] = "Ag"
    calc = make_committee(elements).as_calculator(skin_A=0.0)
    forces = calc.get_forces(atoms)
    assert np.abs(forces).max() > 1e-3
    np.testing.assert_allclose(forces, numeric_forces(calc, atoms), atol=1e-7, rtol=1e-6)


def test_stress_matches_finite_differences_triclinic(backend, make_committee, make_cell, make_cluster):
    atoms = make_cell()
    atoms.calc = make_committee(("Cu", "Au")).as_calculator(skin_A=0.0)
    stress = atoms.get_stress()
    numeric = calculate_numerical_stress(atoms, eps=1e-6, force_consistent=False)
    assert np.abs(stress).max() > 1e-4
    np.testing.assert_allclose(stress, numeric, atol=1e-7, rtol=1e-5)


def test_invariance_rotation_translation_permutation(backend, make_committee, make_cell, make_cluster):
    atoms = make_cluster()
    calc = make_committee(("O", "H")).as_calculator()
    e0, f0 = calc.get_potential_energy(atoms), calc.get_forces(atoms).copy()
    moved = atoms.copy()
    rot = moved.copy()
    rot.rotate(37.0, (0.3, -0.5, 0.8), center=(0.4, 0.1, -0.2))
    rot.translate((1.3, -2.0, 0.7))
    r = rot.positions - rot.positions.mean(0)
    p = atoms.positions - atoms.positions.mean(0)
    rotation, *_ = np.linalg.lstsq(p, r, rcond=None)
    assert calc.get_potential_energy(rot) == pytest.approx(e0, abs=1e-10)
    np.testing.assert_allclose(calc.get_forces(rot), f0 @ rotation, atol=1e-9)
    perm = [0, 2, 1, 3, 5, 4]
    swapped = atoms[perm]
    assert calc.get_potential_energy(swapped) == pytest.approx(e0, abs=1e-10)
    np.testing.assert_allclose(calc.get_forces(swapped), f0[perm], atol=1e-10)


def test_periodic_translation_and_image_invariance(backend, make_committee, make_cell, make_cluster):
    atoms = make_cell()
    calc = make_committee(("Cu", "Au")).as_calculator()
    e0 = calc.get_potential_energy(atoms)
    shifted = atoms.copy()
    shifted.translate((0.37, -0.21, 1.1))
    shifted.wrap()
    assert calc.get_potential_energy(shifted) == pytest.approx(e0, abs=1e-9)
    doubled = atoms.repeat((2, 1, 1))
    assert calc.get_potential_energy(doubled) == pytest.approx(2 * e0, abs=1e-8)


def test_committee_mean_and_std_equal_member_statistics(backend, make_committee, make_cell, make_cluster):
    atoms = make_cell()
    committee = make_committee(("Cu", "Au"), members=4)
    calc = committee.as_calculator()
    atoms.calc = calc
    atoms.get_stress()
    res = calc.results
    singles = []
    for k in range(4):
        member = make_committee(("Cu", "Au"), members=4)
        member.load_state_dict(committee.state_dict())
        member.networks.select([k])
        singles.append(member.as_calculator())
    e = np.array([s.get_potential_energy(atoms) for s in singles])
    f = np.array([s.get_forces(atoms) for s in singles])
    st = np.array([s.get_stress(atoms) for s in singles])
    assert res["energy"] == pytest.approx(e.mean(), abs=1e-10)
    assert res["energy_std"] == pytest.approx(e.std(), abs=1e-10)
    assert res["energy_std"] > 0
    np.testing.assert_allclose(res["forces"], f.mean(0), atol=1e-10)
    dev = np.sqrt(((f - f.mean(0)) ** 2).sum(2).mean(0))
    np.testing.assert_allclose(res["forces_std"], dev, atol=1e-10)
    assert res["max_force_std"] == pytest.approx(dev.max())
    np.testing.assert_allclose(res["stress"], st.mean(0), atol=1e-10)
    for key in ("energy_std", "forces_std", "max_force_std", "extrapolation", "extrapolation_distance"):
        assert key in res


@pytest.mark.parametrize("elements", [("Cu", "Au"), ("Cu", "Au", "Ag")])
@pytest.mark.parametrize("backend_name", ["torch", "numba"])
def test_analytic_path_equals_autograd(elements, backend_name, make_committee, make_cell):
    import torch

    atoms = make_cell()
    if len(elements) == 3:
        atoms.symbols[2] = "Ag"
    committee = make_committee(elements, members=4)
    graph = committee.graph([atoms, atoms.repeat((1, 2, 1))])
    pos = torch.as_tensor(np.concatenate([atoms.positions, atoms.repeat((1, 2, 1)).positions]))
    slow = committee.evaluate_graph(graph, pos, forces=True, stress=True)
    fast = committee.evaluate_fast(graph, pos, stress=True, backend=backend_name)
    torch.testing.assert_close(fast.features, slow.features.detach())
    torch.testing.assert_close(fast.energy, slow.energy.detach())
    torch.testing.assert_close(fast.forces, slow.forces, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fast.stress, slow.stress, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend_name", ["torch", "numba"])
def test_analytic_path_without_angular_terms(backend_name, make_committee, make_cluster):
    import torch

    committee = make_committee(("O", "H"), angular=(0.0, 0))
    atoms = make_cluster()
    graph = committee.graph([atoms])
    pos = torch.as_tensor(atoms.positions)
    slow = committee.evaluate_graph(graph, pos, forces=True)
    fast = committee.evaluate_fast(graph, pos, backend=backend_name)
    torch.testing.assert_close(fast.forces, slow.forces, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend_name", ["torch", "numba"])
def test_force_loss_weight_gradients_equal_between_paths(backend_name, make_committee, make_cell):
    """Direct force training through the analytic path (torch, or the compiled kernel and its
    transpose) gives the autograd path's gradients."""
    import torch

    atoms = make_cell()
    committee = make_committee(("Cu", "Au"), members=2)
    graph = committee.graph([atoms, atoms.repeat((1, 1, 2))])
    pos = torch.as_tensor(np.concatenate([atoms.positions, atoms.repeat((1, 1, 2)).positions]))
    grads = []
    for fast in (True, False):
        committee.zero_grad()
        if fast:
            out = committee.evaluate_fast(graph, pos, stress=True, create_graph=True,
                                          backend=backend_name)
        else:
            out = committee.evaluate_graph(graph, pos, forces=True, stress=True, create_graph=True)
        loss = (out.forces**2).sum() + 1e3 * (out.stress**2).sum() + (out.energy**2).sum()
        loss.backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in committee.networks.parameters()]))
    assert grads[0].abs().max() > 0
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-9, atol=1e-12)
