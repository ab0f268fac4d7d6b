"""Campaigns written before the typed records (manifest version 1, format-1 snapshots, flat
[select] keys in resolved.toml) still open, report, and continue."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from alearn.campaign.layout import CampaignDir
from alearn.campaign.progress import Progress, Stage
from alearn.campaign.records import RECORD_VERSION, IterationManifest, read_manifests, to_json
from alearn.cli import main

DATA = Path(__file__).parent / "data"
#: where the fixture was made (alearn at 83e9071); its resolved.toml names files there
MADE_IN = "/tmp/reg_fix"


@pytest.fixture
def old_campaign(tmp_path: Path) -> Path:
    with tarfile.open(DATA / "old-format-1.tar.gz") as tar:
        tar.extractall(tmp_path, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    shutil.copy(DATA / "cu4.xyz", tmp_path / "cu4.xyz")
    resolved = tmp_path / "old-format" / "resolved.toml"
    resolved.write_text(resolved.read_text().replace(MADE_IN, str(tmp_path)))
    return tmp_path / "old-format"


def test_old_manifests_and_stage_records_read_as_typed_records(old_campaign: Path) -> None:
    layout = CampaignDir(old_campaign)
    manifests = read_manifests(layout)
    assert [m.iteration for m in manifests] == [0, 1] and {m.version for m in manifests} == {1}
    raw = json.loads((layout.snapshot(1) / "manifest.json").read_text())
    last = manifests[1]
    assert to_json(last.counts) == raw["counts"]
    assert last.metrics.test.force_rmse_eV_A == raw["metrics"]["test"]["force_rmse_eV_A"]
    assert last.dataset.test_ids == tuple(raw["dataset"]["test_ids"])
    assert last.parent_manifest_sha256 == manifests[0].manifest_sha256
    progress = Progress(layout.snapshot(1))
    explored, label = progress.record(Stage.EXPLORE), progress.record(Stage.LABEL)
    train = progress.record(Stage.TRAIN)
    assert explored.frames == last.counts.frames and explored.lo is None    # no window recorded
    assert label.row_ids and label.labelled == last.counts.labelled
    assert train.train_rows == last.counts.train_rows and train.details["epochs"] == 30


def test_old_campaign_shows_status_and_report(old_campaign: Path, capsys) -> None:
    assert main(["status", str(old_campaign), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["iterations"]
    assert [r["iteration"] for r in rows] == [0, 1] and rows[1]["frames"] == 12
    assert main(["report", str(old_campaign), "--out", str(old_campaign.parent / "r.html")]) == 0


def test_old_campaign_continues_with_todays_records(old_campaign: Path, tmp_path: Path) -> None:
    resolved = (old_campaign / "resolved.toml").read_text()
    assert 'diversity = "fps"' in resolved and "force_floor_eV_A" in resolved   # the old keys
    toml = tmp_path / "continue.toml"
    toml.write_text(resolved.replace("max_iterations = 1", "max_iterations = 2"))
    assert main(["run", str(toml), "--dir", str(old_campaign), "--allow-changes", "--quiet"]) == 0
    manifests = read_manifests(CampaignDir(old_campaign))
    assert [m.version for m in manifests] == [1, 1, RECORD_VERSION]
    new = manifests[2]
    assert new.parent == 1 and new.window is not None and new.counts.frames > 0
    assert IterationManifest.read(new.body()).counts == new.counts
