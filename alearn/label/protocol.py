"""The reference-calculator seam: *what* is computed, separate from *where* it runs.

A reference calculator is a template: ``write_input`` puts everything a run needs into a job
attempt directory, ``command`` gives the argv that runs it under a machine :class:`Profile`
(``None`` for in-process calculators, which compute inside ``run_in_process``), and
``read_results`` parses the outputs (with ASE's readers) into :class:`~alearn.data.records.Labels`
or raises :class:`CalculationFailed`.  ``recover`` is the calculator's explicit recovery recipe
for physics failures: it returns a modified calculator for the next attempt, or ``None`` when it
has nothing left to try.

Plugins register a class under the entry-point group ``alearn.calculators``.  The class has a
``Params`` frozen dataclass (its TOML schema, built with :func:`alearn.config.schema.option`,
with a ``kind`` field) and is constructed as ``cls(params)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from ase import Atoms

from alearn.data.records import Labels


class FailureKind(str, enum.Enum):
    """Why a calculation failed, which decides what happens next."""

    #: crash, kill, node loss, timeout, truncated or missing output: retry the same input
    INFRASTRUCTURE = "infrastructure"
    #: the method did not converge (SCF): record; retry only through ``recover``
    PHYSICS = "physics"
    #: the result exists but is unusable (NaN, exploded geometry): record, never retry
    INVALID = "invalid"


class CalculationFailed(Exception):
    """A reference calculation that produced no usable labels, with its reason."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        self.kind = FailureKind(kind)
        self.reason = reason
        super().__init__(f"{self.kind.value}: {reason}")


@dataclass(frozen=True)
class Profile:
    """Where and how a file-based code runs on a machine (not the science).

    ``launcher`` is a template such as ``"srun -n {ranks}"`` or ``"mpirun -np {ranks}"``
    (empty: run the executable directly).  ``command`` is the code's executable and arguments.
    """

    command: str = ""
    launcher: str = ""
    ranks: int = 1
    nodes: int = 1
    threads_per_rank: int = 1
    walltime_s: float | None = None
    env: tuple[tuple[str, str], ...] = ()
    modules: tuple[str, ...] = ()
    species_dir: Path | None = None
    pseudo_dir: Path | None = None


@runtime_checkable
class ReferenceCalculator(Protocol):
    """What every reference plugin implements (see module docstring)."""

    name: ClassVar[str]
    params: Any

    @property
    def version(self) -> str:
        """The code's version, part of the job hash."""

    def write_input(self, atoms: Atoms, workdir: Path, profile: Profile) -> None:
        """Write all input files for one attempt into ``workdir``."""

    def command(self, profile: Profile) -> list[str] | None:
        """The argv to run in ``workdir``; ``None`` for an in-process calculator."""

    def run_in_process(self, workdir: Path) -> None:
        """Compute in this process from the inputs in ``workdir`` (in-process calculators)."""

    def read_results(self, workdir: Path) -> Labels:
        """Parse the outputs of ``workdir``; raise :class:`CalculationFailed` when unusable."""

    def recover(self, failure: CalculationFailed, attempt: int) -> "ReferenceCalculator | None":
        """The recovery recipe for a physics failure, or ``None`` when nothing is left to try."""
