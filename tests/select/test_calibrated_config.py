"""``adaptive = "calibrated"`` needs a measure whose true error can be computed."""

from __future__ import annotations

import pytest

from alearn.config.explore import SelectConfig
from alearn.config.schema import ConfigError, build


def test_calibrated_with_a_measure_without_true_error_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        build(SelectConfig, {"adaptive": "calibrated", "measure": "extrapolation"},
              file="c.toml", path="select")
    assert info.value.key == "select.adaptive"
    assert "max_force_std" in info.value.message


@pytest.mark.parametrize("measure", ["max_force_std", "energy_std_per_atom", "gpr_std"])
def test_calibrated_with_a_calibratable_measure_is_accepted(measure: str) -> None:
    cfg = build(SelectConfig, {"adaptive": "calibrated", "measure": measure})
    assert cfg.adaptive == "calibrated"


def test_target_and_raw_trust_exclude_each_other() -> None:
    with pytest.raises(ConfigError) as info:
        build(SelectConfig, {"target_force_error_eV_A": 0.1, "trust": {"lo": 0.2, "hi": 1.0}},
              file="c.toml", path="select")
    assert info.value.key == "select.trust" and "exclude" in info.value.message


def test_target_excludes_adaptive_and_must_be_positive() -> None:
    with pytest.raises(ConfigError) as info:
        build(SelectConfig, {"target_force_error_eV_A": 0.1, "adaptive": "top_n"}, file="c.toml", path="select")
    assert info.value.key == "select.adaptive"
    with pytest.raises(ConfigError) as info:
        build(SelectConfig, {"target_force_error_eV_A": 0.0}, file="c.toml", path="select")
    assert info.value.key == "select.target_force_error_eV_A"


def test_target_with_the_default_window_is_accepted() -> None:
    cfg = build(SelectConfig, {"target_force_error_eV_A": 0.1, "hi_factor": 4.0})
    assert cfg.target_force_error_eV_A == 0.1 and cfg.hi_factor == 4.0
