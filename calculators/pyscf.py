"""``pyscf``: Hartree–Fock and Kohn–Sham DFT through PySCF's own ASE calculator
(``pyscf.pbc.tools.pyscf_ase.PySCF``), for molecules (Gaussian basis, all electrons) and periodic
cells (GTH pseudopotentials, plane-wave density fitting, Γ point).

SCF non-convergence is a physics failure; the recovery recipe first doubles ``max_cycle`` and adds
a level shift of 0.2 Ha with damping 0.5, then switches to second-order SCF (Newton).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from ase import Atoms

from alearn.config.dispatch import ReferenceParams
from alearn.config.schema import option
from alearn.data.records import Labels
from alearn.label.inprocess import InProcessCalculator
from alearn.label.protocol import CalculationFailed, FailureKind

HARTREE_EV = 27.211386245988
BOHR_A = 0.529177210903


class PyscfCalculator(InProcessCalculator):
    """Mean-field reference labels from PySCF."""

    name = "pyscf"

    @dataclass(frozen=True, kw_only=True)
    class Params(ReferenceParams):
        """[reference] kind = "pyscf" — HF / DFT with PySCF."""

        kind: Literal["pyscf"] = option("pyscf", doc="Hartree-Fock / DFT with PySCF")
        method: Literal["RKS", "UKS", "RHF", "UHF"] = option("RKS", doc="restricted/unrestricted Kohn-Sham or Hartree-Fock")
        xc: str = option("PBE", doc="exchange-correlation functional (Kohn-Sham methods)")
        basis: str = option("def2-svp", doc="Gaussian basis set (molecules); periodic cells default to 'gth-dzvp'")
        pseudo: str = option("gth-pbe", doc="pseudopotential of periodic cells")
        periodic_basis: str = option("gth-dzvp", doc="basis set of periodic cells")
        ke_cutoff_eV: float | None = option(None, doc="kinetic-energy cutoff of the periodic density grid (default: PySCF's)", unit="eV", gt=0.0)
        charge: int = option(0, doc="total charge")
        spin: int = option(0, doc="number of unpaired electrons 2S", ge=0)
        conv_tol_Ha: float = option(1e-9, doc="SCF energy convergence threshold", unit="Ha", gt=0.0)
        max_cycle: int = option(50, doc="SCF iteration limit", ge=1)
        level_shift_Ha: float = option(0.0, doc="virtual-orbital level shift", unit="Ha", ge=0.0)
        damp: float = option(0.0, doc="density-matrix damping factor", ge=0.0, lt=1.0)
        newton: bool = option(False, doc="second-order SCF (robust, slower)")
        stress: bool = option(False, doc="compute the stress of periodic cells (costly; method RKS only)")

    @property
    def version(self) -> str:
        import pyscf

        return f"pyscf {pyscf.__version__}"

    def ase_calculator(self, atoms: Atoms) -> Any:
        from pyscf.pbc.tools.pyscf_ase import PySCF

        return PySCF(method=self._method(atoms))

    def _method(self, atoms: Atoms, multigrid: bool = True) -> Any:
        p = self.params
        periodic = bool(atoms.pbc.any())
        system = _cell(atoms, p) if periodic else _molecule(atoms, p)
        if periodic:
            from pyscf.pbc import dft, scf
        else:
            from pyscf import dft, scf
        mf = getattr(dft, p.method)(system, xc=p.xc) if p.method.endswith("KS") \
            else getattr(scf, p.method)(system)
        if periodic and multigrid and p.method.endswith("KS"):
            mf = mf.multigrid_numint()  # PySCF's periodic KS gradients need the multigrid path
        mf.conv_tol, mf.max_cycle, mf.verbose = p.conv_tol_Ha, p.max_cycle, 0
        mf.level_shift, mf.damp = p.level_shift_Ha, p.damp
        return mf.newton() if p.newton else mf

    def compute(self, atoms: Atoms) -> Labels:
        atoms = atoms.copy()
        atoms.calc = calc = self.ase_calculator(atoms)
        try:
            energy = atoms.get_potential_energy()
            forces = atoms.get_forces()
        except RuntimeError as exc:
            if "not converged" in str(exc):
                raise CalculationFailed(FailureKind.PHYSICS, f"pyscf: {exc}") from None
            raise
        stress = None
        if self.params.stress and atoms.pbc.all():
            solved = calc.method_scan if calc.method_scan is not None else calc.method
            stress = self._stress(atoms, solved)
        return Labels(energy=float(energy), forces=np.array(forces), stress=stress)

    def _stress(self, atoms: Atoms, solved: Any) -> np.ndarray:
        """Stress (eV/Å³, 3×3) from the converged orbitals; PySCF's KS stress needs the plain
        numerical integrator, its KS forces the multigrid one, so the state is copied over."""
        if self.params.method != "RKS" or self.params.newton:
            raise CalculationFailed(FailureKind.INVALID, "PySCF gives a periodic stress only "
                                    "for method = 'RKS' (without newton); set stress = false")
        from pyscf.pbc.grad import rks as rks_grad

        plain = self._method(atoms, multigrid=False)
        for key in ("mo_coeff", "mo_occ", "mo_energy", "e_tot", "converged"):
            setattr(plain, key, getattr(solved, key))
        sigma = rks_grad.Gradients(plain).get_stress()
        return np.asarray(sigma) * HARTREE_EV / BOHR_A ** 3

    def recover(self, failure: CalculationFailed, attempt: int) -> "PyscfCalculator | None":
        p = self.params
        if p.level_shift_Ha == 0.0 and not p.newton:
            return PyscfCalculator(dataclasses.replace(
                p, max_cycle=2 * p.max_cycle, level_shift_Ha=0.2, damp=0.5))
        if not p.newton:
            return PyscfCalculator(dataclasses.replace(p, newton=True, level_shift_Ha=0.0,
                                                       damp=0.0))
        return None


def _molecule(atoms: Atoms, p: Any) -> Any:
    from pyscf import gto

    return gto.M(atom=[(s, tuple(x)) for s, x in zip(atoms.get_chemical_symbols(),
                                                      atoms.positions)],
                 basis=p.basis, charge=p.charge, spin=p.spin, unit="Angstrom", verbose=0)


def _cell(atoms: Atoms, p: Any) -> Any:
    from pyscf.pbc import gto

    if not atoms.pbc.all():
        raise CalculationFailed(FailureKind.INVALID, "pyscf needs all three directions periodic "
                                f"or none (pbc = {atoms.pbc.tolist()})")
    cell = gto.Cell()
    cell.atom = [(s, tuple(x)) for s, x in zip(atoms.get_chemical_symbols(), atoms.positions)]
    cell.a = np.asarray(atoms.cell)
    cell.basis, cell.pseudo, cell.unit, cell.verbose = p.periodic_basis, p.pseudo, "Angstrom", 0
    cell.charge, cell.spin = p.charge, p.spin
    if p.ke_cutoff_eV is not None:
        cell.ke_cutoff = p.ke_cutoff_eV / HARTREE_EV
    cell.build()
    return cell
