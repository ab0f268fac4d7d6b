"""Proof by plugins: a plugin of every role — reference calculator, surrogate, augmenter,
uncertainty measure, selector, explorer — that alearn knows only through entry points, run a
real campaign together (in-process) and extend the schema, ``alearn validate`` and the
configuration reference while installed.

The distribution ``alearn-testplugins`` lives in ``site/`` (its ``*.dist-info`` with
``entry_points.txt`` beside the package); the test puts that folder on ``sys.path``, so
``importlib.metadata`` finds it exactly as an installed distribution, and takes it off again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from alearn import registry

SITE = Path(__file__).parent / "site"
KINDS = {registry.CALCULATORS: "morse", registry.SURROGATES: "pairs",
         registry.AUGMENTERS: "along_forces", registry.MEASURES: "rms_force_std",
         registry.SELECTORS: "random", registry.EXPLORERS: "random_walk"}

CAMPAIGN = """\
[campaign]
name = "plugins"
seed = 5
structures = ["lj4.xyz"]

[reference]
kind = "morse"
epsilon_eV = 1.0
r0_A = 1.1
rho0 = 6.0

[model]
kind = "pairs"
members = 4

[augment]
kind = "along_forces"

[initial]
copies = 8
rattle_std_A = 0.06

[explore]
kind = "random_walk"
walkers = 2
steps = 40

[explore.monitor]
every_steps = 5
pair_min_distance_A = { "Ar-Ar" = 0.8 }    # r0 = 1.1 Å "argon": closer than covalent radii say

[select]
measure = "rms_force_std"
selector = "random"
budget = 3
min_frame_gap = 0
trust = { lo = 1e-4, hi = 50.0 }

[select.close_contacts]
enabled = false

[dispatch]
engine = "inprocess"

[evaluate]
test_fraction = 0.25

[stop]
max_iterations = 2
"""


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch):
    """The test distribution on ``sys.path`` for one test (its modules forgotten afterwards)."""
    monkeypatch.syspath_prepend(str(SITE))
    yield
    for name in [m for m in sys.modules if m.split(".")[0] == "alearn_testplugins"]:
        del sys.modules[name]


def lj4(directory: Path) -> Path:
    """A tetrahedron of four atoms 1.1 Å apart (the Morse minimum)."""
    r = 1.1
    positions = r * np.array([[0, 0, 0], [1, 0, 0], [0.5, np.sqrt(3) / 2, 0],
                              [0.5, np.sqrt(3) / 6, np.sqrt(2 / 3)]])
    path = directory / "lj4.xyz"
    write(path, Atoms("Ar4", positions=positions))
    return path


def test_plugins_exist_only_while_their_distribution_is_on_the_path(monkeypatch) -> None:
    for role, kind in KINDS.items():
        assert kind not in registry.plugins(role)
    with monkeypatch.context() as patch:
        patch.syspath_prepend(str(SITE))
        for role, kind in KINDS.items():
            assert kind in registry.plugins(role) and "kind" in registry.schemas(role)[kind].__dataclass_fields__
        from alearn.config.docs import render

        page = render()
        assert '### [model] kind = "pairs"' in page and '### [select.selector] kind = "random"' in page
    for role, kind in KINDS.items():                     # nothing of them stays behind
        assert kind not in registry.plugins(role)


def test_a_campaign_of_plugins_runs_through_entry_points_only(plugins, tmp_path: Path, capsys) -> None:
    from alearn.campaign.layout import CampaignDir
    from alearn.campaign.progress import Progress, Stage
    from alearn.campaign.records import read_manifests
    from alearn.cli import main
    from alearn.models import load

    lj4(tmp_path)
    toml = tmp_path / "plugins.toml"
    toml.write_text(CAMPAIGN)
    assert main(["validate", str(toml)]) == 0
    assert "model:      pairs" in capsys.readouterr().out
    assert main(["run", str(toml), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    layout = CampaignDir(tmp_path / "run")
    manifests = read_manifests(layout)
    assert [m.iteration for m in manifests] == [0, 1, 2]
    assert all(m.counts.labelled >= 1 and m.counts.frames == 16 for m in manifests[1:])
    assert manifests[0].counts.augmented > 0 and manifests[0].counts.augmented % 2 == 0
    explored = Progress(layout.snapshot(1)).record(Stage.EXPLORE)
    assert (explored.lo, explored.hi) == (1e-4, 50.0) and explored.walkers == 2
    model = load(layout.snapshot(2) / "model")
    assert type(model).__module__ == "alearn_testplugins.pairs"
    test = manifests[-1].metrics.test
    assert test is not None and test.force_rmse_eV_A is not None
    # the surrogate learned something real: better than predicting zero forces on held-out rows
    from alearn.data.store import Store

    from alearn.data.records import Source

    with Store.open(layout.root / "store.db") as store:
        rows = list(store.rows(ids=list(manifests[-1].dataset.test_ids)))
        derived = list(store.rows(source=Source.TAYLOR))
        assert derived and all(store.get(r.provenance.parent).provenance.calculator == "morse"
                               for r in derived)
    forces = np.concatenate([r.labels.forces for r in rows])
    assert test.force_rmse_eV_A < float(np.sqrt(np.mean(forces ** 2)))
