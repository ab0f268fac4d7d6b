"""A base class for reference calculators that compute through an ASE calculator in-process.

Subclasses set ``name``, a ``Params`` dataclass, ``version`` and ``ase_calculator()``; this base
implements the rest of the protocol: the structure goes to ``atoms.json`` in the attempt
directory, ``run_in_process`` computes energy, forces (and stress for fully periodic cells) and
writes ``results.json``, ``read_results`` reads it back.  Going through files keeps in-process
calculators restartable and inspectable exactly like file-based codes, and lets
``profile.isolate`` run them in a child process unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from alearn.config.dispatch import Profile
from alearn.data.records import Labels
from alearn.label.jobs import atoms_from_json, atoms_to_json, labels_from_json, labels_to_json
from alearn.label.protocol import CalculationFailed, FailureKind

ATOMS_FILE = "atoms.json"
RESULTS_FILE = "results.json"


class InProcessCalculator:
    """Protocol implementation shared by every in-process (ASE calculator) plugin."""

    name = "inprocess"
    Params: type = object

    def __init__(self, params: Any) -> None:
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    @property
    def version(self) -> str:
        raise NotImplementedError

    def ase_calculator(self, atoms: Atoms) -> Any:
        """The ASE calculator that computes ``atoms`` (a fresh one per call)."""
        raise NotImplementedError

    def warm_up(self) -> None:
        """Import what :meth:`ase_calculator` needs, without computing: the isolation helper
        (:mod:`alearn.label.isolated`) calls it once per calculator type before it forks
        calculations, so each one starts warm.  It must not start threads (a fork of a
        threaded process is unsafe); this default builds the ASE calculator of a one-atom
        structure and drops it (a failure only means a colder start)."""
        try:
            self.ase_calculator(Atoms("H"))
        except Exception:  # noqa: BLE001 - warming up is best effort
            pass

    def wants_stress(self, atoms: Atoms) -> bool:
        return bool(atoms.pbc.all())

    def write_input(self, atoms: Atoms, workdir: Path, profile: Profile) -> None:
        (workdir / ATOMS_FILE).write_text(json.dumps(atoms_to_json(atoms)), encoding="utf-8")

    def command(self, profile: Profile) -> list[str] | None:
        return None

    def run_in_process(self, workdir: Path) -> None:
        atoms = atoms_from_json(json.loads((workdir / ATOMS_FILE).read_text(encoding="utf-8")))
        labels = self.compute(atoms)
        (workdir / RESULTS_FILE).write_text(json.dumps(labels_to_json(labels)), encoding="utf-8")

    def compute(self, atoms: Atoms) -> Labels:
        """Energy, forces and (periodic cells) stress of ``atoms``."""
        atoms = atoms.copy()
        atoms.calc = self.ase_calculator(atoms)
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
        stress = atoms.get_stress(voigt=True) if self.wants_stress(atoms) else None
        return Labels(energy=float(energy), forces=np.array(forces), stress=stress)

    def read_results(self, workdir: Path) -> Labels:
        path = workdir / RESULTS_FILE
        try:
            return labels_from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise CalculationFailed(FailureKind.INFRASTRUCTURE,
                                    f"{RESULTS_FILE} missing: the calculation did not finish") from None
        except (json.JSONDecodeError, KeyError) as exc:
            raise CalculationFailed(FailureKind.INFRASTRUCTURE,
                                    f"{RESULTS_FILE} is truncated or corrupt ({exc})") from None

    def recover(self, failure: CalculationFailed, attempt: int) -> Any | None:
        return None
