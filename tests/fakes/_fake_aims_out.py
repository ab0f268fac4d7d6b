"""The text of a fake ``aims.out``, laid out like FHI-aims' real output (MD_light-style SCF table).

Section headers and line formats follow real FHI-aims output files (verified against ASE's
``aims-output`` reader in the tests): the control.in / geometry.in echo, ``| Number of atoms``,
``The structure contains ... electrons.``, ``| Unit cell:``, ``| Atomic structure:``, the
``Convergence:    q app. |  density  | ...`` table, ``Total energy components``,
``Self-consistency cycle converged.``, the analytical stress box, ``Energy and forces in a
compact form``, ``Total atomic forces (unitary forces cleaned) [eV/Ang]:``, the timing footer and
``Have a nice day.``.
"""

from __future__ import annotations

import sys

import numpy as np
from ase import Atoms

import _fake_common as common

HARTREE_EV = 27.2113845
RULE = "-" * 60


def _echo(name: str, text: str) -> list[str]:
    bar = "  " + "-" * 71
    return [bar, f"  Parsing {name} (first pass over file, find array dimensions only).",
            f"  The contents of {name} will be repeated verbatim below",
            "  unless switched off by setting 'verbatim_writeout .false.' .",
            f"  in the first line of {name} .", bar, "  ",
            *(f"  {line}" for line in text.splitlines()), "  ", bar,
            f"  Completed first pass over input file {name} .", bar, "  "]


