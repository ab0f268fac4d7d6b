"""``xtb``: GFN2-xTB / GFN1-xTB through tblite's ASE calculator, in-process.

SCF non-convergence is a physics failure; the recovery recipe doubles the iteration limit and
halves the Broyden damping, then raises the electronic temperature (Fermi smearing) to 1000 K
(which changes the electronic entropy term slightly — recorded in the attempt directories).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from ase import Atoms

from alearn.config.dispatch import ReferenceParams
from alearn.config.schema import option
from alearn.data.records import Labels
from alearn.label.inprocess import InProcessCalculator
from alearn.label.protocol import CalculationFailed, FailureKind


class XtbCalculator(InProcessCalculator):
    """Extended tight binding (tblite)."""

    name = "xtb"

    @dataclass(frozen=True, kw_only=True)
    class Params(ReferenceParams):
        """[reference] kind = "xtb" — tblite's GFN-xTB Hamiltonians."""

        kind: Literal["xtb"] = option("xtb", doc="extended tight binding through tblite")
        method: Literal["GFN2-xTB", "GFN1-xTB", "IPEA1-xTB"] = option("GFN2-xTB", doc="Hamiltonian (GFN1-xTB is the better choice for bulk Si and metals)")
        accuracy: float = option(1.0, doc="numerical accuracy (smaller is tighter)", gt=0.0)
        electronic_temperature_K: float = option(300.0, doc="Fermi smearing temperature", unit="K", gt=0.0)
        max_iterations: int = option(250, doc="SCF iteration limit", ge=1)
        mixer_damping: float = option(0.4, doc="Broyden mixing damping", gt=0.0, le=1.0)
        charge: float | None = option(None, doc="total charge (default: sum of the initial charges)")
        multiplicity: int | None = option(None, doc="spin multiplicity 2S+1 (default: from the initial magnetic moments)", ge=1)

    @property
    def version(self) -> str:
        try:
            return f"tblite {version('tblite')}"
        except PackageNotFoundError:  # pragma: no cover - tblite is a core dependency
            return "tblite unknown"

    def ase_calculator(self, atoms: Atoms) -> Any:
        from tblite.ase import TBLite

        p = self.params
        return TBLite(method=p.method, accuracy=p.accuracy, charge=p.charge,
                      multiplicity=p.multiplicity, max_iterations=p.max_iterations,
                      mixer_damping=p.mixer_damping,
                      electronic_temperature=p.electronic_temperature_K, verbosity=0)

    def compute(self, atoms: Atoms) -> Labels:
        try:
            return super().compute(atoms)
        except Exception as exc:  # noqa: BLE001 - tblite reports SCF failure as CalculationFailed
            if "not converged" in str(exc):
                raise CalculationFailed(FailureKind.PHYSICS, f"tblite: {exc}") from None
            raise

    def recover(self, failure: CalculationFailed, attempt: int) -> "XtbCalculator | None":
        p = self.params
        if p.max_iterations < 1000:
            return XtbCalculator(dataclasses.replace(
                p, max_iterations=2 * p.max_iterations, mixer_damping=p.mixer_damping / 2))
        if p.electronic_temperature_K < 1000.0:
            return XtbCalculator(dataclasses.replace(p, electronic_temperature_K=1000.0))
        return None
