"""Uncertainty measures on scripted calculator results; their schemas in [select]."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from alearn.config.explore import SelectConfig
from alearn.config.legacy import upgrade
from alearn.config.schema import ConfigError, build
from alearn.data.records import Labels
from alearn.errors import UserError
from alearn.select.measures import (Combined, EnergyStdPerAtom, Extrapolation, GprStd, MaxForceStd,
                                    RelativeForceStd, make_measure)
from alearn.select.protocol import UncertaintyMeasure

ATOMS = Atoms("OH2", positions=[[0, 0, 0], [1, 0, 0], [0, 1, 0]])
RESULTS = {
    "energy": -10.0,
    "forces": np.array([[3.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 4.0, 0.0]]),
    "energy_std": 0.3,
    "forces_std": np.array([0.6, 0.2, 0.5]),
    "extrapolation": np.array([0, 1, 3]),
    "extrapolation_distance": np.array([0.0, 0.4, 0.25]),
}


def measure(cls, **params):
    return cls(cls.Params(**params))


def test_max_force_std_is_the_largest_atomic_deviation():
    got = measure(MaxForceStd).evaluate(ATOMS, RESULTS)
    assert got.value == pytest.approx(0.6)
    assert np.allclose(got.per_atom, [0.6, 0.2, 0.5])


def test_relative_force_std_divides_by_force_magnitude_plus_floor():
    got = measure(RelativeForceStd, floor_eV_A=1.0).evaluate(ATOMS, RESULTS)
    assert np.allclose(got.per_atom, [0.6 / 4.0, 0.2 / 1.0, 0.5 / 5.0])
    assert got.value == pytest.approx(0.2)        # the atom with no force dominates


def test_energy_measures():
    assert measure(EnergyStdPerAtom).evaluate(ATOMS, RESULTS).value == pytest.approx(0.1)
    gpr = measure(GprStd).evaluate(ATOMS, RESULTS)
    assert gpr.value == pytest.approx(0.3) and np.allclose(gpr.per_atom, [0.6, 0.2, 0.5])


def test_extrapolation_counts_features_and_distance():
    assert measure(Extrapolation, min_features=1).evaluate(ATOMS, RESULTS).value == pytest.approx(0.4)
    strict = measure(Extrapolation, min_features=2).evaluate(ATOMS, RESULTS)
    assert strict.value == pytest.approx(0.25)
    assert np.allclose(strict.per_atom, [0.0, 0.0, 0.25])
    inside = {**RESULTS, "extrapolation": np.zeros(3), "extrapolation_distance": np.zeros(3)}
    assert measure(Extrapolation).evaluate(ATOMS, inside).value == 0.0


def test_combined_is_the_maximum_of_normalised_terms():
    combined = measure(Combined, terms={"max_force_std": 0.3, "extrapolation": 0.1})
    got = combined.evaluate(ATOMS, RESULTS)
    assert got.value == pytest.approx(4.0)        # extrapolation 0.4 / 0.1 beats 0.6 / 0.3
    assert np.allclose(got.per_atom, [2.0, 4.0, 2.5])


def test_every_measure_follows_the_protocol_and_true_errors_are_in_its_unit():
    for cls in (MaxForceStd, RelativeForceStd, EnergyStdPerAtom, GprStd, Extrapolation):
        assert isinstance(measure(cls), UncertaintyMeasure)
    labels = Labels(energy=-10.6, forces=RESULTS["forces"] + [[0.0, 0.0, 0.5], [0, 0, 0], [0, 0, 0]])
    assert measure(MaxForceStd).true_error(ATOMS, RESULTS, labels) == pytest.approx(0.5)
    assert measure(EnergyStdPerAtom).true_error(ATOMS, RESULTS, labels) == pytest.approx(0.2)
    assert measure(GprStd).true_error(ATOMS, RESULTS, labels) == pytest.approx(0.6)
    assert measure(Extrapolation).true_error(ATOMS, RESULTS, labels) is None


def test_missing_result_key_is_a_user_error_naming_it():
    with pytest.raises(UserError, match="'forces_std'"):
        measure(MaxForceStd).evaluate(ATOMS, {"energy": 0.0, "forces": np.zeros((3, 3))})


def test_make_measure_from_the_select_section():
    cfg = build(SelectConfig, {"measure": {"kind": "combined",
                                           "terms": {"max_force_std": 0.2, "energy_std_per_atom": 0.01}}})
    assert make_measure(cfg.measure).evaluate(ATOMS, RESULTS).value == pytest.approx(10.0)
    rel = make_measure(build(SelectConfig, {"measure": {"kind": "relative_force_std",
                                                        "floor_eV_A": 2.0}}).measure)
    assert rel.params.floor_eV_A == 2.0
    assert build(SelectConfig, {"measure": "gpr_std"}).measure == GprStd.Params()


def test_flat_measure_keys_of_earlier_files_are_mapped():
    old = {"select": {"measure": "relative_force_std", "force_floor_eV_A": 2.0,
                      "extrapolation_min_features": 3, "combine": {}, "diversity": "kmeans"}}
    select = upgrade(old)["select"]
    assert select == {"measure": {"kind": "relative_force_std", "floor_eV_A": 2.0},
                      "selector": "kmeans"}
    combined = upgrade({"select": {"measure": "combined", "combine": {"gpr_std": 0.1},
                                   "force_floor_eV_A": 1.0}})["select"]
    assert combined["measure"] == {"kind": "combined", "terms": {"gpr_std": 0.1}}
    with pytest.raises(ConfigError, match="force_floor_eV_A"):
        upgrade({"select": {"measure": "combined", "force_floor_eV_A": 2.0,
                            "combine": {"relative_force_std": 0.1}}})


@pytest.mark.parametrize("raw, key", [
    ({"measure": "combined"}, "select.measure.terms"),
    ({"measure": {"kind": "combined", "terms": {"max_force": 0.2}}}, "select.measure.terms.max_force"),
    ({"measure": {"kind": "combined", "terms": {"max_force_std": 0.0}}}, "select.measure.terms.max_force_std"),
    ({"trust": {"lo": 0.5, "hi": 0.2}}, "select.trust.hi"),
    ({"measure": "max_force"}, "select.measure.kind"),
    ({"measure": {"kind": "relative_force_std", "floor": 1.0}}, "select.measure.floor"),
    ({"selector": "farthest"}, "select.selector.kind"),
    ({"fragments": {"enabled": True, "radius_A": 4.0, "cutoff_A": 6.0}}, "select.fragments.radius_A"),
])
def test_select_section_errors_name_the_key(raw, key):
    with pytest.raises(ConfigError) as err:
        build(SelectConfig, raw, file="c.toml", path="select")
    assert err.value.key == key
