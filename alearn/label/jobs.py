"""Job directories: the durable record of every reference calculation.

Layout of one calculation (``jobs/<hash>/``)::

    jobs/<hash>/
        job.json             what is computed (calculator, version, science parameters)
        attempt_01/          a fresh directory per attempt (inputs, outputs, stdout.txt ...)
            started.json     who runs it: controller, host process, isolated or not
            outcome.json     how the attempt ended (absent: it is running, or its process died)
        attempt_02/ ...
        result.json          the labels; written atomically: the commit point
        failed.json          terminal failure (attempts exhausted, invalid result, no recovery)
        row.json             what the store made of the result (row id, or why it was refused)

An attempt ends ``ok``, ``failed`` (counts against ``attempts``), ``cancelled`` or
``interrupted`` (its controller or worker died: free), or ``crashed`` (the calculation's own
process died while its controller lived: counts against a separate crash limit).

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
from alearn.data.records import ARRAY_PREFIX, Labels
from alearn.files import write_json_atomic
from alearn.label.protocol import CalculationFailed, FailureKind

RESULT = "result.json"
FAILED = "failed.json"
OUTCOME = "outcome.json"
STARTED = "started.json"
ROW = "row.json"
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
    return hash_of_params(science_params(calculator.params))


def hash_of_params(params: dict[str, Any]) -> str:
    """:func:`params_hash` from the science parameters as ``job.json`` records them."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def atoms_to_json(atoms: Atoms) -> dict[str, Any]:
    """A compact, exact JSON form of a structure (numbers, positions, cell, pbc, charges,
    spins, and its ``alearn_*`` per-atom arrays)."""
    data = {"numbers": atoms.numbers.tolist(), "positions": atoms.positions.tolist(),
            "cell": np.asarray(atoms.cell).tolist(), "pbc": atoms.pbc.tolist(),
            "charges": atoms.get_initial_charges().tolist(),
            "magmoms": atoms.get_initial_magnetic_moments().tolist()}
    arrays = {k: np.asarray(v).tolist() for k, v in atoms.arrays.items() if k.startswith(ARRAY_PREFIX)}
    if arrays:
        data["arrays"] = arrays
    return data


def atoms_from_json(data: dict[str, Any]) -> Atoms:
    atoms = Atoms(numbers=data["numbers"], positions=data["positions"], cell=data["cell"],
                  pbc=data["pbc"], charges=data.get("charges"), magmoms=data.get("magmoms"))
    for name, values in data.get("arrays", {}).items():
        atoms.arrays[name] = np.asarray(values)
    return atoms


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


AttemptStatus = Literal["ok", "failed", "cancelled", "interrupted", "crashed", "running"]


@dataclass(frozen=True)
class AttemptRecord:
    """How one attempt ended, as recorded in its directory (``running``: no outcome yet — it
    runs, or its process died and nobody has settled it yet)."""

    number: int
    status: AttemptStatus
    kind: FailureKind | None = None
    reason: str = ""
    elapsed_s: float | None = None

    @property
    def counts(self) -> bool:
        """Whether the attempt uses up one of the calculation's ``attempts``."""
        return self.status in ("ok", "failed")

    @property
    def crashed(self) -> bool:
        """Whether the calculation killed the process it ran in (the separate crash limit)."""
        return self.status == "crashed"

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
        """Every attempt so far, in order."""
        return [self.record(n) for n in self.attempt_numbers()]

    def record(self, number: int) -> AttemptRecord:
        data = read_json(self.attempt_path(number) / OUTCOME)
        if data is None:
            return AttemptRecord(number, "running")
        kind = data.get("kind")
        return AttemptRecord(number, data["status"], FailureKind(kind) if kind else None,
                             data.get("reason", ""), data.get("elapsed_s"))

    def started(self, number: int) -> dict[str, Any] | None:
        """Who ran attempt ``number`` (``None``: it died before it started its calculation)."""
        return read_json(self.attempt_path(number) / STARTED)

    def write_started(self, number: int, owner: dict[str, Any]) -> None:
        # durable: how an unfinished attempt is judged after a crash depends on it
        write_json_atomic(self.attempt_path(number) / STARTED, owner)

    def write_outcome(self, number: int, status: AttemptStatus, *, elapsed_s: float,
                      failure: CalculationFailed | None = None, reason: str = "") -> None:
        data: dict[str, Any] = {"status": status, "elapsed_s": round(elapsed_s, 6)}
        if failure is not None:
            data.update(kind=failure.kind.value, reason=failure.reason)
        elif reason:
            data["reason"] = reason
        # not fsynced: a lost outcome.json leaves the attempt unfinished, settled again later
        write_json_atomic(self.attempt_path(number) / OUTCOME, data, durable=False)

    def write_job(self, identity: dict[str, Any], atoms: Atoms | None = None) -> None:
        """``job.json``: what the hash covers, and the exact input structure (with its
        ``alearn_*`` arrays), from which a lost store row is rebuilt."""
        if not (self.path / JOB).exists():
            self.path.mkdir(parents=True, exist_ok=True)
            record = {**identity, "input": atoms_to_json(atoms)} if atoms is not None else identity
            write_json_atomic(self.path / JOB, record)

    def job(self) -> dict[str, Any] | None:
        return read_json(self.path / JOB)

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

    def row(self) -> dict[str, Any] | None:
        """What the store made of the result: ``{"id", "iteration", "subset"}`` or
        ``{"refused": reason}`` (``None``: not recorded)."""
        return read_json(self.path / ROW)

    def write_row(self, data: dict[str, Any]) -> None:
        # a hint for rebuilding a lost store (not fsynced: the store is the durable copy)
        write_json_atomic(self.path / ROW, data, durable=False)


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
