"""``alearn lammps SCRIPT``: run a LAMMPS input script with the potential attached.

LAMMPS runs as a library in this process (one MPI rank).  The script runs in two parts: up to
its ``fix ID all external pf/callback 1 1`` line, then :func:`~alearn.lammps.bridge.attach`
connects the model to that fix, then the rest of the script runs.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from alearn.errors import UserError
from alearn.lammps.bridge import BridgeSummary, attach
from alearn.lammps.library import open_lammps
from alearn.lammps.script import read_script


class LammpsError(UserError):
    """LAMMPS stopped with an error in the input script."""


@dataclass(frozen=True)
class RunOptions:
    """How :func:`run_script` runs LAMMPS and what it records."""

    elements: tuple[str, ...] | None = None
    fix_id: str | None = None
    variables: tuple[tuple[str, str], ...] = ()
    log: Path | None = Path("log.lammps")
    screen: bool = True
    uncertainty_out: Path | None = None
    every: int = 10
    calculator_options: tuple[tuple[str, Any], ...] = ()


def lammps_args(options: RunOptions) -> list[str]:
    """LAMMPS command-line arguments for ``options``."""
    args = ["-log", str(options.log) if options.log is not None else "none"]
    if not options.screen:
        args += ["-screen", "none"]
    for name, value in options.variables:
        args += ["-var", name, value]
    return args


@contextlib.contextmanager
def _uncertainty_log(path: Path | None) -> Iterator[Any]:
    if path is None:
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        yield handle


def _run_file(lmp: Any, text: str, directory: Path, name: str) -> None:
    part = directory / name
    part.write_text(text, encoding="utf-8")
    try:
        lmp.file(str(part))
    except Exception as exc:  # the lammps module raises plain Exception with LAMMPS' message
        raise LammpsError(f"LAMMPS: {str(exc).strip()}") from None


def run_script(script: Path, model: Path, options: RunOptions = RunOptions()) -> BridgeSummary:
    """Run ``script`` in LAMMPS with the model directory ``model`` as its potential."""
    split = read_script(Path(script), options.fix_id)
    if (split.fix.ncall, split.fix.napply) != (1, 1):
        print(f"alearn: warning: fix {split.fix.fix_id} calls the potential every "
              f"{split.fix.ncall} step(s) and applies it every {split.fix.napply}; "
              f"'pf/callback 1 1' gives its forces at every step", file=sys.stderr)
    if not Path(model).is_dir():
        raise UserError(f"--model {model} is not a model directory (make one with alearn export)")
    lmp = open_lammps(lammps_args(options))
    try:
        with tempfile.TemporaryDirectory(prefix="alearn-lammps-") as tmp, \
                _uncertainty_log(options.uncertainty_out) as log:
            _run_file(lmp, split.head, Path(tmp), f"{Path(script).name}.head")
            bridge = attach(lmp, split.fix.fix_id, model, elements=options.elements,
                            group=split.fix.group, log=log, every=options.every,
                            calculator_options=dict(options.calculator_options))
            try:
                _run_file(lmp, split.tail, Path(tmp), Path(script).name)
            except LammpsError:
                bridge.check()  # the potential's own error explains the halt best
                raise
            bridge.check()
            return bridge.summary()
    finally:
        lmp.close()


def parse_variables(pairs: Sequence[Sequence[str]] | None) -> tuple[tuple[str, str], ...]:
    """``--var NAME VALUE`` pairs as a tuple."""
    return tuple((name, value) for name, value in (pairs or ()))
