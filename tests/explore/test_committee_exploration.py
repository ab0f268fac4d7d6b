"""Exploration with a real (tiny, briefly trained) committee loaded from its model directory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
from alearn.config.explore import ExploreConfig, MonitorConfig, SelectConfig, StageConfig, TrustConfig
from alearn.explore.run import run_walkers, walker_plan
from alearn.models import load
from alearn.select.selector import select_candidates


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from ase.cluster import Octahedron

    from alearn.train.trainer import train_committee

    rng = np.random.default_rng(0)
    base = Octahedron("Cu", 3)
    base.center(vacuum=5.0)
    data = []
    for _ in range(12):
        atoms = base.copy()
        atoms.positions += rng.normal(0.0, 0.08, atoms.positions.shape)
        atoms.calc = EMT()
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
        data.append(atoms)
    model, _ = train_committee(
        data, [], DescriptorConfig(radial_cutoff_A=4.5, angular_cutoff_A=3.0, radial_order=6,
                                   angular_order=3),
        CommitteeConfig(members=3, hidden=(8, 8)),
        TrainConfig(epochs=40, validation_fraction=0.0, patience=0), seed=0)
    directory = tmp_path_factory.mktemp("committee")
    model.save(directory)
    return directory, base


def test_walkers_on_a_committee_store_its_model_deviation(tmp_path, model_dir):
    directory, start = model_dir
    explore = ExploreConfig(walkers=2, timestep_fs=1.0, monitor=MonitorConfig(every_steps=10),
                            stages=(StageConfig(temperature_K=300.0, steps=40),))
    select = SelectConfig(trust=TrustConfig(lo=0.02, hi=5.0), budget=3, min_frame_gap=0)
    with ThreadPoolExecutor(2) as engine:
        result = run_walkers([start], walker_plan(explore, select, 1), str(directory), engine,
                             np.random.default_rng(0), tmp_path)
    calc = load(directory).as_calculator()
    for outcome in result.walkers:
        frames = result.walker_frames(outcome.walker)
        assert outcome.counts.total == len(frames) == 4
        for k in range(len(frames)):
            atoms = frames.atoms(k)
            atoms.calc = calc
            atoms.get_potential_energy()
            assert frames.measure[k] == pytest.approx(calc.results["max_force_std"], rel=1e-3)
            assert frames.energy[k] == pytest.approx(calc.results["energy"], abs=1e-3)
    selection = select_candidates(result, select)
    assert selection.counts == result.counts
    assert len(selection.selected) == min(3, selection.decorrelated)
    for chosen in selection.selected:
        assert chosen.explanation.element == "Cu" and chosen.measure >= 0.02


@pytest.mark.slow
def test_walkers_run_on_the_dask_engine_of_alearn_label(tmp_path, model_dir):
    from alearn.config.dispatch import DispatchConfig
    from alearn.label.engines import InProcessEngine, make_engine

    directory, start = model_dir
    explore = ExploreConfig(walkers=2, timestep_fs=1.0, monitor=MonitorConfig(every_steps=5),
                            stages=(StageConfig(temperature_K=300.0, steps=10),))
    plan = walker_plan(explore, SelectConfig(), 1)
    with make_engine(DispatchConfig(engine="local", workers=1)) as engine:
        on_dask = run_walkers([start], plan, str(directory), engine, np.random.default_rng(4),
                              tmp_path / "dask")
    here = run_walkers([start], plan, str(directory), InProcessEngine(),
                       np.random.default_rng(4), tmp_path / "here")
    assert [w.counts for w in on_dask.walkers] == [w.counts for w in here.walkers]
    assert np.array_equal(on_dask.walker_frames(1).positions, here.walker_frames(1).positions)


CAMPAIGN = """\
[campaign]
name = "explore-cli"
seed = 3
structures = ["start.xyz"]

[reference]
kind = "emt"

[explore]
walkers = 2
timestep_fs = 1.0
[[explore.stages]]
temperature_K = 300.0
steps = 20
[explore.monitor]
every_steps = 5

[select]
budget = 2
min_frame_gap = 0
trust = { lo = 0.0, hi = 50.0 }
"""


def test_explore_command_prints_counts_and_writes_the_selection(tmp_path, model_dir, capsys):
    from ase.io import read, write

    from alearn.cli import main

    directory, start = model_dir
    write(tmp_path / "start.xyz", start)
    (tmp_path / "c.toml").write_text(CAMPAIGN)
    code = main(["explore", str(tmp_path / "c.toml"), "--model", str(directory),
                 "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0
    assert "walker   1 (start 0): 0 accurate, 4 candidate, 0 failed" in out
    assert "iteration 1: 0 accurate, 8 candidate" in out and "2 selected" in out
    assert len(read(tmp_path / "out" / "selected.extxyz", index=":")) == 2
    assert main(["explore", str(tmp_path / "c.toml"), "--model", str(tmp_path),
                 "--out", str(tmp_path / "o2")]) == 2
    assert "not a model directory" in capsys.readouterr().err


def test_biased_explorer_steers_the_walkers_and_keeps_unbiased_measures(tmp_path, model_dir):
    """The biased_md plugin runs the same walkers on E − τσ_E: frames differ from plain MD
    with the same seed, and the stored measure is the unbiased committee deviation."""
    from alearn import registry
    from alearn.config.schema import build
    from alearn.explore.monitor import TrustWindow
    from alearn.explore.protocol import ExploreRequest
    from alearn.select.measures import MaxForceStd

    directory, start = model_dir
    table = {"walkers": 1, "timestep_fs": 2.0, "monitor": {"every_steps": 10},
             "stages": [{"temperature_K": 600.0, "steps": 60}]}
    results = {}
    for kind, extra in (("md", {}), ("biased_md", {"bias_strength": 2.0, "bias_ramp_steps": 0})):
        plugin = registry.plugins(registry.EXPLORERS)[kind]
        params = build(plugin.Params, {**table, "kind": kind, **extra}, path="explore")
        request = ExploreRequest(1, (start,), directory, MaxForceStd(MaxForceStd.Params()),
                                 TrustWindow(0.0, 50.0), ThreadPoolExecutor(1), 7, tmp_path / kind)
        results[kind] = plugin(params).explore(request)
    plain, biased = (results[k].walker_frames(0) for k in ("md", "biased_md"))
    assert len(plain) == len(biased) == 6
    assert np.abs(plain.positions[-1] - biased.positions[-1]).max() > 1e-3
    calc = load(directory).as_calculator()
    atoms = biased.atoms(5)
    atoms.calc = calc
    atoms.get_forces()
    assert biased.measure[5] == pytest.approx(calc.results["max_force_std"], rel=1e-3)
