"""The potential inside LAMMPS: a ``fix external`` callback that evaluates an ASE calculator.

Every step LAMMPS hands the callback the atoms' positions; the callback builds the structure
(ordered by atom ID, types mapped to elements, the box as the cell), evaluates the calculator
(the exported committee through ``alearn.load_calculator``) and writes back the forces, the
energy and, for fully periodic boxes, the virial (−stress · volume), so ``pe``, ``press``,
``fix nvt`` and ``fix npt`` see the potential.  The committee's spread goes into the fix's global
vector, readable per step as ``f_ID[k]`` (:data:`VECTOR`), and optionally into a log file.

A callback cannot raise through LAMMPS, so a failure is recorded, flags ``f_ID[5]``, and a
``fix halt`` added by :func:`attach` stops the run at the end of that step;
:meth:`Bridge.check` then raises the recorded error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, TextIO

import numpy as np
from ase import Atoms

from alearn.errors import UserError
from alearn.lammps.species import model_elements, resolve_elements

#: the fix's global vector, f_ID[1] .. f_ID[5]
VECTOR: tuple[tuple[str, str], ...] = (
    ("energy_std_eV", "committee standard deviation of the total energy (eV)"),
    ("energy_std_per_atom_eV", "the same per atom (eV/atom)"),
    ("max_force_std_eV_A", "largest atomic force deviation (eV/Å), the selection measure"),
    ("extrapolating_atoms", "atoms with a descriptor outside the training range"),
    ("failed", "1 after the potential failed (the run halts at the end of that step)"),
)
#: LAMMPS virial order xx yy zz xy xz yz as indices into ASE's Voigt order xx yy zz yz xz xy
_VIRIAL_FROM_VOIGT = (0, 1, 2, 5, 4, 3)
GHOST_SHELL_A = 2.0
LOG_HEADER = "# step " + " ".join(name for name, _ in VECTOR[:4]) + "\n"


@dataclass(frozen=True)
class BridgeSummary:
    """What the potential did during a LAMMPS run."""

    calls: int
    seconds: float
    peak_max_force_std_eV_A: float
    peak_step: int
    stress: bool

    def text(self) -> str:
        per_call = 1000.0 * self.seconds / self.calls if self.calls else 0.0
        line = f"potential evaluated {self.calls} times, {per_call:.2f} ms each"
        if np.isfinite(self.peak_max_force_std_eV_A):
            line += (f"; largest force deviation {self.peak_max_force_std_eV_A:.3g} eV/Å "
                     f"at step {self.peak_step}")
        return line


def box_cell(lmp: Any) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """(origin, cell rows, periodicity) of LAMMPS' (restricted triclinic) box."""
    lo, hi, xy, yz, xz, periodic, _ = lmp.extract_box()
    cell = np.array([[hi[0] - lo[0], 0.0, 0.0], [xy, hi[1] - lo[1], 0.0], [xz, yz, hi[2] - lo[2]]])
    return np.asarray(lo, dtype=float), cell, [bool(p) for p in periodic]


class Bridge:
    """The ``fix external`` callback of one fix; built by :func:`attach`."""

    def __init__(self, lmp: Any, fix_id: str, calculator: Any, elements: Sequence[str], *,
                 stress: bool, log: TextIO | None = None, every: int = 10) -> None:
        self.lmp, self.fix_id, self.calculator = lmp, fix_id, calculator
        self.elements = tuple(elements)
        self.stress, self.log, self.every = stress, log, max(1, int(every))
        self.error: BaseException | None = None
        self._atoms: Atoms | None = None
        self._types: np.ndarray | None = None
        self._calls, self._seconds = 0, 0.0
        self._peak, self._peak_step, self._last_logged = -np.inf, -1, -1

    def __call__(self, caller: Any, step: int, nlocal: int, tag: Any, x: Any, f: Any) -> None:
        if self.error is not None:
            f[:] = 0.0
            return
        start = time.perf_counter()
        try:
            self._evaluate(int(step), np.asarray(tag)[:nlocal], np.asarray(x)[:nlocal], f)
        except BaseException as exc:  # noqa: BLE001 - nothing may escape into LAMMPS
            self.error = exc
            f[:] = 0.0
            self.lmp.fix_external_set_vector(self.fix_id, len(VECTOR), 1.0)
        self._calls += 1
        self._seconds += time.perf_counter() - start

    def _structure(self, tag: np.ndarray, x: np.ndarray) -> tuple[Atoms, np.ndarray]:
        order = np.argsort(tag, kind="stable")
        types = np.asarray(self.lmp.numpy.extract_atom("type"))[:len(tag)][order]
        origin, cell, periodic = box_cell(self.lmp)
        atoms = self._atoms
        if atoms is None or self._types is None or not np.array_equal(types, self._types):
            atoms = Atoms([self.elements[t - 1] for t in types], cell=cell, pbc=periodic)
            self._atoms, self._types = atoms, types.copy()
        atoms.set_cell(cell, scale_atoms=False)
        atoms.pbc = periodic
        atoms.positions = x[order] - origin
        return atoms, order

    def _evaluate(self, step: int, tag: np.ndarray, x: np.ndarray, f: Any) -> None:
        atoms, order = self._structure(tag, x)
        properties = ["energy", "forces"] + (["stress"] if self.stress else [])
        self.calculator.calculate(atoms, properties, ["positions", "numbers", "cell", "pbc"])
        results = self.calculator.results
        forces = np.empty_like(results["forces"])
        forces[order] = results["forces"]
        f[:] = forces
        lmp = self.lmp
        lmp.fix_external_set_energy_global(self.fix_id, float(results["energy"]))
        if self.stress:
            voigt = np.asarray(results["stress"], dtype=float) * atoms.get_volume()
            lmp.fix_external_set_virial_global(self.fix_id, [-voigt[k] for k in _VIRIAL_FROM_VOIGT])
        values = spread_values(results, len(atoms))
        for index, value in enumerate(values, start=1):
            lmp.fix_external_set_vector(self.fix_id, index, value)
        lmp.fix_external_set_vector(self.fix_id, len(VECTOR), 0.0)
        self._record(step, values)

    def _record(self, step: int, values: Sequence[float]) -> None:
        if values[2] > self._peak:
            self._peak, self._peak_step = values[2], step
        if self.log is not None and step % self.every == 0 and step != self._last_logged:
            self.log.write(f"{step} " + " ".join(f"{v:.6g}" for v in values) + "\n")
            self.log.flush()
            self._last_logged = step

    def check(self) -> None:
        """Raise the error of a failed evaluation, if there was one."""
        if self.error is None:
            return
        if isinstance(self.error, UserError):
            raise UserError(f"the potential failed inside LAMMPS: {self.error}") from self.error
        raise RuntimeError(f"the potential failed inside LAMMPS: {self.error!r}") from self.error

    def summary(self) -> BridgeSummary:
        peak = float(self._peak) if self._calls else float("nan")
        return BridgeSummary(self._calls, self._seconds, peak, self._peak_step, self.stress)


