"""The reference-calculator seam: *what* is computed, separate from *where* it runs.

A reference calculator is a template.  For one attempt of one calculation the dispatcher

1. creates a fresh attempt directory ``workdir`` (``jobs/<hash>/attempt_NN/``),
2. calls ``write_input(atoms, workdir, profile)``: everything the run needs goes into files there,
3. runs it: ``command(profile)`` gives the argv (launcher included, see
   :meth:`~alearn.config.dispatch.Profile.argv`), run with ``cwd=workdir``, stdin from
   ``/dev/null``, stdout into :data:`STDOUT` and stderr into :data:`STDERR` of ``workdir``, in its
   own session, killed with its whole process group on timeout, cancellation or worker death;
   ``command`` returns ``None`` for in-process calculators, whose ``run_in_process(workdir)`` is
   called instead (in the worker, or in a child process when ``profile.isolate`` is set),
4. calls ``read_results(workdir)``, which parses the outputs (with ASE's readers) into
   :class:`~alearn.data.records.Labels` or raises :class:`CalculationFailed`.

A non-zero exit status, a kill or a timeout is an *infrastructure* failure decided by the
dispatcher before ``read_results`` is called.  ``read_results`` distinguishes the rest:
missing or truncated output → :attr:`FailureKind.INFRASTRUCTURE` (the same input is run again);
SCF not converged → :attr:`FailureKind.PHYSICS` (recorded; retried only through ``recover``).
The dispatcher itself turns non-finite or wrongly shaped labels into :attr:`FailureKind.INVALID`
(recorded, never stored, never retried).

``recover(failure, attempt)`` is the calculator's explicit recovery recipe for a physics failure:
it returns a modified calculator (e.g. more SCF steps, stronger damping, smearing) for attempt
``attempt + 1``, or ``None`` when it has nothing left to try.  It must be a pure function of
its arguments: after a restart the dispatcher replays it from the failures recorded on disk.

Plugins register a class under the entry-point group ``alearn.calculators``::

    [project.entry-points."alearn.calculators"]
    mycode = "my_package.mycode:MyCodeCalculator"

The class has a class attribute ``name``, a nested ``Params`` frozen dataclass deriving from
:class:`~alearn.config.dispatch.ReferenceParams` (its TOML schema, fields declared with
:func:`alearn.config.schema.option`, with a ``kind: Literal["mycode"]`` field), and is
constructed as ``cls(params)``.  Instances must be picklable (they travel to Dask workers).
``version`` names the code and its version; it is part of the job hash.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from ase import Atoms

from alearn.config.dispatch import Profile
from alearn.data.records import Labels

#: file in the attempt directory that receives the code's standard output
STDOUT = "stdout.txt"
#: file in the attempt directory that receives the code's standard error
STDERR = "stderr.txt"


class FailureKind(str, enum.Enum):
    """Why a calculation failed, which decides what happens next."""

    #: crash, kill, node loss, timeout, truncated or missing output: retry the same input
    INFRASTRUCTURE = "infrastructure"
    #: the method did not converge (SCF): record; retry only through ``recover``
    PHYSICS = "physics"
    #: the result exists but is unusable (NaN, wrong shapes): record, never retry
    INVALID = "invalid"


class CalculationFailed(Exception):
    """A reference calculation that produced no usable labels, with its reason."""

    def __init__(self, kind: FailureKind | str, reason: str) -> None:
        self.kind = FailureKind(kind)
        self.reason = reason
        super().__init__(f"{self.kind.value}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (CalculationFailed, (self.kind, self.reason))


@runtime_checkable
class ReferenceCalculator(Protocol):
    """What every reference plugin implements (see module docstring)."""

    name: ClassVar[str]
    params: Any

    @property
    def version(self) -> str:
        """The code and its version, e.g. ``'tblite 0.4.0'``; part of the job hash."""

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


__all__ = ["STDERR", "STDOUT", "CalculationFailed", "FailureKind", "Profile",
           "ReferenceCalculator"]
