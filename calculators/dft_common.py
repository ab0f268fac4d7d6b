"""Plumbing shared by the file-based DFT plugins (FHI-aims, VASP).

Nothing here knows a code's input format: :class:`FileCalculator`, the base class of the
plugins (version label, command, dry run, the recovery chain, the pilot-job wall-time check and
the attempt record around writing the inputs), k-point grids from a density, the remaining
wall time of a pilot job, reading possibly gzipped outputs, the attempt record, and the
output-file policy (compress, delete large files).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from ase import Atoms

from alearn.config.dispatch import Profile
from alearn.data.records import Labels
from alearn.label.dryrun import shell_lines
from alearn.label.protocol import CalculationFailed, FailureKind

#: the record of what an attempt ran with (recovery step and the changes it made)
ATTEMPT_RECORD = "alearn_attempt.json"
#: environment variable a pilot job script sets to its end time (seconds since the epoch)
DEADLINE_ENV = "ALEARN_PILOT_DEADLINE"
#: Slurm (>= 23.02) exports the job's end time under this name
SLURM_END_ENV = "SLURM_JOB_END_TIME"
#: seconds past the pilot's end after which a still-running worker gives up the calculation
PILOT_GRACE_S = 60.0


#: a recovery recipe: the parameters of the next attempt and what changed, in words
Recipe = Callable[[Any], tuple[Any, str]]


class FileCalculator:
    """Base of the file-based DFT plugins: a subclass names the code (``name``, ``Params``,
    ``default_command``, ``code`` for the version label, ``program`` for messages), its
    s.c.f. ``recipes``, and writes and reads its files (:meth:`write_files`,
    :meth:`read_results`); construction, the version, the command, the recovery chain, the dry
    run and the checks around writing the inputs are shared.  ``Params`` needs
    ``code_version`` and ``recovery_steps``.
    """

    name: ClassVar[str]
    Params: ClassVar[type]
    default_command: ClassVar[str]
    code: ClassVar[str]                 # version label, e.g. "fhi-aims"
    program: ClassVar[str]              # in messages, e.g. "FHI-aims"
    recipes: ClassVar[tuple[Recipe, ...]] = ()

    def __init__(self, params: Any, recovery: tuple[str, ...] = ()) -> None:
        self.params = params
        self.recovery = recovery

    @property
    def version(self) -> str:
        return f"{self.code}:{self.params.code_version or 'unspecified'}:plugin-1"

    def write_input(self, atoms: Atoms, workdir: Path, profile: Profile) -> None:
        """The pilot-job check, then the inputs and the attempt record (recovery steps so far
        and what :meth:`write_files` adds)."""
        check_walltime(profile)
        self.check_structure(atoms)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        record = self.write_files(atoms, workdir, profile)
        write_attempt_record(workdir, {"code": self.name, "recovery": list(self.recovery), **record})

    def check_structure(self, atoms: Atoms) -> None:
        """Refuse a structure the code cannot compute (a ``UserError``); none by default."""

    def write_files(self, atoms: Atoms, workdir: Path, profile: Profile) -> dict[str, Any]:
        """Write the code's inputs into ``workdir``; facts for the attempt record."""
        raise NotImplementedError

    def read_results(self, workdir: Path) -> Labels:
        raise NotImplementedError

    def command(self, profile: Profile) -> list[str]:
        return profile.argv(self.default_command)

    def run_in_process(self, workdir: Path) -> None:
        raise TypeError(f"{self.program} runs as an external program: use command(), not "
                        "run_in_process()")

    def recover(self, failure: CalculationFailed, attempt: int) -> "FileCalculator | None":
        """The next recipe after an s.c.f. (*physics*) failure, ``None`` when none is left."""
        step = len(self.recovery)
        if failure.kind is not FailureKind.PHYSICS or \
                step >= min(self.params.recovery_steps, len(self.recipes)):
            return None
        params, change = self.recipes[step](self.params)
        return type(self)(params, (*self.recovery, change))

    def dry_run(self, profile: Profile) -> list[str]:
        """The exact shell lines each calculation runs (modules, environment, command)."""
        return shell_lines(profile, self.command(profile))


