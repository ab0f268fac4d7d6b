"""``alearn run --dry-run``: the exact command of each calculation and the pilot job script."""

from __future__ import annotations

from pathlib import Path

import pytest

from alearn.cli import main

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"


def test_dry_run_of_a_slurm_aims_campaign_prints_command_and_job_script(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--dry-run", str(CAMPAIGNS / "li-ec-aims.toml")]) == 0
    out = capsys.readouterr().out
    assert "[reference]" in out  # the resolved configuration comes first
    command = [line for line in out.splitlines() if "> stdout.txt 2> stderr.txt" in line]
    assert len(command) == 1 and command[0].startswith("srun -n ")
    assert "#SBATCH" in out and "dask_worker" in out
    assert "dask_worker tcp://SCHEDULER " in out  # no throw-away scheduler address leaks out


def test_dry_run_of_an_in_process_calculator_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--dry-run", str(CAMPAIGNS / "cu-emt.toml")]) == 0
    out = capsys.readouterr().out
    assert "'emt' runs inside the worker process" in out
    assert "#SBATCH" not in out
