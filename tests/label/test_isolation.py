"""A calculator never takes the controller down: in-process codes run isolated by default.

Every test runs the in-process engine, so the process running the test *is* the controller: a
crash that escaped isolation would end the test session.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ase.build import bulk
from proctools import alive, wait_until

from alearn.label.dispatcher import Status, label_structures
from alearn.label.engines import InProcessEngine
from alearn.label.jobs import JobDir
from alearn.label.protocol import FailureKind
from alearn.label.registry import make_calculator
from alearn.config.schema import build

pytestmark = pytest.mark.timeout(180)


def ase_calculator(path: str, **kwargs):
    from alearn.label.registry import calculator_params

    raw = {"kind": "ase", "calculator": path, "kwargs": kwargs}
    return make_calculator(build(calculator_params()["ase"], raw, path="reference"))


def faulty(**kwargs):
    return ase_calculator("faultase:FaultyEMT", **kwargs)


def cu(shift: float = 0.0):
    atoms = bulk("Cu", cubic=True)
    atoms.positions[0, 0] += shift
    return atoms


def label(tmp_path: Path, store, calc, structures, **options):
    return label_structures(structures, calc, calc.params.profile, store,
                            engine=InProcessEngine(), jobs_dir=tmp_path / "jobs", **options)


@pytest.mark.parametrize("mode", ["exit", "segv"])
def test_a_crash_once_is_recorded_and_the_next_attempt_succeeds(tmp_path, store, mode) -> None:
    calc = faulty(mode=mode, marker_dir=str(tmp_path / "markers"))
    (outcome,) = label(tmp_path, store, calc, [cu()]).outcomes
    assert outcome.status is Status.STORED
    records = JobDir(tmp_path / "jobs" / outcome.job_hash).records()
    assert [r.status for r in records] == ["crashed", "ok"]
    assert "signal 11 (SIGSEGV)" in records[0].reason if mode == "segv" else \
        "exited with status 1 without a result" in records[0].reason


def test_a_calculation_that_keeps_killing_its_process_is_capped(tmp_path, store) -> None:
    calc = faulty(mode="exit_always")
    (outcome,) = label(tmp_path, store, calc, [cu()], attempts=5, max_crashes=2).outcomes
    assert outcome.status is Status.FAILED and outcome.kind is FailureKind.INFRASTRUCTURE
    assert "crashed the process it ran in 2 times" in outcome.reason
    assert [r.status for r in JobDir(tmp_path / "jobs" / outcome.job_hash).records()] == \
        ["crashed", "crashed"]


def test_a_hang_is_killed_at_the_timeout_and_leaves_no_process(tmp_path, store) -> None:
    calc = faulty(mode="hang", marker_dir=str(tmp_path / "markers"), pid_dir=str(tmp_path / "pids"))
    (outcome,) = label(tmp_path, store, calc, [cu()], timeout_s=2.0).outcomes
    assert outcome.status is Status.STORED
    first = JobDir(tmp_path / "jobs" / outcome.job_hash).records()[0]
    assert first.status == "failed" and "timed out after 2 s" in first.reason
    pids = [int(p.name) for p in (tmp_path / "pids").iterdir()]
    assert len(pids) == 2 and os.getpid() not in pids
    assert wait_until(lambda: not any(alive(p) for p in pids), 10.0)


def test_exceptions_inside_the_child_keep_their_kind(tmp_path, store) -> None:
    calc = faulty(mode="raise", marker_dir=str(tmp_path / "markers"))
    (outcome,) = label(tmp_path, store, calc, [cu()]).outcomes
    first = JobDir(tmp_path / "jobs" / outcome.job_hash).records()[0]
    assert first.status == "failed" and first.kind is FailureKind.INFRASTRUCTURE
    assert "RuntimeError: injected failure" in first.reason
    (bad,) = label(tmp_path, store, ase_calculator("faultase:Nothing"), [cu(0.1)]).outcomes
    assert bad.status is Status.FAILED and bad.kind is FailureKind.INVALID and bad.attempts == 1


def test_absurd_labels_are_invalid_and_never_stored(tmp_path, store) -> None:
    """A label 10⁶ eV off is refused (by the gate's data-free bound on |E|, before any
    comparison with the same calculator's earlier results)."""
    from faultase import FaultyEMT

    options = {"rate": 0.5, "faults": ["absurd"], "seed": 3}
    judge = FaultyEMT(**options)
    structures = [cu(0.01 * k) for k in range(40)]
    good = [a for a in structures if not judge._fault(judge._key(a))][:4]
    bad = [a for a in structures if judge._fault(judge._key(a))][:1]
    label(tmp_path, store, faulty(**options), good)
    (outcome,) = label(tmp_path, store, faulty(**options), bad).outcomes
    assert outcome.status is Status.FAILED and outcome.kind is FailureKind.INVALID
    assert "absolute_energy_scale" in outcome.reason and store.count() == 4


CONTROLLER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from ase.build import bulk
    from alearn.config.schema import build
    from alearn.data.store import Store
    from alearn.label.dispatcher import label_structures
    from alearn.label.engines import InProcessEngine
    from alearn.label.registry import calculator_params, make_calculator

    root = Path(sys.argv[1])
    raw = {"kind": "ase", "calculator": "faultase:FaultyEMT",
           "kwargs": {"mode": sys.argv[2], "pid_dir": str(root / "pids"),
                      "marker_dir": str(root / "markers")},
           "profile": {"isolate": sys.argv[3] == "isolated"}}
    calc = make_calculator(build(calculator_params()["ase"], raw, path="reference"))
    with Store.open(root / "store.db") as store:
        report = label_structures([bulk("Cu", cubic=True)], calc, calc.params.profile, store,
                                  engine=InProcessEngine(), jobs_dir=root / "jobs", attempts=1,
                                  max_crashes=1)
    print(report.outcomes[0].status.value, report.outcomes[0].attempts)
""")


def run_controller(tmp_path: Path, mode: str, isolation: str) -> subprocess.CompletedProcess:
    script = tmp_path / "controller.py"
    script.write_text(CONTROLLER)
    return subprocess.run([sys.executable, str(script), str(tmp_path), mode, isolation],
                          capture_output=True, text=True, timeout=120)


def test_a_kill_of_the_controller_mid_calculation_is_free_and_leaves_no_orphan(tmp_path) -> None:
    """SIGKILL the controller while its isolated calculation hangs: the calculation dies with
    it, and the next run (one attempt, one crash allowed) succeeds: the kill cost nothing."""
    script = tmp_path / "controller.py"
    script.write_text(CONTROLLER)
    first = subprocess.Popen([sys.executable, str(script), str(tmp_path), "slow", "isolated"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: (tmp_path / "pids").is_dir() and any((tmp_path / "pids").iterdir()), 60.0)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    pids = [int(p.name) for p in (tmp_path / "pids").iterdir()]
    assert wait_until(lambda: not any(alive(p) for p in pids), 10.0), "orphan calculation"
    second = run_controller(tmp_path, "slow", "isolated")
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.split() == ["stored", "1"]
    (job,) = [JobDir(p) for p in (tmp_path / "jobs").iterdir()]
    assert [r.status for r in job.records()] == ["interrupted", "ok"]


def test_without_isolation_a_calculation_that_kills_the_controller_is_capped(tmp_path) -> None:
    """``isolate = false`` on the in-process engine: ``os._exit`` ends the controller (rc 1);
    the rerun cannot tell that from an outside kill, counts it as a crash and stops at the cap."""
    first = run_controller(tmp_path, "exit_always", "inline")
    assert first.returncode == 1
    second = run_controller(tmp_path, "exit_always", "inline")
    assert second.returncode == 0 and second.stdout.split()[0] == "failed"
    (job,) = [JobDir(p) for p in (tmp_path / "jobs").iterdir()]
    assert [r.status for r in job.records()] == ["crashed"]
    assert "controller it ran inside died" in job.records()[0].reason
