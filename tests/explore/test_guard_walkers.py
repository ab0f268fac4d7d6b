"""Robust early exploration in the walkers: with ``rescale_above_factor`` a surrogate whose
errors pump energy into the walker no longer runs it away (no temperature-runaway rollbacks)."""

from __future__ import annotations

import functools
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ase.calculators.calculator import all_changes

from alearn.config.explore import ExploreConfig, MonitorConfig, SelectConfig, StageConfig, TrustConfig
from alearn.explore.run import run_walkers, walker_plan

_spec = importlib.util.spec_from_file_location("explore_conftest", Path(__file__).with_name("conftest.py"))
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)


class PumpingSurrogate(_conftest.FakeSurrogate):
    """The fake surrogate plus a force along the velocities: an energy pump, like the spurious
    forces of a poor early surrogate."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results["forces"] = self.results["forces"] + 5.0 * self.atoms.get_velocities()


def walkers(tmp_path: Path, start, factor: float):
    explore = ExploreConfig(walkers=1, timestep_fs=2.0,
                            monitor=MonitorConfig(every_steps=10, rescale_above_factor=factor,
                                                  ramp_steps=20, max_rollbacks=10),
                            stages=(StageConfig(temperature_K=300.0, steps=120, method="nve"),))
    select = SelectConfig(trust=TrustConfig(lo=0.0, hi=50.0))
    factory = functools.partial(PumpingSurrogate, start.get_positions().copy(), slope=0.0)
    return run_walkers([start], walker_plan(explore, select, 1), factory, ThreadPoolExecutor(1),
                       5, tmp_path)


def runaways(result) -> int:
    return sum("temperature runaway" in " ".join(e.reasons) for w in result.walkers for e in w.events)


def test_the_guard_stops_runaways_that_happen_without_it(tmp_path, cluster):
    free = walkers(tmp_path / "free", cluster, 0.0)
    assert runaways(free) > 0 and all(w.rescales == 0 for w in free.walkers)
    kept = walkers(tmp_path / "kept", cluster, 1.5)
    assert runaways(kept) == 0
    assert all(w.rescales > 0 for w in kept.walkers)
