"""Uncertainty measures on scripted calculator results."""

from __future__ import annotations

import numpy as np
import pytest

from alearn.config.explore import SelectConfig
from alearn.config.schema import ConfigError, build
from alearn.errors import UserError
from alearn.select.measures import (Combined, EnergyStdPerAtom, Extrapolation, GprStd, MaxForceStd,
                                    RelativeForceStd, make_measure)

NUMBERS = np.array([8, 1, 1])
RESULTS = {
    "energy": -10.0,
    "forces": np.array([[3.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 4.0, 0.0]]),
    "energy_std": 0.3,
    "forces_std": np.array([0.6, 0.2, 0.5]),
    "extrapolation": np.array([0, 1, 3]),
    "extrapolation_distance": np.array([0.0, 0.4, 0.25]),
}


def test_max_force_std_is_the_largest_atomic_deviation():
    got = MaxForceStd().evaluate(RESULTS, NUMBERS)
    assert got.value == pytest.approx(0.6)
    assert np.allclose(got.per_atom, [0.6, 0.2, 0.5])


def test_relative_force_std_divides_by_force_magnitude_plus_floor():
    got = RelativeForceStd(floor_eV_A=1.0).evaluate(RESULTS, NUMBERS)
    assert np.allclose(got.per_atom, [0.6 / 4.0, 0.2 / 1.0, 0.5 / 5.0])
    assert got.value == pytest.approx(0.2)        # the atom with no force dominates


def test_energy_measures():
    assert EnergyStdPerAtom().evaluate(RESULTS, NUMBERS).value == pytest.approx(0.1)
    gpr = GprStd().evaluate(RESULTS, NUMBERS)
    assert gpr.value == pytest.approx(0.3) and np.allclose(gpr.per_atom, [0.6, 0.2, 0.5])


def test_extrapolation_counts_features_and_distance():
    assert Extrapolation(min_features=1).evaluate(RESULTS, NUMBERS).value == pytest.approx(0.4)
    strict = Extrapolation(min_features=2).evaluate(RESULTS, NUMBERS)
    assert strict.value == pytest.approx(0.25)
    assert np.allclose(strict.per_atom, [0.0, 0.0, 0.25])
    inside = {**RESULTS, "extrapolation": np.zeros(3), "extrapolation_distance": np.zeros(3)}
    assert Extrapolation().evaluate(inside, NUMBERS).value == 0.0


def test_combined_is_the_maximum_of_normalised_terms():
    measure = Combined(terms=((MaxForceStd(), 0.3), (Extrapolation(), 0.1)))
    got = measure.evaluate(RESULTS, NUMBERS)
    assert got.value == pytest.approx(4.0)        # extrapolation 0.4 / 0.1 beats 0.6 / 0.3
    assert np.allclose(got.per_atom, [2.0, 4.0, 2.5])


def test_missing_result_key_is_a_user_error_naming_it():
    with pytest.raises(UserError, match="'forces_std'"):
        MaxForceStd().evaluate({"energy": 0.0, "forces": np.zeros((3, 3))}, NUMBERS)


def test_make_measure_from_the_select_section():
    cfg = build(SelectConfig, {"measure": "combined", "combine": {"max_force_std": 0.2,
                                                                   "energy_std_per_atom": 0.01}})
    measure = make_measure(cfg)
    assert measure.evaluate(RESULTS, NUMBERS).value == pytest.approx(10.0)
    rel = make_measure(build(SelectConfig, {"measure": "relative_force_std", "force_floor_eV_A": 2.0}))
    assert rel.floor_eV_A == 2.0


@pytest.mark.parametrize("raw, key", [
    ({"measure": "combined"}, "select.combine"),
    ({"measure": "combined", "combine": {"max_force": 0.2}}, "select.combine.max_force"),
    ({"measure": "combined", "combine": {"max_force_std": 0.0}}, "select.combine.max_force_std"),
    ({"trust": {"lo": 0.5, "hi": 0.2}}, "select.trust.hi"),
    ({"measure": "max_force"}, "select.measure"),
    ({"fragments": {"enabled": True, "radius_A": 4.0, "cutoff_A": 6.0}}, "select.fragments.radius_A"),
])
def test_select_section_errors_name_the_key(raw, key):
    with pytest.raises(ConfigError) as err:
        build(SelectConfig, raw, file="c.toml", path="select")
    assert err.value.key == key
