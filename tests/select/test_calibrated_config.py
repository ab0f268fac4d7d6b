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
