"""Report figures from plain numbers, g(r) and its halves check, the NVE drift."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT

from alearn.report import figures
from alearn.report.drift import Drift, nve_drift
from alearn.report.rdf import rdf, rdf_halves

PNG = b"\x89PNG\r\n\x1a\n"
ITS = [0, 1, 2, 3]


def _all_figures() -> list[figures.Figure]:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=200)
    r = np.linspace(0.1, 6.0, 50)
    curve = {"H-H": np.exp(-(r - 1.5) ** 2), "H-O": np.exp(-(r - 1.0) ** 2)}
    return [
        figures.errors_per_iteration(ITS, {"force RMSE": {"test": [1.0, None, 0.5, 0.4], "train": [0.8, 0.6, 0.4, 0.3]}},
                                     {"force RMSE": "eV/Å"}),
        figures.exploration_outcome(ITS, {"accurate": [0, 1, 5, 9], "candidate": [0, 9, 5, 1], "failed": [0, 2, 0, 0]}),
        figures.parity(ref, ref + 0.1, "force component", "eV/Å"),
        figures.per_element_errors(["H", "O"], [0.3, 0.5], [0.2, 0.4], [10, 5]),
        figures.calibration(np.array([0.1, 0.2, 0.4]), np.array([0.3, 0.5, 1.2]), "max_force_std", "eV/Å", 2.8, 0.9),
        figures.uncertainty_distributions([1, 2], [np.percentile(rng.lognormal(size=30), range(0, 101, 5)),
                                                   np.percentile(rng.lognormal(-1, size=30), range(0, 101, 5))],
                                          [0.1, 0.2], [3.0, 2.5], [30, 30], "max_force_std", "eV/Å"),
        figures.reference_calls(ITS, [0, 4, 4, 4], [6, 4, 3, 4], [0, 0, 1, 0], [0, 3, 3, 2]),
        figures.stage_times(ITS, {"train": [3.0, 2.0, 2.0, 2.0], "explore": [None, 1.0, 1.0, 1.0]}),
        figures.failures({"SCF not converged": 2, "timeout after 3600 s": 1}),
        figures.rdf_halves(r, curve, curve, {"H-H": 0.0, "H-O": 0.0}, "g(r)"),
        figures.energy_drift(np.linspace(0, 1, 20), np.linspace(0, 0.2, 20), 0.2, "300 K"),
        figures.learning_curve([6, 10, 13, 17], {"force RMSE": {"test set": [1.0, 0.6, 0.5, 0.4],
                                                                "fixed validation set": [None, 0.7, 0.5, 0.45]}},
                               {"force RMSE": "eV/Å"}, "caption"),
        figures.dataset_composition(ITS, {"reference": [6, 10, 13, 17], "taylor": [24, 40, 52, 68]}),
    ]


def test_every_figure_is_a_png_with_a_title_and_caption() -> None:
    made = _all_figures()
    assert all(f.png.startswith(PNG) and f.title and f.caption for f in made)
    assert len({f.key for f in made}) == len(made)
    assert made[0].data_uri().startswith("data:image/png;base64,iVBOR")


def test_periodic_ideal_gas_has_g_of_r_near_one() -> None:
    rng = np.random.default_rng(1)
    frames = [Atoms("Ar200", positions=rng.random((200, 3)) * 12.0, cell=[12.0] * 3, pbc=True)
              for _ in range(6)]
    r, curves, periodic = rdf(frames, rmax=5.0, nbins=10)
    assert periodic and set(curves) == {"Ar-Ar"}
    assert np.all(np.abs(curves["Ar-Ar"][r > 2.0] - 1.0) < 0.1)     # ±10 % over ~1e4 pairs per bin


def test_crystal_peak_and_halves_of_identical_data() -> None:
    cu = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    frames = []
    for seed in range(8):
        atoms = cu.copy()
        atoms.rattle(0.02, seed=seed)
        frames.append(atoms)
    check = rdf_halves(frames, rmax=4.0, nbins=80)
    peak = check.r[np.argmax(check.first["Cu-Cu"])]
    assert abs(peak - 3.6 / np.sqrt(2)) < 0.1
    assert check.worst[1] < 0.3 and check.periodic
    assert rdf_halves(frames[:3]) is None


def test_cluster_pair_density_integrates_to_one() -> None:
    water = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    r, curves, periodic = rdf([water], rmax=3.0, nbins=60)
    width = r[1] - r[0]
    assert not periodic and all(np.sum(c) * width == pytest.approx(1.0) for c in curves.values())


def test_nve_drift_of_emt_copper_is_small_and_round_trips() -> None:
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    drift = nve_drift(EMT(), atoms, temperature_K=300.0, timestep_fs=2.0, steps=100, seed=0, every=10)
    assert drift.completed and len(drift.time_ps) == 11 and drift.energy_meV_atom[0] == 0.0
    assert abs(drift.slope_meV_atom_ps) < 5.0                           # EMT conserves energy well
    again = Drift.from_dict(drift.to_dict())
    assert np.allclose(again.energy_meV_atom, drift.energy_meV_atom) and "300 K" in again.conditions