def spread_values(results: dict[str, Any], natoms: int) -> tuple[float, float, float, float]:
    """The first four entries of :data:`VECTOR` from a calculator's ``results`` (NaN if absent)."""
    energy_std = float(results.get("energy_std", np.nan))
    max_force = float(results.get("max_force_std", np.nan))
    extrapolation = results.get("extrapolation")
    count = float(np.count_nonzero(np.asarray(extrapolation))) if extrapolation is not None else np.nan
    return energy_std, energy_std / max(natoms, 1), max_force, count


def _check_instance(lmp: Any, fix_id: str) -> None:
    if not lmp.has_id("fix", fix_id):
        raise UserError(f"LAMMPS has no fix {fix_id!r}; define it first, e.g. "
                        f"'fix {fix_id} all external pf/callback 1 1'")
    units = lmp.extract_global("units")
    if units != "metal":
        raise UserError(f"the potential works in LAMMPS 'units metal' (eV, Å, ps); the script "
                        f"uses 'units {units}'")
    if int(lmp.extract_setting("world_size")) > 1:
        raise UserError("the potential evaluates the whole system in one process; run LAMMPS "
                        "on one MPI rank (the model itself uses OMP_NUM_THREADS threads)")


def attach(lmp: Any, fix_id: str, model: str | Path | Any, *, elements: Sequence[str] | None = None,
           group: str = "all", log: TextIO | None = None, every: int = 10,
           calculator_options: dict[str, Any] | None = None) -> Bridge:
    """Make the existing ``fix FIX_ID GROUP external pf/callback 1 1`` evaluate ``model``.

    ``model`` is a model directory (``alearn export``) or an ASE calculator (then give
    ``elements``).  Types map to elements by ``elements`` (one per type) or by their masses.
    Adds ``fix_modify FIX_ID energy yes virial yes``, the vector, the halting fix, and (the
    potential needs no ghost atoms or sorted atoms, but LAMMPS warns without them) a 2 Å ghost
    shell and no atom sorting.
    """
    _check_instance(lmp, fix_id)
    known = model_elements(Path(model)) if isinstance(model, (str, Path)) else None
    if isinstance(model, (str, Path)):
        import alearn

        calculator = alearn.load_calculator(model, **(calculator_options or {}))
    else:
        calculator = model
    ntypes = int(lmp.extract_setting("ntypes"))
    masses = [float(m) for m in np.asarray(lmp.numpy.extract_atom("mass"))[1:ntypes + 1]]
    chosen = resolve_elements(masses, elements, known)
    periodic = all(box_cell(lmp)[2])
    stress = periodic and "stress" in getattr(calculator, "implemented_properties", ())
    bridge = Bridge(lmp, fix_id, calculator, chosen, stress=stress, log=log, every=every)
    lmp.fix_external_set_vector_length(fix_id, len(VECTOR))
    lmp.set_fix_external_callback(fix_id, bridge)
    lmp.command(f"fix_modify {fix_id} energy yes virial {'yes' if stress else 'no'}")
    lmp.command(f"variable alearn_failed_{fix_id} equal f_{fix_id}[{len(VECTOR)}]")
    lmp.command(f"fix alearn_halt_{fix_id} {group} halt 1 v_alearn_failed_{fix_id} > 0.5 "
                f"error hard message yes")
    lmp.command(f"comm_modify cutoff {GHOST_SHELL_A}")
    lmp.command("atom_modify sort 0 0.0")
    if log is not None:
        log.write(LOG_HEADER)
    return bridge
