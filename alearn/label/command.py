"""``alearn label``: stand-alone, resumable labelling of structures into a store."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alearn.config.dispatch import DispatchConfig
from alearn.config.schema import build, option
from alearn.config.store import StoreConfig
from alearn.errors import UserError

DESCRIPTION = """\
Label structures with a reference calculator and put the results into a store.

The calculator file is TOML with a [reference] table (kind = xtb, pyscf, espresso, emt, lj, ase,
aims, vasp ... and its parameters, plus a [reference.profile] sub-table saying how the code runs
on this machine) and optionally a [dispatch] table (engine, workers, attempts, timeout_s ...)
and a [store] table (the label gate's bounds; the store itself is --into).  A campaign file
works too: the other sections are ignored.

Every calculation gets a job directory named by a hash of structure, parameters and code
version; running the same command again ingests finished results, retries what is left within
the attempt limit and never repeats a finished calculation.  Create the file CANCEL in the jobs
folder (or press Ctrl-C) to stop; the same command resumes.
"""

EXAMPLE = """\
example:
  alearn label water.xyz --calculator xtb.toml --into store.db --workers 2
"""


def _reference_kinds() -> Any:
    from alearn.config.campaign import reference_kinds

    return reference_kinds()


@dataclass(frozen=True)
class LabelFile:
    """The parts of a TOML file ``alearn label`` reads."""

    reference: Any = option(doc="the reference calculator (kind = a registered plugin)", kinds=_reference_kinds)
    dispatch: DispatchConfig = option(factory=DispatchConfig, doc="where reference calculations run")
    store: StoreConfig = option(factory=StoreConfig, doc="the label gate and the store's minimum distance (its url is --into)")


def register(subparsers: Any) -> None:
    """Add the ``label`` command."""
    parser = subparsers.add_parser(
        "label", help="label structures with a reference code into a store (resumable)",
        description=DESCRIPTION, epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("structures", nargs="+", type=Path, metavar="STRUCTURES",
                        help="structure files (any format ASE reads; every frame is labelled)")
    parser.add_argument("--calculator", "-c", required=True, type=Path, metavar="FILE.toml",
                        help="TOML file with [reference] (and optionally [dispatch])")
    parser.add_argument("--into", required=True, metavar="STORE",
                        help="store: SQLite file (created if absent) or postgresql:// URL")
    parser.add_argument("--jobs-dir", type=Path, help="job directories (default: [dispatch] "
                        "jobs_dir if set, else 'jobs' beside the store)")
    parser.add_argument("--engine", choices=["local", "inprocess", "slurm", "pbs", "lsf",
                                             "scheduler"], help="override [dispatch] engine")
    parser.add_argument("--workers", type=int, help="override [dispatch] workers")
    parser.add_argument("--attempts", type=int, help="override [dispatch] attempts")
    parser.add_argument("--timeout-s", type=float, help="override [dispatch] timeout_s")
    parser.add_argument("--iteration", type=int, default=0, help="iteration recorded in the "
                        "provenance (default 0)")
    parser.add_argument("--subset", help="subset name recorded in the provenance")
    parser.add_argument("--show-job-script", action="store_true", help="print the batch script "
                        "of one pilot job (engine slurm/pbs/lsf) and exit")
    parser.set_defaults(handler=run)


def load_label_file(path: Path) -> tuple[LabelFile, dict[str, Any]]:
    """Validate the [reference] and [dispatch] tables of ``path``; other tables are ignored."""
    from alearn.config.campaign import read_toml

    raw = read_toml(path)
    if "reference" not in raw:
        raise UserError(f"{path}: no [reference] table; it names the calculator, e.g.\n"
                        "  [reference]\n  kind = \"xtb\"\n  method = \"GFN2-xTB\"")
    picked = {k: raw[k] for k in ("reference", "dispatch", "store") if k in raw}
    return build(LabelFile, picked, file=path), picked


def _dispatch(args: argparse.Namespace, config: DispatchConfig) -> DispatchConfig:
    changes = {name: getattr(args, name) for name in ("engine", "workers", "attempts", "timeout_s")
               if getattr(args, name) is not None}
    for name in ("workers", "attempts"):
        if changes.get(name, 1) < 1:
            raise UserError(f"--{name} must be at least 1 (found {changes[name]})")
    if changes.get("timeout_s", 1.0) <= 0:
        raise UserError(f"--timeout-s must be positive (found {changes['timeout_s']})")
    return dataclasses.replace(config, **changes)


def read_structures(paths: list[Path]) -> list[Any]:
    """Every frame of every file, in order."""
    from ase.io import read

    frames: list[Any] = []
    for path in paths:
        if not path.exists():
            raise UserError(f"structure file {str(path)!r} does not exist")
        try:
            frames += read(path, index=":")
        except Exception as exc:  # noqa: BLE001 - ASE raises many kinds for unreadable files
            from alearn.data.readers import read_error

            raise UserError(f"cannot read structures from {str(path)!r}: {read_error(exc)}") from None
    if not frames:
        raise UserError("no structures found in " + ", ".join(map(str, paths)))
    return frames


def run(args: argparse.Namespace) -> int:
    """The ``label`` command."""
    from alearn.label.hpc import job_script

    spec, raw = load_label_file(args.calculator)
    dispatch = _dispatch(args, spec.dispatch)
    if args.show_job_script:
        if dispatch.engine not in ("slurm", "pbs", "lsf"):
            raise UserError("--show-job-script needs engine slurm, pbs or lsf")
        print(job_script(dispatch))
        return 0
    structures = read_structures(args.structures)
    jobs_dir = args.jobs_dir or (dispatch.jobs_dir if "jobs_dir" in raw.get("dispatch", {})
                                 else _beside_store(args.into))
    from alearn.label.report import label_with_progress

    report = label_with_progress(structures, spec.reference, dispatch, args.into, jobs_dir,
                                 iteration=args.iteration, subset=args.subset, store=spec.store)
    return 0 if not report.failures else 1


def _beside_store(url: str) -> Path:
    if "://" in url:
        return Path("jobs")
    return Path(url).resolve().parent / "jobs"
