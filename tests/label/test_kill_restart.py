"""SIGKILL the labelling process mid-run, run it again: nothing lost, nothing repeated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from proctools import alive, recorded_pids, wait_until

from alearn.data.store import Store
from alearn.label.jobs import JobDir

pytestmark = pytest.mark.timeout(600)

N = 6

SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from ase import Atoms
    from alearn.config.dispatch import DispatchConfig, Profile
    from alearn.label.dispatcher import label_structures
    from alearn.label.engines import make_engine
    from fakecalc import FakeCalculator
    from alearn.data.store import Store

    def main():
        root = Path(sys.argv[1])
        calc = FakeCalculator(FakeCalculator.Params(sleep_s=0.2))
        structures = [Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 1.0 + 0.05 * i]])
                      for i in range({n})]
        engine_kind = sys.argv[2]
        with make_engine(DispatchConfig(engine=engine_kind, workers=2)) as engine, \
                Store.open(root / "store.db") as store:
            client = getattr(engine, "client", None)
            pids = list(client.run(os.getpid).values()) if client is not None else []
            (root / "workers.json").write_text(json.dumps(pids))
            report = label_structures(structures, calc, Profile(), store,
                                      engine=engine, jobs_dir=root / "jobs", max_concurrent=2)
        print(json.dumps([o.status.value for o in report.outcomes]))

    if __name__ == "__main__":
        main()
""").format(n=N)


def results(root: Path) -> set[str]:
    return {p.parent.name for p in (root / "jobs").glob("*/result.json")}


@pytest.mark.parametrize("engine", ["inprocess", pytest.param("local", marks=pytest.mark.slow)])
def test_sigkill_of_the_labelling_process_and_rerun(tmp_path: Path, engine: str) -> None:
    """With ``local`` the Dask workers die with the controller too (slow: two cluster starts)."""
    script = tmp_path / "label_run.py"
    script.write_text(SCRIPT)
    first = subprocess.Popen([sys.executable, str(script), str(tmp_path), engine],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: len(results(tmp_path)) >= 2, 240.0)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finished_before = results(tmp_path)
    assert 2 <= len(finished_before) < N
    workers = json.loads((tmp_path / "workers.json").read_text())
    pids = workers + recorded_pids(tmp_path / "jobs")
    assert wait_until(lambda: not any(alive(p) for p in pids), 30.0), "orphan processes"

    second = subprocess.run([sys.executable, str(script), str(tmp_path), engine],
                            capture_output=True,
                            text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert json.loads(second.stdout.strip().splitlines()[-1]) == ["stored"] * N
    for name in finished_before:
        assert JobDir(tmp_path / "jobs" / name).attempt_numbers() == [1]
    job_dirs = [p for p in (tmp_path / "jobs").iterdir() if p.is_dir()]
    assert len(job_dirs) == N
    assert all((p / "result.json").exists() for p in job_dirs)  # every job terminal
    with Store.open(tmp_path / "store.db") as store:
        hashes = [row.provenance.job_hash for row in store.rows()]
    assert len(hashes) == len(set(hashes)) == N
    workers = json.loads((tmp_path / "workers.json").read_text())
    assert wait_until(lambda: not any(alive(p) for p in workers + recorded_pids(tmp_path / "jobs")),
                      30.0)