def kpoint_grid(atoms: Atoms, density_per_A: float, explicit: tuple[int, ...] = ()) -> tuple[int, int, int]:
    """Monkhorst-Pack divisions: ``explicit`` when given, else from a density in points per Å⁻¹.

    The density counts points per reciprocal length including the 2π (ASE's convention), so
    ``ceil(2π |b_i| density)`` along each periodic direction and 1 along non-periodic ones.
    """
    if explicit:
        grid = tuple(int(n) for n in explicit)
        return (grid[0], grid[1], grid[2])
    reciprocal = atoms.cell.reciprocal()
    grid = []
    for axis in range(3):
        if not atoms.pbc[axis]:
            grid.append(1)
            continue
        length = 2.0 * math.pi * float(np.linalg.norm(reciprocal[axis])) * density_per_A
        grid.append(max(1, int(math.ceil(length - 1e-9))))
    return (grid[0], grid[1], grid[2])


def pilot_deadline(environ: Mapping[str, str] | None = None) -> float | None:
    """The end of the enclosing pilot job (epoch seconds), when the environment tells it."""
    environ = os.environ if environ is None else environ
    for name in (DEADLINE_ENV, SLURM_END_ENV):
        value = environ.get(name, "").strip()
        if value:
            try:
                return float(value)
            except ValueError:
                continue
    return None


def check_walltime(profile: Profile, environ: Mapping[str, str] | None = None) -> None:
    """Do not start a calculation that cannot finish before the pilot job ends.

    ``profile.walltime_s`` is the expected (maximum) duration of one calculation.  When the
    pilot's end is known (:func:`pilot_deadline`) and less time than that is left, the
    calculation is not started: the call idles until the pilot's end (the batch system then
    ends the pilot and its worker, and the engine hands the calculation to a fresh pilot, the
    interrupted attempt counting once) and, should the process still be alive, fails as an
    *infrastructure* failure.  Idling rather than failing at once matters: a worker would
    otherwise take its next attempt at once and use up all attempts of the calculation within
    seconds.  Starting the code instead would occupy the same allocation and leave a killed,
    half-written run behind.
    """
    if profile.walltime_s is None:
        return
    deadline = pilot_deadline(environ)
    if deadline is None:
        return
    left_s = deadline - time.time()
    if left_s >= profile.walltime_s:
        return
    while time.time() < deadline + PILOT_GRACE_S:
        time.sleep(min(30.0, max(deadline + PILOT_GRACE_S - time.time(), 0.01)))
    raise CalculationFailed(
        FailureKind.INFRASTRUCTURE,
        f"only {max(left_s, 0.0):.0f} s were left in this pilot job but a calculation may need "
        f"{profile.walltime_s:.0f} s (profile walltime_s); not started, retry on a fresh pilot")


def find_output(workdir: Path, name: str) -> Path | None:
    """``workdir/name`` or its gzipped form, whichever exists."""
    for candidate in (workdir / name, workdir / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_text(path: Path) -> str:
    """The text of a plain or gzipped output file (undecodable bytes replaced)."""
    if path.suffix == ".gz":
        with gzip.open(path, "rt", errors="replace") as handle:
            return handle.read()
    return path.read_text(errors="replace")


def gunzipped(path: Path, scratch: Path) -> Path:
    """A plain copy of a gzipped file in ``scratch`` (ASE's readers want a file name)."""
    if path.suffix != ".gz":
        return path
    target = scratch / path.stem
    with gzip.open(path, "rb") as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink)
    return target


def compress(path: Path) -> None:
    """Replace ``path`` by ``path.gz`` (atomically: the plain file goes only after the copy)."""
    if not path.is_file():
        return
    temporary = path.with_name(path.name + ".gz.tmp")
    with path.open("rb") as source, gzip.open(temporary, "wb", compresslevel=6) as sink:
        shutil.copyfileobj(source, sink)
    temporary.replace(path.with_name(path.name + ".gz"))
    path.unlink()


def apply_output_policy(workdir: Path, *, compress_names: Iterable[str],
                        delete_names: Iterable[str]) -> None:
    """Compress the text outputs worth keeping and delete large restart files."""
    for name in delete_names:
        target = workdir / name
        if target.is_file():
            target.unlink()
    for name in compress_names:
        compress(workdir / name)


def write_attempt_record(workdir: Path, record: Mapping[str, Any]) -> None:
    """Record how this attempt differs from the first one (recovery step and changes)."""
    (workdir / ATTEMPT_RECORD).write_text(json.dumps(dict(record), indent=2, sort_keys=True) + "\n")


def read_attempt_record(workdir: Path) -> dict[str, Any]:
    """The attempt record, or an empty one when the attempt wrote none."""
    path = workdir / ATTEMPT_RECORD
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def format_number(value: float) -> str:
    """A float the way input files want it: the shortest exact form (``1e-06``, ``0.05``)."""
    return repr(float(value))
