"""dask-jobqueue pilot jobs: golden job scripts, and Slurm end to end against fake sbatch/scancel."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from ase import Atoms
from fakecalc import FakeCalculator
from proctools import alive, wait_until

from alearn.config.dispatch import DispatchConfig, Profile
from alearn.config.schema import ConfigError, build
from alearn.label.dispatcher import Status, label_structures
from alearn.label.engines import make_engine
from alearn.label.hpc import job_script

GOLDEN = Path(__file__).with_name("golden")

CONFIGS = {
    "slurm": {"engine": "slurm", "workers": 4, "cores_per_job": 32, "memory": "64GB",
              "walltime": "02:00:00", "queue": "compute", "account": "chem123",
              "job_directives": ["--constraint=cpu"], "prologue": ["module load qe/7.2"]},
    "pbs": {"engine": "pbs", "workers": 2, "cores_per_job": 16, "memory": "32GB",
            "walltime": "01:30:00", "queue": "workq", "account": "proj7",
            "prologue": ["module load vasp/6.4"]},
    "lsf": {"engine": "lsf", "workers": 2, "cores_per_job": 8, "memory": "16GB",
            "walltime": "04:00:00", "queue": "normal", "account": "matsci"},
}


def normalised(script: str) -> str:
    script = script.replace(sys.executable, "PYTHON")
    return re.sub(r"tcp://[0-9.]+:\d+", "tcp://SCHEDULER", script)


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_golden_job_scripts(kind: str) -> None:
    config = build(DispatchConfig, CONFIGS[kind], path="dispatch")
    expected = (GOLDEN / f"{kind}.sh").read_text()
    assert normalised(job_script(config)) == expected


def test_scheduler_engine_needs_an_address() -> None:
    with pytest.raises(ConfigError, match=r"\[dispatch.scheduler_address\] is required"):
        build(DispatchConfig, {"engine": "scheduler"}, path="dispatch")


@pytest.mark.timeout(240)
def test_fake_slurm_end_to_end(tmp_path: Path, store, monkeypatch) -> None:
    """SLURMCluster submits pilot jobs through fake sbatch; srun starts the code inside."""
    slurm = tmp_path / "slurm"
    monkeypatch.setenv("FAKE_SLURM_DIR", str(slurm))
    config = DispatchConfig(engine="slurm", workers=1, interface="lo", walltime="00:10:00",
                            memory="2GB")
    calc = FakeCalculator(FakeCalculator.Params(script=("sigkill",)))
    profile = Profile(launcher="srun -n {ranks}", ranks=3)
    structures = [Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 1.0 + 0.1 * i]]) for i in range(3)]
    with make_engine(config) as engine:
        report = label_structures(structures, calc, profile, store, engine=engine,
                                  jobs_dir=tmp_path / "jobs")
        job_ids = [p.stem for p in slurm.glob("*.pid")]
        queue = subprocess.run(["squeue", "--me"], capture_output=True, text=True).stdout
        assert all(f"{i} RUNNING" in queue for i in job_ids)
    assert [o.status for o in report.outcomes] == [Status.STORED] * 3
    assert all(o.attempts == 2 for o in report.outcomes)
    outs = list((tmp_path / "jobs").glob("*/attempt_02/fake.out"))
    assert len(outs) == 3 and all('"ranks": "3"' in p.read_text() for p in outs)
    assert job_ids and "#SBATCH" in (slurm / f"{job_ids[0]}.sh").read_text()
    assert wait_until(lambda: (slurm / "cancelled").exists(), 30.0)
    assert set((slurm / "cancelled").read_text().split()) >= set(job_ids)
    pilots = [int((slurm / f"{i}.pid").read_text()) for i in job_ids]
    assert wait_until(lambda: not any(alive(p) for p in pilots), 30.0)
