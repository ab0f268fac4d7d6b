"""Uncertainty-biased MD: the bias is −τ∇σ_E of the committee, by finite differences, and the
calculator steers without touching the unbiased results."""

from __future__ import annotations

import pickle

import numpy as np
import torch
from ase.build import bulk

from alearn.descriptors.chebyshev import ChebyshevSpec
from alearn.explore.bias import BiasedSurrogate, bias_terms, biased_calculator
from alearn.models.committee import Committee

torch.set_num_threads(1)


def committee(members: int = 3) -> Committee:
    spec = ChebyshevSpec(("Cu",), 4.0, 3.0, 5, 3)
    model = Committee(spec, (6, 5), "softplus", members, seeds=range(members))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        model.scale.copy_(0.1 + torch.rand(model.scale.shape, generator=gen, dtype=torch.float64))
    return model


def cell():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1))
    atoms.positions += np.random.default_rng(0).normal(0, 0.08, atoms.positions.shape)
    return atoms


def sigma(model: Committee, atoms) -> float:
    return float(model.predict([atoms]).energy_std[0])


def test_gradient_of_sigma_matches_finite_differences():
    model = committee()
    atoms = cell()
    calc = model.as_calculator()
    atoms.calc = calc
    atoms.get_forces()
    out = model.evaluate_fast(model.graph([atoms]), torch.as_tensor(atoms.positions), stress=True)
    energies = out.energy[:, 0].detach().numpy()
    forces = out.forces.detach().numpy()
    from alearn.models.committee import voigt
    stresses = voigt(out.stress[:, 0].detach().numpy())
    s, grad, dstress = bias_terms(energies, forces, stresses)
    assert abs(s - sigma(model, atoms)) < 1e-10
    h = 1e-5
    for i, a in [(0, 0), (3, 2), (5, 1)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[i, a] += h
        minus.positions[i, a] -= h
        fd = (sigma(model, plus) - sigma(model, minus)) / (2 * h)
        assert abs(fd - grad[i, a]) < 1e-6 * max(1.0, abs(fd))
    # (1/V) ∂σ/∂ε for the xx component: strain the cell and positions
    def strained(eps):
        b = atoms.copy()
        b.set_cell(atoms.cell[:] @ (np.eye(3) + np.diag([eps, 0, 0])), scale_atoms=True)
        return sigma(model, b)
    fd_xx = (strained(h) - strained(-h)) / (2 * h) / atoms.get_volume()
    assert abs(fd_xx - dstress[0]) < 1e-6 * max(1.0, abs(fd_xx))


def test_biased_calculator_adds_tau_grad_sigma_and_keeps_the_unbiased_forces():
    model = committee()
    atoms = cell()
    plain = model.as_calculator()
    atoms.calc = plain
    reference = atoms.get_forces().copy()
    biased = biased_calculator(model, strength=0.3, ramp_steps=0)
    atoms.calc = biased
    forces = atoms.get_forces()
    results = biased.results
    np.testing.assert_allclose(results["forces_unbiased"], reference, atol=1e-12)
    tau = results["bias_strength"]
    # first call: τ = τ_r · mean|F| / mean|∇σ| of this frame
    grad = (forces - reference) / tau
    ratio = np.linalg.norm(reference, axis=1).mean() / np.linalg.norm(grad, axis=1).mean()
    assert abs(tau - 0.3 * ratio) < 1e-9 * tau
    assert abs(results["bias_energy"] + tau * results["energy_std"]) < 1e-12
    atoms.get_stress()
    assert "stress" in biased.results and "max_force_std" in biased.results


def test_ramp_starts_at_zero_and_strength_zero_is_the_plain_committee():
    model = committee()
    atoms = cell()
    ramped = biased_calculator(model, strength=0.5, ramp_steps=4)
    atoms.calc = ramped
    taus = []
    for k in range(6):
        atoms.positions[0, 0] += 0.01
        atoms.get_forces()
        taus.append(ramped.results["bias_strength"])
    assert taus[0] > 0 and taus[0] < taus[3]          # ramp 1/4 … 4/4
    off = biased_calculator(model, strength=0.0)
    atoms.calc = off
    np.testing.assert_allclose(atoms.get_forces(), off.results["forces_unbiased"], atol=0)


def test_biased_surrogate_factory_pickles_and_loads(tmp_path):
    model = committee()
    model.save(tmp_path / "model")
    factory = BiasedSurrogate(str(tmp_path / "model"), strength=0.2)
    calc = pickle.loads(pickle.dumps(factory))()
    atoms = cell()
    atoms.calc = calc
    assert np.all(np.isfinite(atoms.get_forces()))
