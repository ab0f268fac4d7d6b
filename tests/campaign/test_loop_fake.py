"""The loop's machinery on fake stage parts: snapshots, resume after SIGKILL, config changes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alearn.campaign.layout import CampaignDir
from alearn.campaign.loop import run_campaign
from alearn.campaign.snapshot import SnapshotError, verify_all
from alearn.errors import UserError

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from fakeparts import make  # noqa: E402

STAGE_BOUNDARIES = ["iteration:0:stage:train", "iteration:1:stage:label",
                    "iteration:1:stage:validate:after", "iteration:2:stage:select",
                    "iteration:2:stage:evaluate:after",
                    pytest.param("iteration:0:stage:initial:after", marks=pytest.mark.slow),
                    pytest.param("iteration:1:stage:select", marks=pytest.mark.slow),
                    pytest.param("iteration:1:stage:augment", marks=pytest.mark.slow),
                    pytest.param("iteration:2:stage:augment:after", marks=pytest.mark.slow)]


def run(toml: Path, directory: Path, **kwargs):
    return run_campaign(toml, directory=directory, parts_factory=make, **kwargs)


def final_state(directory: Path) -> tuple[str, list[str]]:
    """Dataset hash and the committed reference calculations (job names, sorted).

    ``calls.log`` gets a line after each result is committed, so a repeated line would be a
    committed calculation run again (a kill between commit and log can only drop a line).
    """
    manifests = verify_all(CampaignDir(directory))
    calls = (directory / "jobs" / "calls.log").read_text().split()
    assert len(set(calls)) == len(calls), "a committed calculation ran twice"
    jobs = sorted(p.name for p in (directory / "jobs").iterdir() if p.is_dir())
    return manifests[-1]["dataset"]["content_sha256"], jobs


def subprocess_run(toml: Path, directory: Path, env_extra: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **env_extra}
    return subprocess.Popen([sys.executable, str(HERE / "run_fake.py"), str(toml), str(directory)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    from conftest import write_tiny

    base = tmp_path_factory.mktemp("ref")
    toml = write_tiny(base)
    outcome = run(toml, base / "run")
    assert outcome.iterations == 4 and "maximum number of iterations" in outcome.stop_reason
    return final_state(base / "run")


def test_uninterrupted_run_commits_every_iteration(tiny_toml: Path, tmp_path: Path,
                                                   reference: tuple[str, list[str]]) -> None:
    outcome = run(tiny_toml, tmp_path / "run")
    layout = CampaignDir(tmp_path / "run")
    manifests = verify_all(layout)
    assert [m["iteration"] for m in manifests] == [0, 1, 2, 3]
    assert manifests[-1]["stop_reason"] == outcome.stop_reason
    assert manifests[0]["counts"]["labelled"] == 6
    assert manifests[1]["counts"]["labelled"] == 4 and manifests[1]["counts"]["gated"] == 1
    # 3 selected + 1 gated label and 3 validation calls (counted apart) per iteration
    assert manifests[1]["counts"]["validation"] == 3
    assert manifests[3]["counts"]["reference_total"] == 6 + 3 * (4 + 3)
    held = [m["dataset"]["validation_ids"] for m in manifests[1:]]
    assert [len(h) for h in held] == [3, 6, 9] and held[2][:3] == held[0]   # fixed, growing
    for m in manifests[1:]:
        assert not set(m["dataset"]["validation_ids"]) & set(m["dataset"]["train_ids"])
        assert not set(m["dataset"]["validation_ids"]) & set(m["dataset"]["test_ids"])
        assert m["metrics"]["validation"]["structures"] == len(m["dataset"]["validation_ids"])
        assert [f["row"] for f in m["metrics"]["validation_frames"]] == m["dataset"]["validation_ids"]
    assert layout.resolved.is_file() and (layout.logs / "run.log").is_file()
    assert "train" in manifests[-1]["timings_s"] and "model/model.json" in manifests[-1]["files"]
    test_ids = set(manifests[-1]["dataset"]["test_ids"])
    assert test_ids and not test_ids & set(manifests[-1]["dataset"]["train_ids"])
    assert set(manifests[1]["dataset"]["test_ids"]) <= test_ids
    assert "force_rmse_eV_A" in manifests[-1]["metrics"]["test"]
    assert final_state(tmp_path / "run") == reference          # determinism


def test_rerun_of_a_finished_campaign_does_nothing(tiny_toml: Path, tmp_path: Path) -> None:
    run(tiny_toml, tmp_path / "run")
    before = sorted(p.name for p in (tmp_path / "run" / "iterations").iterdir())
    outcome = run(tiny_toml, tmp_path / "run")
    assert outcome.resumed and "maximum number of iterations" in outcome.stop_reason
    assert sorted(p.name for p in (tmp_path / "run" / "iterations").iterdir()) == before


def test_unsafe_change_is_refused_with_a_diff(tiny_toml: Path, tmp_path: Path) -> None:
    run(tiny_toml, tmp_path / "run")
    tiny_toml.write_text(tiny_toml.read_text().replace("budget = 3", "budget = 4")
                         .replace("seed = 7", "seed = 8"))
    with pytest.raises(UserError) as info:
        run(tiny_toml, tmp_path / "run", allow_changes=True)
    message = str(info.value)
    assert "campaign.seed: 7 -> 8   (not safe to change mid-campaign)" in message
    assert "select.budget: 3 -> 4   (safe to change)" in message


def test_safe_change_needs_allow_changes_and_continues(tiny_toml: Path, tmp_path: Path) -> None:
    run(tiny_toml, tmp_path / "run")
    tiny_toml.write_text(tiny_toml.read_text().replace("max_iterations = 3", "max_iterations = 4"))
    with pytest.raises(UserError, match="--allow-changes"):
        run(tiny_toml, tmp_path / "run")
    outcome = run(tiny_toml, tmp_path / "run", allow_changes=True)
    assert outcome.iterations == 5 and "(4)" in outcome.stop_reason
    assert "max_iterations = 4" in (tmp_path / "run" / "resolved.toml").read_text()


def test_tampered_snapshot_stops_the_resume(tiny_toml: Path, tmp_path: Path) -> None:
    run(tiny_toml, tmp_path / "run")
    path = tmp_path / "run" / "iterations" / "0001" / "model" / "model.json"
    os.chmod(path, 0o644)
    path.write_text('{"rows": 1000, "warm": true}')
    with pytest.raises(SnapshotError, match="modified model/model.json"):
        run(tiny_toml, tmp_path / "run")


@pytest.mark.parametrize("kill_at", STAGE_BOUNDARIES)
def test_sigkill_at_stage_boundary_then_resume(kill_at: str, tiny_toml: Path, tmp_path: Path,
                                               reference: tuple[str, list[str]]) -> None:
    directory = tmp_path / "run"
    proc = subprocess_run(tiny_toml, directory, {"ALEARN_TEST_KILL_AT": kill_at})
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    resumed = subprocess_run(tiny_toml, directory, {})
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()
    content, calls = final_state(directory)
    assert content == reference[0]
    assert calls == reference[1]


def test_random_sigkills_mid_stage_then_resume(tiny_toml: Path, tmp_path: Path,
                                               reference: tuple[str, list[str]]) -> None:
    directory = tmp_path / "run"
    for delay in (1.2, 1.9, 2.6):
        proc = subprocess_run(tiny_toml, directory, {"FAKE_SLOW_LABEL": "0.15"})
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    final = subprocess_run(tiny_toml, directory, {})
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    content, calls = final_state(directory)
    assert content == reference[0]
    assert calls == reference[1]
    assert not list((directory / "iterations").glob(".staging-*"))
