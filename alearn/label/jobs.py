"""Job directories: the durable record of every reference calculation.

Layout of one calculation (``jobs/<hash>/``)::

    jobs/<hash>/
        job.json             what is computed (calculator, version, science parameters)
        attempt_01/          a fresh directory per attempt (inputs, outputs, stdout.txt ...)
            outcome.json     how the attempt ended (absent: the attempt was interrupted)
        attempt_02/ ...
        result.json          the labels; written atomically: the commit point
        failed.json          terminal failure (attempts exhausted, invalid result, no recovery)

The hash covers the structure, the science parameters (not the machine profile) and the
calculator's name and version, so the same calculation always lands in the same directory and a
finished one is never run again.  Every JSON file is written atomically (temporary file, fsync,
rename, fsync of the folder).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from ase import Atoms

from alearn.config.dispatch import science_params
from alearn.data.records import Labels
from alearn.files import write_json_atomic
from alearn.label.protocol import CalculationFailed, FailureKind

RESULT = "result.json"
FAILED = "failed.json"
OUTCOME = "outcome.json"
JOB = "job.json"
#: the file whose presence asks every running and pending calculation under a jobs folder to stop
CANCEL = "CANCEL"
_ATTEMPT = re.compile(r"^attempt_(\d{2,})$")


def read_json(path: Path) -> Any | None:
    """The JSON content of ``path``, or ``None`` when it is absent or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def structure_digest(atoms: Atoms) -> dict[str, Any]:
    """The parts of a structure that define a calculation (positions rounded to 1e-8 Å)."""
    return {
        "numbers": [int(z) for z in atoms.numbers],
        "positions": np.round(atoms.positions, 8).tolist(),
        "cell": np.round(np.asarray(atoms.cell), 8).tolist(),
        "pbc": [bool(p) for p in atoms.pbc],
        "charges": np.round(atoms.get_initial_charges(), 8).tolist(),
        "magmoms": np.round(atoms.get_initial_magnetic_moments(), 8).tolist(),
    }


def params_hash(calculator: Any) -> str:
    """Hash of the calculator's science parameters (``Provenance.params_hash``)."""
    text = json.dumps(science_params(calculator.params), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def job_identity(atoms: Atoms, calculator: Any) -> dict[str, Any]:
    """Everything the job hash covers, as JSON-ready data."""
    return {"structure": structure_digest(atoms), "calculator": calculator.name,
            "version": calculator.version, "params": science_params(calculator.params)}


def job_hash(atoms: Atoms, calculator: Any) -> str:
    """The name of the job directory of ``atoms`` computed by ``calculator`` (24 hex digits)."""
    text = json.dumps(job_identity(atoms, calculator), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def labels_to_json(labels: Labels) -> dict[str, Any]:
    data: dict[str, Any] = {"energy": float(labels.energy)}
    if labels.forces is not None:
        data["forces"] = np.asarray(labels.forces, dtype=float).tolist()
    if labels.stress is not None:
        data["stress"] = np.asarray(labels.stress, dtype=float).tolist()
    data["extra"] = {k: v for k, v in labels.extra.items() if _jsonable(v)}
    return data


def labels_from_json(data: dict[str, Any]) -> Labels:
    forces = data.get("forces")
    stress = data.get("stress")
    return Labels(energy=float(data["energy"]),
                  forces=None if forces is None else np.asarray(forces, dtype=float),
                  stress=None if stress is None else np.asarray(stress, dtype=float),
                  extra=dict(data.get("extra", {})))


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


AttemptStatus = Literal["ok", "failed", "cancelled", "interrupted"]


@dataclass(frozen=True)
class AttemptRecord:
    """How one attempt ended, as recorded in its directory."""

    number: int
    status: AttemptStatus
    kind: FailureKind | None = None
    reason: str = ""
    elapsed_s: float | None = None

    @property
    def counts(self) -> bool:
        """Whether the attempt uses up one of the calculation's attempts (cancelled ones do not)."""
        return self.status != "cancelled"

    def failure(self) -> CalculationFailed | None:
        if self.kind is None:
            return None
        return CalculationFailed(self.kind, self.reason)


@dataclass(frozen=True)
class JobDir:
    """One calculation's directory (see module docstring)."""

    path: Path

    @property
    def hash(self) -> str:
        return self.path.name

    def attempt_numbers(self) -> list[int]:
        if not self.path.is_dir():
            return []
        found = (_ATTEMPT.match(p.name) for p in self.path.iterdir() if p.is_dir())
        return sorted(int(m.group(1)) for m in found if m)

    def attempt_path(self, number: int) -> Path:
        return self.path / f"attempt_{number:02d}"

    def new_attempt(self) -> tuple[int, Path]:
        """Create the next ``attempt_NN/`` (exclusively, so two runners never share one)."""
        self.path.mkdir(parents=True, exist_ok=True)
        number = max(self.attempt_numbers(), default=0) + 1
        while True:
            path = self.attempt_path(number)
            try:
                path.mkdir()
                return number, path
            except FileExistsError:
                number += 1

    def records(self) -> list[AttemptRecord]:
        """Every attempt so far, in order; one without ``outcome.json`` was interrupted."""
        return [self.record(n) for n in self.attempt_numbers()]

    def record(self, number: int) -> AttemptRecord:
        data = read_json(self.attempt_path(number) / OUTCOME)
        if data is None:
            return AttemptRecord(number, "interrupted", FailureKind.INFRASTRUCTURE,
                                 "the attempt was interrupted (its worker or the labelling "
                                 "process died)")
        kind = data.get("kind")
        return AttemptRecord(number, data["status"], FailureKind(kind) if kind else None,
                             data.get("reason", ""), data.get("elapsed_s"))

    def write_outcome(self, number: int, status: AttemptStatus, *, elapsed_s: float,
                      failure: CalculationFailed | None = None) -> None:
        data = {"status": status, "elapsed_s": round(elapsed_s, 6)}
        if failure is not None:
            data.update(kind=failure.kind.value, reason=failure.reason)
        # not fsynced: losing outcome.json only makes the attempt look interrupted, still counted
        write_json_atomic(self.attempt_path(number) / OUTCOME, data, durable=False)

    def write_job(self, identity: dict[str, Any]) -> None:
        if not (self.path / JOB).exists():
            self.path.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.path / JOB, identity, durable=False)

    def result(self) -> dict[str, Any] | None:
        return read_json(self.path / RESULT)

    def write_result(self, data: dict[str, Any]) -> None:
        write_json_atomic(self.path / RESULT, data)

    def failed(self) -> dict[str, Any] | None:
        return read_json(self.path / FAILED)

    def write_failed(self, failure: CalculationFailed, attempts: int) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.path / FAILED, {"kind": failure.kind.value,
                                               "reason": failure.reason, "attempts": attempts})


def cancel_requested(jobs_dir: Path) -> bool:
    """Whether someone asked the calculations under ``jobs_dir`` to stop."""
    return (Path(jobs_dir) / CANCEL).exists()


def request_cancel(jobs_dir: Path) -> Path:
    """Ask every running and pending calculation under ``jobs_dir`` to stop (a file, polled)."""
    path = Path(jobs_dir) / CANCEL
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("cancel requested\n", encoding="utf-8")
    return path


def clear_cancel(jobs_dir: Path) -> None:
    """Remove a cancel request so a new labelling run can proceed."""
    (Path(jobs_dir) / CANCEL).unlink(missing_ok=True)
