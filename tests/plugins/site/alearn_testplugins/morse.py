"""Reference calculator ``morse``: ASE's Morse pair potential, computed in-process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import ase
from ase import Atoms

from alearn.config.dispatch import ReferenceParams
from alearn.config.schema import option
from alearn.label.inprocess import InProcessCalculator


class MorseCalculator(InProcessCalculator):
    """E = Σ_{i<j} ε (e^{−2ρ(r−r0)/r0} − 2 e^{−ρ(r−r0)/r0})."""

    name = "morse"

    @dataclass(frozen=True, kw_only=True)
    class Params(ReferenceParams):
        """[reference] kind = "morse" — ASE's Morse pair potential."""

        kind: Literal["morse"] = option("morse", doc="reference code: a Morse pair potential")
        epsilon_eV: float = option(1.0, doc="well depth ε", unit="eV", gt=0.0)
        r0_A: float = option(1.1, doc="equilibrium distance r0", unit="Å", gt=0.0)
        rho0: float = option(6.0, doc="stiffness ρ0 (dimensionless)", gt=0.0)

    @property
    def version(self) -> str:
        return f"ase-morse {ase.__version__}"

    def ase_calculator(self, atoms: Atoms) -> Any:
        from ase.calculators.morse import MorsePotential

        p = self.params
        return MorsePotential(epsilon=p.epsilon_eV, r0=p.r0_A, rho0=p.rho0)
