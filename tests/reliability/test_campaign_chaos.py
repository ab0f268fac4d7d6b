"""Whole campaigns (``alearn run``) under faults: random SIGKILLs of the controller with 30 %
injected faults of every kind, and a disk that fills up mid-campaign.  Each ends, once resumed,
with the datasets of an undisturbed run, iteration by iteration.  Slow: many restarts, each
importing torch and training a small committee.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from proctools import alive, wait_until

from alearn.campaign.layout import CampaignDir
from alearn.campaign.records import read_manifests

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

DATA = Path(__file__).resolve().parents[1] / "campaign" / "data"
FAKES = Path(__file__).resolve().parents[1] / "fakes"
FAULTY = """[reference]
kind = "ase"
calculator = "faultase:FaultyEMT"
kwargs = { rate = 0.3, seed = 5, slow_s = 0.05 }

[dispatch]
engine = "inprocess"
attempts = 4
timeout_s = 5.0
"""


def faulty_campaign(directory: Path, engine: str = "inprocess") -> Path:
    """The tiny EMT campaign with the faulty EMT as its reference (every fault kind), its
    calculations run by ``engine`` (inprocess, or local: a Dask LocalCluster of one worker)."""
    for name in ("tiny-emt.toml", "cu4.xyz"):
        shutil.copy(DATA / name, directory / name)
    text = (directory / "tiny-emt.toml").read_text()
    text = text.replace('[reference]\nkind = "emt"\n', "").replace('[dispatch]\nengine = "inprocess"\n', "")
    # long enough for 20 kills at any machine speed: 8 iterations, kills 1-6 s after a start
    text = text.replace("max_iterations = 2", "max_iterations = 8")
    path = directory / "faulty.toml"
    faulty = FAULTY if engine == "inprocess" else FAULTY.replace(
        'engine = "inprocess"', f'engine = "{engine}"\nworkers = 1')
    path.write_text(text + "\n" + faulty)
    return path


def environment(root: Path) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "OMP_NUM_THREADS": "1", "FAULTASE_MARKERS": str(root / "markers"),
            "FAULTASE_PIDS": str(root / "pids"),
            "PYTHONPATH": f"{FAKES}{os.pathsep}{path}" if path else str(FAKES)}


def argv(toml: Path, directory: Path) -> list[str]:
    return [sys.executable, "-m", "alearn", "run", str(toml), "--dir", str(directory), "--quiet"]


def datasets(directory: Path) -> list[str]:
    return [m.dataset.content_sha256 for m in read_manifests(CampaignDir(directory))]


def disk_use(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def undisturbed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("undisturbed")
    toml = faulty_campaign(root)
    done = subprocess.run(argv(toml, root / "run"), env=environment(root), capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "run"


@pytest.fixture(scope="module")
def undisturbed(undisturbed_run: Path) -> list[str]:
    return datasets(undisturbed_run)


@pytest.mark.parametrize("engine", ["inprocess", "local"])
def test_random_kills_of_alearn_run_with_faults(undisturbed: list[str], tmp_path: Path, engine: str) -> None:
    """The same dataset as the undisturbed (in-process) run, whichever engine ran the labels."""
    toml = faulty_campaign(tmp_path, engine)
    env = environment(tmp_path)
    rng = random.Random(13)
    kills = inside = 0
    while kills < 20:
        proc = subprocess.Popen(argv(toml, tmp_path / "run"), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        pids = tmp_path / "pids"
        if rng.random() < 0.5:  # wait for a reference calculation to be running
            wait_until(lambda: proc.poll() is not None or pids.is_dir() and any(
                alive(int(p.name)) for p in pids.iterdir()), 120.0, 0.02)
        else:
            time.sleep(rng.uniform(1.0, 6.0))
        if proc.poll() is not None:
            break
        inside += pids.is_dir() and any(alive(int(p.name)) for p in pids.iterdir())
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
    final = subprocess.run(argv(toml, tmp_path / "run"), env=env, capture_output=True,
                           text=True, timeout=1200)
    assert final.returncode == 0, final.stderr[-3000:]
    assert datasets(tmp_path / "run") == undisturbed
    assert kills >= 20 and inside >= 3
    print(f"campaign chaos ({engine}): {kills} kills, {inside} inside a reference calculation")


def test_a_disk_that_fills_mid_campaign(undisturbed: list[str], undisturbed_run: Path,
                                        small_disk, tmp_path) -> None:
    disk = small_disk(max(256 << 10, disk_use(undisturbed_run) // 2))
    toml = faulty_campaign(tmp_path)
    env = environment(tmp_path)
    run = argv(toml, disk.root / "run")
    failed = subprocess.run(run, env=env, capture_output=True, text=True, timeout=1200)
    assert failed.returncode == 2, failed.stderr[-3000:]
    assert "free of" in failed.stderr and "Traceback" not in failed.stderr
    subprocess.run(["mount", "-o", "remount,size=256m", str(disk.root)], check=True, timeout=30)
    resumed = subprocess.run(run, env=env, capture_output=True, text=True, timeout=1200)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert datasets(disk.root / "run") == undisturbed
