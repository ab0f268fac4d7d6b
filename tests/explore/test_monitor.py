"""Monitors on scripted trajectories: trust window and every sanity check."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from alearn.config.explore import MonitorConfig
from alearn.explore.monitor import Counts, FrameStatus, Monitor, MonitorSpec, TrustWindow
from alearn.explore.sanity import PairLimits, min_pair_distances, parse_pair
from alearn.select.measures import MaxForceStd


def water(oh: float = 0.96) -> Atoms:
    return Atoms("OH2", positions=[[0, 0, 0], [oh, 0, 0], [-0.24, 0.93, 0]])


def results(std: float, force: float = 1.0, energy: float = -14.0, n: int = 3) -> dict:
    forces = np.zeros((n, 3))
    forces[0, 0] = force
    return {"energy": energy, "forces": forces, "forces_std": np.full(n, std)}


def spec(**kwargs) -> MonitorSpec:
    return MonitorSpec(MaxForceStd(MaxForceStd.Params()), TrustWindow(0.1, 0.5), MonitorConfig(**kwargs))


def test_scripted_trajectory_walks_through_the_trust_window():
    monitor = Monitor(spec(), water().numbers)
    script = [0.02, 0.09, 0.1, 0.3, 0.49, 0.5, 2.0]
    statuses = [monitor.observe(water(), results(s)).status for s in script]
    assert statuses == [FrameStatus.ACCURATE] * 2 + [FrameStatus.CANDIDATE] * 3 + [FrameStatus.FAILED] * 2
    counts = Counts.of(np.array([s.code for s in statuses]))
    assert (counts.accurate, counts.candidate, counts.failed, counts.insane) == (2, 3, 2, 0)


def test_failed_frame_says_why():
    check = Monitor(spec(), water().numbers).observe(water(), results(0.7))
    assert check.status is FrameStatus.FAILED
    assert "max_force_std 0.7 at or above the upper trust level 0.5" in check.reasons[0]


def test_non_finite_numbers_are_insane():
    bad = results(0.02)
    bad["forces"][1, 2] = np.nan
    check = Monitor(spec(), water().numbers).observe(water(), bad)
    assert check.status is FrameStatus.INSANE and check.reasons == ("non-finite forces",)


def test_close_contact_below_per_pair_limit_is_insane_and_named():
    monitor = Monitor(spec(min_distance_factor=0.6), water().numbers)
    fine = monitor.observe(water(0.96), results(0.02))
    assert fine.status is FrameStatus.ACCURATE and not fine.near_contact
    limit = 0.6 * (0.66 + 0.31)                     # ASE covalent radii of O and H
    near = monitor.observe(water(limit * 1.1), results(0.02))
    assert near.status is FrameStatus.ACCURATE and near.near_contact
    assert near.contact_ratio == pytest.approx(1.1, rel=1e-6)
    close = monitor.observe(water(limit * 0.9), results(0.02))
    assert close.status is FrameStatus.INSANE
    assert close.reasons[0].startswith("close contact: O0–H1 at")
    assert (close.closest.i, close.closest.j) in ((0, 1), (1, 0))


def test_pair_override_changes_the_limit():
    limits = PairLimits.from_config(0.6, {"H-O": 1.0})
    assert limits.limit(8, 1) == 1.0 and limits.limit(1, 1) == pytest.approx(0.6 * 0.62)
    check = Monitor(spec(pair_min_distance_A={"H-O": 1.0}), water().numbers).observe(water(0.96), results(0.02))
    assert check.status is FrameStatus.INSANE
    assert parse_pair("O-H") == (1, 8)


def test_max_force_temperature_and_energy_spike():
    monitor = Monitor(spec(max_force_eV_A=10.0, max_temperature_factor=2.0,
                           energy_spike_eV_per_atom=0.5), water().numbers)
    assert "force 12.0 eV/Å" in monitor.observe(water(), results(0.02, force=12.0)).reasons[0]
    hot = monitor.observe(water(), results(0.02), temperature_K=700.0, target_K=300.0)
    assert hot.status is FrameStatus.INSANE and "temperature runaway" in hot.reasons[0]
    ok = monitor.observe(water(), results(0.02), temperature_K=550.0, target_K=300.0)
    assert ok.status is FrameStatus.ACCURATE
    spike = monitor.observe(water(), results(0.02, energy=-14.0 + 3 * 0.6))
    assert spike.status is FrameStatus.INSANE and "energy spike" in spike.reasons[0]
    monitor.reset(-14.0 + 3 * 0.6)
    assert monitor.observe(water(), results(0.02, energy=-14.0 + 3 * 0.7)).status is FrameStatus.ACCURATE


def test_min_pair_distances_per_element_pair():
    found = min_pair_distances([water(0.96), water(0.90)])
    assert found[(1, 8)] == pytest.approx(0.90)
    assert (1, 1) in found and (8, 8) not in found


@pytest.mark.parametrize("pbc", [(False, False, False), (True, True, True), (True, False, True)])
def test_pairs_within_matches_ase_neighbour_list(pbc):
    from ase.build import bulk
    from ase.neighborlist import neighbor_list

    from alearn.explore.sanity import pairs_within

    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 1, 2))
    atoms.rattle(0.1, seed=3)
    atoms.pbc = pbc
    i, j, d = pairs_within(atoms, 3.0)
    ai, aj, ad = neighbor_list("ijd", atoms, 3.0)
    assert len(d) * 2 == len(ad)
    assert np.allclose(np.sort(np.concatenate([d, d])), np.sort(ad))


def test_results_are_reused_only_when_fresh():
    from ase.calculators.emt import EMT

    from alearn.explore.walker import _fresh, _results

    atoms = Atoms("Cu2", positions=[[0, 0, 0], [2.5, 0, 0]])
    atoms.calc = EMT()
    first = _results(atoms)
    assert _fresh(atoms.calc, atoms)
    atoms.positions[1, 0] = 2.4
    assert not _fresh(atoms.calc, atoms)
    second = _results(atoms)
    assert second["energy"] != first["energy"]
    atoms.calc = EMT()
    assert _results(atoms)["energy"] == pytest.approx(second["energy"])
