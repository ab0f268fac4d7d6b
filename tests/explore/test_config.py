"""[explore] and [select] from TOML: defaults, nested tables, errors naming the key."""

from __future__ import annotations

import tomllib

import pytest

from alearn.config.explore import ExploreConfig, SelectConfig
from alearn.config.schema import ConfigError, build, to_dict

TOML = """
[explore]
timestep_fs = 1.0
walkers = 6
[[explore.stages]]
temperature_K = 300.0
steps = 500
iterations = 2
[[explore.stages]]
temperature_K = 800.0
method = "npt"
pressure_GPa = 2.0
barostat = "full"
[explore.monitor]
every_steps = 5
pair_min_distance_A = { "O-H" = 0.7 }
on_failure = "stop"

[select]
measure = { kind = "combined", terms = { max_force_std = 0.2, extrapolation = 0.1 } }
selector = "kmeans"
adaptive = "top_n"
budget = 12
[select.trust]
lo = 1.0
hi = 4.0
[select.fragments]
enabled = true
radius_A = 7.0
cutoff_A = 6.0
saturate = true
[select.close_contacts]
margin_A = 0.2
"""


def test_full_sections_round_trip():
    raw = tomllib.loads(TOML)
    explore = build(ExploreConfig, raw["explore"], path="explore")
    select = build(SelectConfig, raw["select"], path="select")
    assert [s.method for s in explore.stages] == ["langevin", "npt"]
    assert explore.stages[1].barostat == "full" and explore.monitor.on_failure == "stop"
    assert select.measure.terms == {"max_force_std": 0.2, "extrapolation": 0.1}
    assert select.selector.kind == "kmeans"
    assert select.fragments.saturate and select.close_contacts.margin_A == 0.2
    assert build(ExploreConfig, to_dict(explore)) == explore
    assert build(SelectConfig, to_dict(select)) == select


@pytest.mark.parametrize("raw, key", [
    ({"stages": [{"temperature_K": 300.0, "method": "verlet"}]}, "explore.stages[0].method"),
    ({"stages": [{"steps": 10}]}, "explore.stages[0].temperature_K"),
    ({"stages": []}, "explore.stages"),
    ({"monitor": {"every_steps": 0}}, "explore.monitor.every_steps"),
    ({"monitor": {"on_failure": "explode"}}, "explore.monitor.on_failure"),
    ({"stages": [{"temperature_K": 300.0, "max_strain": 0.7}]}, "explore.stages[0].max_strain"),
])
def test_explore_errors_name_the_key(raw, key):
    with pytest.raises(ConfigError) as err:
        build(ExploreConfig, raw, file="c.toml", path="explore")
    assert err.value.key == key


@pytest.mark.parametrize("pairs, key", [({"O-Xx": 0.7}, "explore.monitor.pair_min_distance_A.O-Xx"),
                                        ({"OH": 0.7}, "explore.monitor.pair_min_distance_A.OH"),
                                        ({"O-H": 0.0}, "explore.monitor.pair_min_distance_A.O-H")])
def test_pair_overrides_are_validated(pairs, key):
    with pytest.raises(ConfigError) as err:
        build(ExploreConfig, {"monitor": {"pair_min_distance_A": pairs}}, path="explore")
    assert err.value.key == key
