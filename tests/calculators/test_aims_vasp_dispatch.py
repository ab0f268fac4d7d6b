"""FHI-aims and VASP plugins through the dispatcher (``label_structures``) into the real store.

The dispatcher runs the fake codes exactly as on a cluster node: argv from the profile, stdout
into ``stdout.txt``, attempts in ``jobs/<hash>/attempt_NN``; physics failures go through the
plugins' recovery recipes (replayed from disk), and a second call reruns nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.calculators.emt import EMT

from alearn.config.dispatch import Profile
from alearn.data.store import Store
from alearn.label.dispatcher import Status, label_structures
from alearn.label.engines import InProcessEngine
from alearn.label.jobs import JobDir
from alearn.label.protocol import FailureKind
from alearn_calculators.aims import AimsCalculator, AimsParams
from alearn_calculators.vasp import VaspCalculator, VaspParams

FAKES = Path(__file__).resolve().parents[1] / "fakes"
pytestmark = pytest.mark.timeout(300)


def _load(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for name in ("FAKE_AIMS_MODE", "FAKE_AIMS_SCF", "FAKE_VASP_MODE", "FAKE_VASP_SCF"):
        monkeypatch.delenv(name, raising=False)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_DFT_LOG", str(log))
    return log


def structures() -> list[Atoms]:
    frames = []
    for seed in range(1):
        atoms = bulk("Cu", cubic=True)
        atoms.symbols[1] = "O"
        atoms.rattle(0.05, seed=seed)
        frames.append(atoms)
    return frames


def label(calc, profile: Profile, frames: list[Atoms], tmp_path: Path, attempts: int = 3):
    tmp_path.mkdir(parents=True, exist_ok=True)
    with Store.open(tmp_path / "store.db") as store:
        report = label_structures(frames, calc, profile, store, engine=InProcessEngine(),
                                  jobs_dir=tmp_path / "jobs", attempts=attempts, timeout_s=120.0)
        rows = {row.id: row for row in store.rows()}
    return report, rows


def check_rows_against_emt(report, rows, frames: list[Atoms]) -> None:
    for outcome, atoms in zip(report.outcomes, frames):
        assert outcome.status is Status.STORED, outcome.reason
        row = rows[outcome.row_id]
        reference = atoms.copy()
        reference.calc = EMT()
        assert row.labels.energy == pytest.approx(reference.get_potential_energy(), abs=1e-7)
        np.testing.assert_allclose(row.labels.forces, reference.get_forces(), atol=1e-7)
        np.testing.assert_allclose(row.labels.stress, reference.get_stress(), atol=1e-7)


def test_aims_through_the_dispatcher_with_recovery_and_no_reruns(env: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    species = _load("test_aims").write_species(tmp_path / "species")
    monkeypatch.setenv("FAKE_AIMS_SCF", "150")  # first attempt (sc_iter_limit 100) cannot converge
    calc = AimsCalculator(AimsParams(sc_iter_limit=100, k_grid=(2, 2, 2)))
    profile = Profile(command=str(FAKES / "aims.x"), species_dir=species)
    frames = structures()
    report, rows = label(calc, profile, frames, tmp_path)
    check_rows_against_emt(report, rows, frames)
    records = JobDir(tmp_path / "jobs" / report.outcomes[0].job_hash).records()
    assert [r.status for r in records] == ["failed", "ok"] and records[0].kind is FailureKind.PHYSICS
    attempt_2 = JobDir(tmp_path / "jobs" / report.outcomes[0].job_hash).attempt_path(2)
    assert "sc_iter_limit          200" in (attempt_2 / "control.in").read_text()
    calls = env.read_text().count("aims ")
    again, _ = label(calc, profile, frames, tmp_path)
    assert all(o.status is Status.STORED for o in again.outcomes)
    assert env.read_text().count("aims ") == calls  # nothing ran a second time


def test_vasp_through_the_dispatcher_and_a_terminal_physics_failure(env: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pseudo = _load("test_vasp").write_potcars(tmp_path / "potpaw")
    profile = Profile(command=str(FAKES / "vasp_std"), pseudo_dir=pseudo)
    frames = structures()
    report, rows = label(VaspCalculator(VaspParams(kpoints=(2, 2, 2))), profile, frames, tmp_path)
    check_rows_against_emt(report, rows, frames)
    monkeypatch.setenv("FAKE_VASP_MODE", "unconverged")  # nothing helps: recipes run out
    water = molecule("H2O")
    water.center(vacuum=5.0)
    failed, _ = label(VaspCalculator(VaspParams(recovery_steps=1)), profile, [water],
                      tmp_path / "failing", attempts=5)
    (outcome,) = failed.outcomes
    assert outcome.status is Status.FAILED and outcome.kind is FailureKind.PHYSICS
    assert "no recovery left" in outcome.reason and outcome.attempts == 2
