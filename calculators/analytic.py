"""Analytic ASE potentials as reference calculators: ``emt`` and ``lj`` (cheap, exact, for tests
and tutorials)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import ase
from ase import Atoms

from alearn.config.dispatch import ReferenceParams
from alearn.config.schema import Invalid, option
from alearn.label.inprocess import InProcessCalculator


class EmtCalculator(InProcessCalculator):
    """ASE's effective-medium theory (Al, Cu, Ag, Au, Ni, Pd, Pt; H, C, N, O as a toy)."""

    name = "emt"

    @dataclass(frozen=True, kw_only=True)
    class Params(ReferenceParams):
        """[reference] kind = "emt" — ASE's EMT potential."""

        kind: Literal["emt"] = option("emt", doc="ASE's effective-medium theory potential")
        asap_cutoff: bool = option(False, doc="use ASAP's cutoff convention instead of ASE's default")

    @property
    def version(self) -> str:
        return f"ase-emt {ase.__version__}"

    def ase_calculator(self, atoms: Atoms) -> Any:
        from ase.calculators.emt import EMT

        return EMT(asap_cutoff=self.params.asap_cutoff)


class LennardJonesCalculator(InProcessCalculator):
    """ASE's Lennard-Jones pair potential (one species parameter set)."""

    name = "lj"

    @dataclass(frozen=True, kw_only=True)
    class Params(ReferenceParams):
        """[reference] kind = "lj" — ASE's Lennard-Jones potential."""

        kind: Literal["lj"] = option("lj", doc="ASE's Lennard-Jones pair potential")
        sigma_A: float = option(1.0, doc="zero-crossing distance σ", unit="Å", gt=0.0)
        epsilon_eV: float = option(1.0, doc="well depth ε", unit="eV", gt=0.0)
        cutoff_A: float | None = option(None, doc="cutoff radius (default 3σ)", unit="Å", gt=0.0)
        smooth: bool = option(False, doc="smoothly switch the potential off between 0.66·cutoff and the cutoff")

        def check(self) -> None:
            if self.cutoff_A is not None and self.cutoff_A <= self.sigma_A:
                raise Invalid("cutoff_A", f"found {self.cutoff_A}, expected more than sigma_A "
                              f"({self.sigma_A})")

    @property
    def version(self) -> str:
        return f"ase-lj {ase.__version__}"

    def ase_calculator(self, atoms: Atoms) -> Any:
        from ase.calculators.lj import LennardJones

        p = self.params
        rc = p.cutoff_A if p.cutoff_A is not None else 3.0 * p.sigma_A
        return LennardJones(sigma=p.sigma_A, epsilon=p.epsilon_eV, rc=rc, smooth=p.smooth)
