"""Job directories: the hash that names them, atomic commit files, attempt bookkeeping."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ase.build import molecule

from alearn.config.dispatch import Profile
from alearn.label.jobs import JobDir, job_hash, read_json, write_json_atomic
from alearn_calculators.analytic import EmtCalculator, LennardJonesCalculator


def test_job_hash_is_stable_and_covers_structure_params_and_code() -> None:
    water = molecule("H2O")
    emt = EmtCalculator(EmtCalculator.Params())
    assert job_hash(water, emt) == job_hash(water.copy(), emt)
    moved = water.copy()
    moved.positions[0, 0] += 1e-4
    assert job_hash(moved, emt) != job_hash(water, emt)
    lj = LennardJonesCalculator(LennardJonesCalculator.Params())
    lj2 = LennardJonesCalculator(LennardJonesCalculator.Params(sigma_A=1.1))
    assert len({job_hash(water, emt), job_hash(water, lj), job_hash(water, lj2)}) == 3


def test_job_hash_ignores_the_machine_profile() -> None:
    water = molecule("H2O")
    here = LennardJonesCalculator(LennardJonesCalculator.Params())
    there = LennardJonesCalculator(LennardJonesCalculator.Params(
        profile=Profile(launcher="srun -n {ranks}", ranks=64, isolate=True)))
    assert job_hash(water, here) == job_hash(water, there)


def test_job_hash_covers_the_code_version() -> None:
    water = molecule("H2O")

    class Newer(EmtCalculator):
        @property
        def version(self) -> str:
            return "ase-emt 99"

    assert job_hash(water, Newer(EmtCalculator.Params())) != \
        job_hash(water, EmtCalculator(EmtCalculator.Params()))


def test_atomic_json_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "result.json", {"energy": 1.5})
    write_json_atomic(tmp_path / "result.json", {"energy": 2.5})
    assert read_json(tmp_path / "result.json") == {"energy": 2.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]
    (tmp_path / "torn.json").write_text('{"energy": 1.')
    assert read_json(tmp_path / "torn.json") is None


def test_attempts_are_numbered_and_unfinished_ones_are_settled(tmp_path: Path) -> None:
    from alearn.label.runner import settle_unfinished

    job = JobDir(tmp_path / "abc")
    assert job.new_attempt()[0] == 1
    number, path = job.new_attempt()
    assert (number, path.name) == (2, "attempt_02")
    job.write_outcome(2, "failed", elapsed_s=0.1, failure=None)
    records = job.records()
    assert [r.status for r in records] == ["running", "failed"]
    assert records[1].counts and not records[0].counts
    settle_unfinished(job, "host:1:1")
    assert job.record(1).status == "interrupted" and not job.record(1).counts
    job.write_outcome(1, "cancelled", elapsed_s=0.0)
    assert not job.record(1).counts
    assert json.loads((path / "outcome.json").read_text())["status"] == "failed"


def test_unfinished_attempts_are_told_apart_by_who_ran_them(tmp_path: Path) -> None:
    """Isolated calculations and those of a controller that has since died were interrupted
    (free); a calculation inside a worker that died while the controller lived, or inside the
    controller itself, may have killed it (a crash, counted apart)."""
    from alearn.label.runner import settle_unfinished

    now, before = "host:100:7", "host:90:3"
    cases = [({"controller": now, "host_pid": 200, "controller_pid": 100, "isolated": True},
              "interrupted"),
             ({"controller": before, "host_pid": 200, "controller_pid": 90, "isolated": False},
              "interrupted"),
             ({"controller": now, "host_pid": 200, "controller_pid": 100, "isolated": False},
              "crashed"),
             ({"controller": before, "host_pid": 90, "controller_pid": 90, "isolated": False},
              "crashed")]
    job = JobDir(tmp_path / "abc")
    for owner, _ in cases:
        number, _ = job.new_attempt()
        job.write_started(number, owner)
    settle_unfinished(job, now)
    assert [r.status for r in job.records()] == [expected for _, expected in cases]
    assert [r.crashed for r in job.records()] == [False, False, True, True]


def test_params_of_every_builtin_plugin_are_frozen_dataclasses() -> None:
    from alearn.label.registry import calculator_params

    params = calculator_params()
    for kind in ("emt", "lj", "xtb", "pyscf", "espresso", "ase"):
        cls = params[kind]
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen
        assert "profile" in {f.name for f in dataclasses.fields(cls)}
