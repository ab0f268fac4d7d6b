"""Sampling on a real local GPR surrogate with the ``gpr_std`` measure."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from ase.build import molecule
from ase.calculators.emt import EMT

from alearn.config.explore import ExploreConfig, SelectConfig, StageConfig, TrustConfig
from alearn.config.gpr import GprConfig
from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.explore.run import run_walkers, walker_plan
from alearn.select.measures import GprStd
from alearn.models import load


@pytest.fixture(scope="module")
def gpr_dir(tmp_path_factory):
    from alearn.models.gpr import LocalGPR

    rng = np.random.default_rng(0)
    data = []
    for k in range(8):
        atoms = molecule("H2O")
        atoms.positions += rng.normal(0.0, 0.04, atoms.positions.shape)
        atoms.calc = EMT()
        data.append(LabelledStructure(atoms, Labels(atoms.get_potential_energy(), atoms.get_forces()),
                                      Provenance(Source.REFERENCE), id=k + 1))
    directory = tmp_path_factory.mktemp("gpr")
    LocalGPR.fit(data, GprConfig(), seed=0).save(directory)
    return directory


def test_gp_std_grows_away_from_the_data(tmp_path, gpr_dir):
    start = molecule("H2O")
    select = SelectConfig(measure=GprStd.Params(), trust=TrustConfig(lo=1e-3, hi=100.0))
    medians = []
    for sigma in (0.02, 0.25):
        explore = ExploreConfig(walkers=1, stages=(StageConfig(temperature_K=300.0, steps=8,
                                                               method="displace",
                                                               displacement_A=sigma),))
        with ThreadPoolExecutor(1) as engine:
            result = run_walkers([start], walker_plan(explore, select, 1), str(gpr_dir), engine,
                                 np.random.default_rng(1), tmp_path / f"s{sigma}")
        frames = result.walker_frames(0)
        assert len(frames) == 8
        calc = load(gpr_dir).as_calculator()
        atoms = frames.atoms(3)
        atoms.calc = calc
        atoms.get_potential_energy()
        assert frames.measure[3] == pytest.approx(calc.results["energy_std"], rel=1e-2)
        medians.append(np.median(frames.measure))
    assert medians[1] > 3 * medians[0]
