"""ML-II safeguards of the local GPR: the energy noise cannot swallow the energies, and k-means
splitting leaves no subset too small to fit.

Found in the seed-004 EC-dimer study (``benchmarks/README.md``): with the energy noise free up
to 1 eV, the marginal likelihood (3n force rows per energy row) preferred a short length scale
with the energies explained as noise (σ_E at 1 eV, their spread 0.25 eV): energies ≈ 2 eV off,
forces fine.  The same happens on a rattled LJ13 cluster, fitted here in about a second."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.calculators.lj import LennardJones
from ase.cluster import Icosahedron

from alearn.config.gpr import GprConfig
from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.models.gpr import LocalGPR
from alearn.models.gpr_fit import FitSettings, energy_noise_bounds
from alearn.models.gpr_subsets import min_subset, split_by_budget

torch.set_num_threads(1)


def lj13(count: int, seed: int, sigma: float = 0.05) -> list[LabelledStructure]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        atoms = Icosahedron("Ar", 2)
        atoms.positions *= 1.12 / 2.55                      # nearest neighbours near 2^(1/6) σ
        atoms.positions += rng.normal(0.0, sigma, atoms.positions.shape)
        atoms.calc = LennardJones(epsilon=1.0, sigma=1.0, rc=3.0)
        out.append(LabelledStructure(atoms, Labels(atoms.get_potential_energy(), atoms.get_forces()),
                                     Provenance(Source.REFERENCE), id=i + 1))
    return out


def errors(model: LocalGPR, test: list[LabelledStructure]) -> tuple[float, float]:
    pred = model.predict([s.atoms for s in test])
    e = float(np.abs(pred.energy - [s.labels.energy for s in test]).mean())
    f = float(np.abs(np.concatenate(pred.forces) - np.concatenate([s.labels.forces for s in test])).mean())
    return e, f


@pytest.fixture(scope="module")
def lj_data() -> tuple[list[LabelledStructure], list[LabelledStructure]]:
    return lj13(12, seed=2), lj13(30, seed=102)


def test_energy_noise_cannot_explain_away_the_energies(lj_data):
    train, test = lj_data
    spread = float(np.std([s.labels.energy for s in train]))           # 0.33 eV
    fitted = LocalGPR.fit(train, GprConfig(), seed=2)
    hyper = fitted.reports()[0].hyper
    e_mae, f_mae = errors(fitted, test)
    assert hyper.energy_noise_eV <= 0.1 * spread + 1e-12
    assert e_mae < 0.2 and f_mae < 0.2                  # measured 0.104 eV, 0.121 eV/Å
    # the failure it prevents: without the cap ML-II puts σ_E at its 1 eV bound
    free = LocalGPR.fit(train, GprConfig(energy_noise_max_fraction=0.0), seed=2)
    assert free.reports()[0].hyper.energy_noise_eV > spread
    assert errors(free, test)[0] > 1.0                  # measured 2.9 eV (forces 0.061 eV/Å)


def test_energy_noise_bounds_follow_the_spread_of_the_energies():
    settings = FitSettings()
    assert energy_noise_bounds(settings, np.array([0.0, 0.5, 1.0])) == pytest.approx((1e-5, 0.1 * np.std([0, 0.5, 1.0])))
    assert energy_noise_bounds(settings, np.array([3.0])) == (1e-5, 1e-5)      # one structure: pinned
    assert energy_noise_bounds(settings, np.array([0.0, 100.0])) == (1e-5, 1.0)  # the configured bound
    off = FitSettings(energy_noise_max_fraction=0.0)
    assert energy_noise_bounds(off, np.array([0.0, 1e-3])) == (1e-5, 1.0)


def test_split_leaves_no_tiny_subset_and_respects_the_budget():
    rng = np.random.default_rng(0)
    # 3 blobs of 9, 9 and 1 (an outlier): capacity 7 → 3 parts; k-means alone would give the
    # outlier a part of its own (and the old recursive split a part of one structure)
    x = np.concatenate([rng.normal(0, 0.1, (9, 4)), rng.normal(3, 0.1, (9, 4)), [[20.0, 20, 20, 20]]])
    for seed in range(5):
        parts = split_by_budget(x, per_structure=10, max_rows=70, rng=np.random.default_rng(seed))
        sizes = sorted(len(p) for p in parts)
        assert sorted(np.concatenate(parts).tolist()) == list(range(len(x)))
        assert max(sizes) <= 7 and min(sizes) >= min_subset(7) == 3, sizes


def test_split_of_a_smooth_cloud_fills_parts_evenly():
    x = np.random.default_rng(1).normal(size=(250, 6))
    parts = split_by_budget(x, per_structure=61, max_rows=3000, rng=np.random.default_rng(0))
    sizes = [len(p) for p in parts]
    assert len(parts) == 6 and max(sizes) <= 49 and min(sizes) >= 5 and sum(sizes) == 250