class AimsRun:
    """One fake FHI-aims run: its inputs and the output it prints."""

    def __init__(self, atoms: Atoms, keywords: dict[str, list[str]], species: list[str],
                 control: str, geometry: str) -> None:
        self.atoms = atoms
        self.keywords = keywords
        self.species = species
        self.control = control
        self.geometry = geometry
        self.periodic = bool(atoms.pbc.any())
        self.spin = keywords.get("spin", ["none"])[0] == "collinear"

    def check_inputs(self) -> None:
        """Refuse input FHI-aims would refuse (missing species definition, missing k_grid)."""
        for symbol in dict.fromkeys(self.atoms.get_chemical_symbols()):
            if symbol not in self.species:
                common.fail(f"* Species {symbol} in geometry.in has no species definition in control.in. Aborting.")
        if self.periodic and "k_grid" not in self.keywords:
            common.fail("* Periodic geometry but no k_grid in control.in. Aborting.")
        if "xc" not in self.keywords:
            common.fail("* No exchange-correlation functional (xc) in control.in. Aborting.")

    def flag(self, name: str) -> bool:
        return self.keywords.get(name, [".false."])[0].lower() == ".true."

    def render(self, iterations: int, converged: bool) -> str:
        """The whole aims.out text."""
        with_stress = self.flag("compute_analytical_stress") and bool(self.atoms.pbc.all())
        energy, forces, stress = common.compute(self.atoms, with_stress)
        lines = self.header() + self.scf_table(iterations, energy)
        if not converged:
            lines += self.not_converged()
            return "\n".join(lines) + "\n"
        lines += self.energy_components(energy) + ["", "  Self-consistency cycle converged.", ""]
        if stress is not None:
            lines += self.stress_box(stress)
        lines += self.compact(energy, forces if self.flag("compute_forces") else None)
        lines += self.footer(energy, iterations)
        return "\n".join(lines) + "\n"

    def electrons(self) -> float:
        charge = float(self.keywords.get("charge", ["0"])[0])
        return float(self.atoms.get_atomic_numbers().sum()) - charge

    def header(self) -> list[str]:
        atoms = self.atoms
        lines = [RULE, "          Invoking FHI-aims ...", RULE, "",
                 "  Date     :  20261122, Time     :  051500.000",
                 "  FHI-aims version      : 240507-fake", "  Commit number         : 0000000",
                 "  Using        1 parallel tasks.", "  Task        0 on host fake reporting.", "",
                 "  Obtaining array dimensions for all initial allocations:", "  "]
        lines += _echo("control.in", self.control) + _echo("geometry.in", self.geometry)
        lines += ["", "  Basic array size parameters:",
                  f"  | Number of species                 : {len(self.species):8d}",
                  f"  | Number of atoms                   : {len(atoms):8d}",
                  f"  | Number of lattice vectors         : {3 if self.periodic else 0:8d}",
                  f"  | Number of spin channels           : {2 if self.spin else 1:8d}", "",
                  RULE, "          Reading file control.in.", RULE, self.xc_line(),
                  self.occupation_line(), "  Forces will be computed." if self.flag("compute_forces") else "",
                  "", "  Finished reading input file 'control.in'.", "", RULE, "",
                  RULE, "          Reading geometry description geometry.in.", RULE,
                  "  Input structure read successfully.",
                  f"  The structure contains {len(atoms):8d} atoms,  and a total of {self.electrons():14.3f} electrons.",
                  "", "  Input geometry:"]
        lines += self.geometry_block() + self.sizes()
        return lines

    def xc_line(self) -> str:
        return f"  XC: Using {' '.join(self.keywords['xc']).upper()} functional (fake)."

    def occupation_line(self) -> str:
        kind, width = (self.keywords.get("occupation_type", ["gaussian", "0.01"]) + ["0.01"])[:2]
        return f"  Occupation type: {kind.capitalize()} broadening, width = {float(width):13.6E} eV."

    def geometry_block(self) -> list[str]:
        lines = []
        if self.periodic:
            lines.append("  | Unit cell:")
            lines += [f"  | {v[0]:17.8f} {v[1]:17.8f} {v[2]:17.8f}" for v in self.atoms.cell]
        lines += ["  | Atomic structure:", "  |       Atom                x [A]            y [A]            z [A]"]
        for i, (symbol, pos) in enumerate(zip(self.atoms.get_chemical_symbols(), self.atoms.positions), 1):
            lines.append(f"  | {i:4d}: Species {symbol:<2s}       {pos[0]:17.8f}{pos[1]:17.8f}{pos[2]:17.8f}")
        return lines + [""]

    def sizes(self) -> list[str]:
        states = int(self.electrons() // 2) + 4 * len(self.atoms)
        lines = ["  Structure-dependent array size parameters: ",
                 f"  | Maximum number of basis functions            : {5 * len(self.atoms):8d}",
                 f"  | Number of Kohn-Sham states (occupied + empty): {states:8d}", RULE, ""]
        if self.periodic:
            grid = [int(n) for n in self.keywords["k_grid"]]
            lines += ["  Initializing the k-points",
                      f"  | Number of k-points                             : {int(np.prod(grid)):8d}", ""]
        return lines + [RULE, "          Begin self-consistency loop: Initialization.", "",
                        "          Date     :  20261122, Time     :  051500.100", RULE]

    def scf_table(self, iterations: int, energy: float) -> list[str]:
        if self.spin:
            head = "Convergence:    q app. |  density,  spin     | eigen (eV) | Etot (eV) | forces (eV/A) |       CPU time |     Clock time"
        else:
            head = "Convergence:    q app. |  density  | eigen (eV) | Etot (eV) | forces (eV/A) |       CPU time |     Clock time"
        lines = [head]
        for i in range(1, iterations + 1):
            rho = 0.6 * 0.5 ** i
            lines.append(f"  SCF {i:4d} :  0.00E+00 | {rho:9.2E} | {-rho * 40:10.2E} | {rho:9.2E} |"
                         f"             . | {0.01:12.3f} s | {0.01:12.3f} s")
        return lines + [""]

    def not_converged(self) -> list[str]:
        """FHI-aims' warning box, then its collective stop (``aims_stop_coll``: message on
        stdout and stderr, MPI_Finalize, ``stop`` — exit status 0)."""
        print(" *** scf_solver: SCF cycle not converged.", file=sys.stderr)
        return ["  " + RULE, "  * WARNING! SELF-CONSISTENCY CYCLE DID NOT CONVERGE",
                "  * USING YOUR PRESELECTED ACCURACY CRITERIA.",
                "  * DO NOT RELY ON ANY FINAL DATA WITHOUT FURTHER CHECKS.", "  " + RULE, "",
                " *** scf_solver: SCF cycle not converged.", ""]

    def energy_components(self, energy: float) -> list[str]:
        ha = energy / HARTREE_EV
        return ["  Total energy components:",
                f"  | Sum of eigenvalues            : {ha * 0.6:20.8f} Ha {energy * 0.6:20.8f} eV",
                "  | ---------------------------",
                f"  | Total energy                  : {ha:20.8f} Ha {energy:20.8f} eV",
                f"  | Total energy, T -> 0          : {ha:20.8f} Ha {energy:20.8f} eV  <-- do not rely on this value for anything but (periodic) metals",
                f"  | Electronic free energy        : {ha:20.8f} Ha {energy:20.8f} eV"]

    def stress_box(self, stress: np.ndarray) -> list[str]:
        from ase.stress import voigt_6_to_full_3x3_stress

        full = voigt_6_to_full_3x3_stress(stress)
        edge = "  +-------------------------------------------------------------------+"
        rows = [f"  |  {axis}   {r[0]:16.8f} {r[1]:16.8f} {r[2]:16.8f}           |" for axis, r in zip("xyz", full)]
        return [edge, "  |              Analytical stress tensor - Symmetrized               |",
                "  |                  Cartesian components [eV/A**3]                   |", edge,
                "  |                x                y                z                |",
                "  |                                                                   |", *rows,
                "  |                                                                   |",
                f"  |  Pressure: {-np.trace(full) / 3:16.8f}   [eV/A**3]                           |",
                "  |                                                                   |", edge]

    def compact(self, energy: float, forces: np.ndarray | None) -> list[str]:
        lines = ["  Energy and forces in a compact form:",
                 f"  | Total energy uncorrected      :         {energy:22.15E} eV",
                 f"  | Total energy corrected        :         {energy:22.15E} eV  <-- do not rely on this value for anything but (periodic) metals",
                 f"  | Electronic free energy        :         {energy:22.15E} eV"]
        if forces is not None:
            lines.append("  Total atomic forces (unitary forces cleaned) [eV/Ang]:")
            lines += [f"  | {i:4d}     {f[0]:25.15E} {f[1]:25.15E} {f[2]:25.15E}" for i, f in enumerate(forces, 1)]
        return lines + ["", ""]

    def footer(self, energy: float, iterations: int) -> list[str]:
        return ["-" * 78, "  Final output of selected total energy values:", "",
                f"  | Total energy of the DFT / Hartree-Fock s.c.f. calculation      : {energy:24.9f} eV",
                "-" * 78, "", RULE, "          Leaving FHI-aims.",
                "          Date     :  20261122, Time     :  051501.000", "",
                "          Computational steps:",
                f"          | Number of self-consistency cycles          : {iterations:12d}",
                "          | Number of SCF (re)initializations          :            1", "",
                "          Detailed time accounting                     :  max(cpu_time)    wall_clock(cpu1)",
                "          | Total time                                  :        1.250 s           1.375 s",
                "", "          Have a nice day.", RULE]


if __name__ == "__main__":  # pragma: no cover - helper module, not a program
    sys.exit("helper module of the fake aims.x")
