"""Shared parts of the fake DFT executables (aims.x, vasp_std): physics, failure modes, logging.

The fakes compute energies and forces with ASE's EMT when every element has EMT parameters and
with a Lennard-Jones pair potential otherwise, so tests can compare the parsed labels with the
same calculator applied to the original structure.  Only numpy and ASE are imported.

Failure modes are chosen with ``FAKE_<CODE>_MODE`` (``ok``, ``unconverged``, ``killed``,
``truncated``, ``empty``, ``crash``); ``FAKE_DFT_LOG`` names a file each run appends its working
directory to.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.emt import EMT, parameters as emt_parameters
from ase.calculators.lj import LennardJones

MODES = ("ok", "unconverged", "killed", "truncated", "empty", "crash")


def reference_calculator(symbols: list[str]):
    """EMT when it knows every element, else a soft Lennard-Jones potential."""
    if all(symbol in emt_parameters for symbol in symbols):
        return EMT()
    return LennardJones(sigma=0.8, epsilon=0.05, rc=6.0, smooth=True)  # forces stay physical at bond lengths


def compute(atoms: Atoms, with_stress: bool) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Energy (eV), forces (eV/Å) and, when asked, stress (eV/Å³, Voigt) of ``atoms``."""
    atoms = atoms.copy()
    atoms.calc = reference_calculator(list(atoms.symbols))
    energy = float(atoms.get_potential_energy())
    forces = np.asarray(atoms.get_forces())
    stress = np.asarray(atoms.get_stress()) if with_stress else None
    return energy, forces, stress


def mode(code: str) -> str:
    """The failure mode asked for this code (``FAKE_AIMS_MODE`` / ``FAKE_VASP_MODE``)."""
    value = os.environ.get(f"FAKE_{code.upper()}_MODE", "ok").strip() or "ok"
    if value not in MODES:
        fail(f"fake {code}: unknown mode {value!r}, expected one of {', '.join(MODES)}")
    return value


def log_call(code: str) -> None:
    """Append ``code cwd`` to ``FAKE_DFT_LOG`` when set (tests count runs with it)."""
    path = os.environ.get("FAKE_DFT_LOG")
    if path:
        with open(path, "a") as handle:
            handle.write(f"{code} {Path.cwd()}\n")


def fail(message: str, code: int = 1) -> None:
    """Stop like a crashing program: message on stderr, non-zero exit status."""
    print(message, file=sys.stderr)
    sys.exit(code)


def die_killed() -> None:
    """Stop as a killed process (SIGKILL), leaving whatever was written so far."""
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def scf_iterations_needed(code: str, default: int = 12) -> int:
    """How many s.c.f. iterations the fake pretends the system needs (``FAKE_<CODE>_SCF``)."""
    return int(os.environ.get(f"FAKE_{code.upper()}_SCF", default))
