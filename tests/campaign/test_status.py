"""``alearn status`` tells the truth: pipeline order, alive or stale, no stale stop line,
failures with reasons, accepted changes, columns and legend only for what is shown."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from alearn.campaign.layout import CampaignDir, CampaignLock
from alearn.campaign.loop import run_campaign
from alearn.campaign.progress import Progress, Stage
from alearn.campaign.records import ExploreRecord, Failure, LabelRecord
from alearn.campaign.status import collect, render
from alearn.cli import main

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from fakeparts import make  # noqa: E402


def _finished(toml: Path, directory: Path) -> Path:
    run_campaign(toml, directory=directory, parts_factory=make)
    return directory


def _half_done(directory: Path) -> None:
    """An iteration in progress whose stages finished in pipeline order (a killed run)."""
    layout = CampaignDir(directory)
    iteration = len([p for p in layout.iterations.iterdir() if p.name.isdigit()])
    progress = Progress(layout.staging(iteration))
    progress.staging.mkdir(parents=True, exist_ok=True)
    progress.mark(Stage.EXPLORE, ExploreRecord(walkers=2, frames=12), 1.5)
    progress.mark(Stage.VALIDATE, LabelRecord(labelled=3), 0.5)
    progress.mark(Stage.SELECT, LabelRecord(), 0.2)  # any record: status reads names and seconds
    failure = Failure(job="000123", status="failed", kind="scf", reason="SCF did not converge")
    progress.mark(Stage.LABEL, LabelRecord(labelled=2, failed=1, failures=(failure,)), 3.0)


def _text(data: dict) -> str:
    from rich.console import Console

    console = Console(width=200, record=True)
    render(data, console)
    return console.export_text()


def test_in_progress_is_in_pipeline_order_and_has_no_stale_stop_line(tiny_toml: Path, tmp_path: Path) -> None:
    directory = _finished(tiny_toml, tmp_path / "run")
    assert collect(directory)["stop_reason"]          # finished: the stop line is there
    _half_done(directory)
    data = collect(directory)
    assert data["in_progress"]["stages_done"] == ["explore", "validate", "select", "label"]
    assert data["stop_reason"] is None
    text = _text(data)
    assert "done: explore, validate, select, label" in text
    assert "stopped:" not in text
    assert "stale: no run holds the campaign lock" in text


def test_alive_while_a_run_holds_the_lock(tiny_toml: Path, tmp_path: Path) -> None:
    directory = _finished(tiny_toml, tmp_path / "run")
    assert collect(directory)["run"]["alive"] is False
    with CampaignLock(CampaignDir(directory).lock_file):
        data = collect(directory)
        assert data["run"]["alive"] is True and data["run"]["pid"] > 0
        assert "alive: an 'alearn run'" in _text(data)
    assert collect(directory)["run"]["alive"] is False


def test_failures_with_reasons(tiny_toml: Path, tmp_path: Path, capsys) -> None:
    directory = _finished(tiny_toml, tmp_path / "run")
    _half_done(directory)
    assert main(["status", str(directory), "--failures", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["failures"]
    assert rows == [{"iteration": 4, "stage": "label", "job": "000123", "status": "failed",
                     "kind": "scf", "reason": "SCF did not converge"}]
    assert main(["status", str(directory), "--failures"]) == 0
    assert "SCF did not converge" in capsys.readouterr().out
    assert "failures" not in collect(directory)


def test_accepted_changes_are_recorded_and_shown(tiny_toml: Path, tmp_path: Path) -> None:
    directory = _finished(tiny_toml, tmp_path / "run")
    tiny_toml.write_text(tiny_toml.read_text().replace("max_iterations = 3", "max_iterations = 4"))
    run_campaign(tiny_toml, directory=directory, parts_factory=make, allow_changes=True)
    [entry] = collect(directory)["changes"]
    assert entry["before_iteration"] == 4
    assert entry["changes"][0]["key"] == "stop.max_iterations"
    assert (entry["changes"][0]["old"], entry["changes"][0]["new"]) == ("3", "4")
    archived = directory / "logs" / entry["archived"]
    assert "max_iterations = 3" in archived.read_text()
    text = _text(collect(directory))
    assert "accepted changes" in text and "stop.max_iterations: 3 -> 4" in text


def test_legend_and_columns_only_for_what_is_shown(tiny_toml: Path, tmp_path: Path) -> None:
    directory = _finished(tiny_toml, tmp_path / "run")
    data = collect(directory)
    # EMT labels the stress of the periodic cells, but [train] stress_weight = 0: no column
    assert any(r["test_stress_rmse_GPa"] is not None for r in data["iterations"])
    assert data["stress_trained"] is False
    text = _text(data)
    header = next(line for line in text.splitlines() if line.split()[:2] == ["it", "walk"])
    assert "S" not in header.split() and "cc" not in header.split()
    assert "stress" not in text and "cc:" not in text
    data["stress_trained"] = True
    data["iterations"][-1]["test_stress_rmse_GPa"] = 0.25
    text = _text(data)
    header = next(line for line in text.splitlines() if line.split()[:2] == ["it", "walk"])
    assert "S" in header.split() and "S: test stress RMSE" in text
