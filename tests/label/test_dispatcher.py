"""The dispatcher on the in-process engine with the fake code: every injectable failure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from fakecalc import FakeCalculator
from proctools import alive, recorded_pids, wait_until

from alearn.config.dispatch import Profile
from alearn.label.dispatcher import Status, label_structures
from alearn.label.engines import InProcessEngine
from alearn.label.jobs import JobDir, job_hash, request_cancel
from alearn.label.protocol import FailureKind

pytestmark = pytest.mark.timeout(120)


def dimer(r: float = 1.2) -> Atoms:
    return Atoms("Ar2", positions=[[0, 0, 0], [0, 0, r]])


def run(tmp_path: Path, store, structures, profile: Profile | None = None, *, attempts: int = 3,
        timeout_s: float = 30.0, **params):
    calc = FakeCalculator(FakeCalculator.Params(**params))
    return label_structures(structures, calc, profile or Profile(), store,
                            engine=InProcessEngine(), jobs_dir=tmp_path / "jobs",
                            attempts=attempts, timeout_s=timeout_s)


def job(tmp_path: Path, report, index: int = 0) -> JobDir:
    return JobDir(tmp_path / "jobs" / report.outcomes[index].job_hash)


def test_success_stores_labels_with_lennard_jones_values(tmp_path, store) -> None:
    report = run(tmp_path, store, [dimer(1.2)])
    (outcome,) = report.outcomes
    assert outcome.status is Status.STORED and outcome.attempts == 1
    r = 1.2
    energy = 4 * (r ** -12 - r ** -6)
    row = store.get(outcome.row_id).labels
    assert row.energy == pytest.approx(energy, rel=1e-12)
    fz = 4 * (12 * r ** -13 - 6 * r ** -7)
    np.testing.assert_allclose(row.forces[1], [0, 0, fz], rtol=1e-12)
    assert (job(tmp_path, report).path / "result.json").exists()


@pytest.mark.parametrize("mode", ["exit", "sigkill", "truncate"])
def test_infrastructure_failure_is_retried_with_the_same_input(tmp_path, store, mode) -> None:
    report = run(tmp_path, store, [dimer()], script=(mode,))
    assert report.outcomes[0].status is Status.STORED
    records = job(tmp_path, report).records()
    assert [r.status for r in records] == ["failed", "ok"]
    assert records[0].kind is FailureKind.INFRASTRUCTURE
    inputs = [json.loads((job(tmp_path, report).attempt_path(n) / "fake.json").read_text())
              for n in (1, 2)]
    assert inputs[0] == inputs[1]


def test_nonzero_exit_reason_names_the_program_and_its_stderr(tmp_path, store) -> None:
    report = run(tmp_path, store, [dimer()], attempts=1, script=("exit",))
    (outcome,) = report.outcomes
    assert outcome.status is Status.FAILED and outcome.kind is FailureKind.INFRASTRUCTURE
    assert "exited with status 3" in outcome.reason and "boom" in outcome.reason


def test_hang_past_timeout_is_killed_with_its_children(tmp_path, store) -> None:
    report = run(tmp_path, store, [dimer()], attempts=2, timeout_s=1.0, script=("hang", "ok"))
    assert report.outcomes[0].status is Status.STORED
    first = job(tmp_path, report).record(1)
    assert first.kind is FailureKind.INFRASTRUCTURE and "timed out" in first.reason
    pids = recorded_pids(job(tmp_path, report).attempt_path(1))
    assert len(pids) == 2  # the code and the child it started
    assert wait_until(lambda: not any(alive(p) for p in pids), 5.0)


def test_physics_failure_goes_through_the_recovery_recipe(tmp_path, store) -> None:
    report = run(tmp_path, store, [dimer()], script=("scf", "scf"))
    assert report.outcomes[0].status is Status.STORED
    j = job(tmp_path, report)
    assert j.record(1).kind is FailureKind.PHYSICS
    mixing = [json.loads((j.attempt_path(n) / "fake.json").read_text())["params"]["mixing"]
              for n in (1, 2)]
    assert mixing == [0.7, 0.35]


def test_physics_failure_without_recovery_is_terminal_after_one_attempt(tmp_path, store) -> None:
    report = run(tmp_path, store, [dimer()], script=("scf",), recoverable=False)
    (outcome,) = report.outcomes
    assert outcome.status is Status.FAILED and outcome.kind is FailureKind.PHYSICS
    assert "no recovery" in outcome.reason
    assert job(tmp_path, report).attempt_numbers() == [1]


def test_nan_forces_are_invalid_recorded_and_never_stored(tmp_path, store) -> None:
    report = run(tmp_path, store, [dimer()], script=("nan", "ok"))
    (outcome,) = report.outcomes
    assert outcome.status is Status.FAILED and outcome.kind is FailureKind.INVALID
    assert "not finite" in outcome.reason
    assert store.count() == 0
    assert job(tmp_path, report).attempt_numbers() == [1]


def test_attempt_limit_holds_across_restarts(tmp_path, store) -> None:
    report = run(tmp_path, store, [dimer()], attempts=2, script=("exit", "exit", "ok"))
    assert report.outcomes[0].status is Status.FAILED
    assert "all 2 attempts used" in report.outcomes[0].reason
    again = run(tmp_path, store, [dimer()], attempts=2, script=("exit", "exit", "ok"))
    assert again.outcomes[0].status is Status.FAILED
    assert job(tmp_path, again).attempt_numbers() == [1, 2]


def test_interrupted_attempts_do_not_count_towards_the_limit(tmp_path, store) -> None:
    """An attempt whose controller or worker died (no outcome) is retried for free: with
    ``attempts = 1`` the calculation still gets its one real attempt."""
    calc = FakeCalculator(FakeCalculator.Params(script=("ok",)))
    target = JobDir(tmp_path / "jobs" / job_hash(dimer(), calc))
    target.new_attempt()  # a kill left attempt_01 without outcome.json, before it started
    number, _ = target.new_attempt()
    target.write_started(number, {"controller": "other:1:1", "host_pid": 5,
                                  "controller_pid": 1, "isolated": True})
    report = run(tmp_path, store, [dimer()], attempts=1, script=("ok",))
    assert report.outcomes[0].status is Status.STORED and report.outcomes[0].attempts == 1
    assert [r.status for r in target.records()] == ["interrupted", "interrupted", "ok"]


def test_failure_of_one_calculation_does_not_stop_the_others(tmp_path, store) -> None:
    structures = [dimer(1.1), dimer(1.2), dimer(1.3)]
    calc = FakeCalculator(FakeCalculator.Params(script=("nan",)))
    ok = FakeCalculator(FakeCalculator.Params())
    bad = label_structures(structures[:1], calc, Profile(), store, engine=InProcessEngine(),
                           jobs_dir=tmp_path / "jobs")
    good = label_structures(structures, ok, Profile(), store, engine=InProcessEngine(),
                            jobs_dir=tmp_path / "jobs")
    assert bad.outcomes[0].status is Status.FAILED
    assert [o.status for o in good.outcomes] == [Status.STORED] * 3


def test_finished_results_are_ingested_not_rerun(tmp_path, store) -> None:
    structures = [dimer(1.1), dimer(1.2)]
    first = run(tmp_path, store, structures)
    second = run(tmp_path, store, structures)
    assert [o.row_id for o in second.outcomes] == [o.row_id for o in first.outcomes]
    assert all(o.reused for o in second.outcomes)
    assert store.count() == 2
    for o in second.outcomes:
        assert JobDir(tmp_path / "jobs" / o.job_hash).attempt_numbers() == [1]


def test_identical_structures_share_one_calculation(tmp_path, store) -> None:
    report = run(tmp_path, store, [dimer(1.2), dimer(1.2), dimer(1.3)])
    hashes = [o.job_hash for o in report.outcomes]
    assert hashes[0] == hashes[1] != hashes[2]
    assert report.outcomes[0].row_id == report.outcomes[1].row_id
    assert store.count() == 2


def test_store_rejection_is_reported(tmp_path, store) -> None:
    report = run(tmp_path, store, [dimer(0.3)])
    assert report.outcomes[0].status is Status.REJECTED
    assert "minimum distance" in report.outcomes[0].reason


def test_launcher_template_runs_the_code_with_its_ranks(tmp_path, store) -> None:
    profile = Profile(launcher="mpirun -np {ranks}", ranks=4)
    report = run(tmp_path, store, [dimer()], profile)
    j = job(tmp_path, report)
    out = json.loads((j.attempt_path(1) / "fake.out").read_text().split("\nJOB DONE")[0])
    assert out["ranks"] == "4"
    assert (j.attempt_path(1) / "launcher_pids.txt").exists()


def test_cancel_file_stops_labelling_and_a_rerun_finishes(tmp_path, store) -> None:
    request_cancel(tmp_path / "jobs")
    report = run(tmp_path, store, [dimer(1.1), dimer(1.2)])
    assert [o.status for o in report.outcomes] == [Status.CANCELLED] * 2
    (tmp_path / "jobs" / "CANCEL").unlink()
    report = run(tmp_path, store, [dimer(1.1), dimer(1.2)])
    assert [o.status for o in report.outcomes] == [Status.STORED] * 2


def test_cancel_stops_a_running_calculation(tmp_path, store) -> None:
    import threading

    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("report", run(
        tmp_path, store, [dimer(1.2), dimer(1.3)], sleep_s=60.0)))
    thread.start()
    assert wait_until(lambda: list((tmp_path / "jobs").glob("*/attempt_01/pids.txt")), 30.0)
    request_cancel(tmp_path / "jobs")
    thread.join(30)
    assert not thread.is_alive()
    assert [o.status for o in box["report"].outcomes] == [Status.CANCELLED] * 2
    (attempt,) = (tmp_path / "jobs").glob("*/attempt_01")
    assert JobDir(attempt.parent).record(1).status == "cancelled"
    assert wait_until(lambda: not any(alive(p) for p in recorded_pids(attempt)), 5.0)


class FlakyEngine(InProcessEngine):
    """Loses the first ``lost`` tasks the way a dying Dask cluster does (an exception)."""

    def __init__(self, lost: int) -> None:
        self.lost = lost

    def submit(self, fn, *args, key):
        import concurrent.futures

        if self.lost > 0:
            self.lost -= 1
            future = concurrent.futures.Future()
            future.set_exception(RuntimeError("KilledWorker: worker died 3 times"))
            return future
        return super().submit(fn, *args, key=key)


def test_tasks_lost_by_the_engine_are_resubmitted_within_the_limit(tmp_path, store) -> None:
    calc = FakeCalculator(FakeCalculator.Params())
    report = label_structures([dimer()], calc, Profile(), store, engine=FlakyEngine(1),
                              jobs_dir=tmp_path / "jobs", attempts=2)
    assert report.outcomes[0].status is Status.STORED
    report = label_structures([dimer(1.7)], calc, Profile(), store, engine=FlakyEngine(5),
                              jobs_dir=tmp_path / "jobs", attempts=2)
    (outcome,) = report.outcomes
    assert outcome.status is Status.FAILED and outcome.kind is FailureKind.INFRASTRUCTURE
    assert "engine lost the task" in outcome.reason and "KilledWorker" in outcome.reason
