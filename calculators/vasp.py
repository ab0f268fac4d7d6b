"""VASP reference calculator: INCAR, KPOINTS, POSCAR, POTCAR in; vasprun.xml / OUTCAR parsed by ASE.

Settings are those that make sense for training data: no symmetry (``ISYM = 0``), a single
point (``IBRION = -1``, ``NSW = 0``), forces always and the stress tensor on cells periodic in
all directions (``ISIF = 2``; ``ISIF = 0`` for a molecule in a box, computed at Γ only).  Atoms
are grouped by species for POSCAR (order of first appearance) and POTCAR is concatenated in the
same order from ``<pseudo_dir>/<setup>/POTCAR`` with per-element setups (``{Li = "Li_sv"}``);
the permutation is recorded in the attempt so labels come back in the structure's own order.

Electronic non-convergence is read from OUTCAR (``aborting loop EDIFF was not reached``, VASP 6)
or, for VASP 5, from the number of electronic steps in vasprun.xml reaching NELM; a run without
OUTCAR's closing timing section was killed or truncated.  WAVECAR / CHGCAR are deleted unless
kept by policy; OUTCAR and vasprun.xml are gzipped once read.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from alearn.config.schema import Invalid, option
from alearn.data.records import Labels
from alearn.errors import UserError
from alearn.config.dispatch import Profile, ReferenceParams
from alearn.label.protocol import CalculationFailed, FailureKind
from alearn_calculators import dft_common as common

UNCONVERGED_MARKER = "aborting loop EDIFF was not reached"
CONVERGED_MARKER = "aborting loop because EDIFF is reached"
FINISHED_MARKER = "General timing and accounting informations for this job"
XC_TAGS = {
    "PBE": {"GGA": "PE"}, "PBESOL": {"GGA": "PS"}, "RPBE": {"GGA": "RP"}, "REVPBE": {"GGA": "RE"},
    "LDA": {}, "SCAN": {"METAGGA": "SCAN"}, "R2SCAN": {"METAGGA": "R2SCAN"},
    "HSE06": {"GGA": "PE", "LHFCALC": ".TRUE.", "HFSCREEN": "0.2"},
    "PBE0": {"GGA": "PE", "LHFCALC": ".TRUE."},
}


@dataclass(frozen=True, kw_only=True)
class VaspParams(ReferenceParams):
    """[reference] kind = "vasp" — the science of a VASP calculation (not where it runs)."""

    kind: Literal["vasp"] = option("vasp", doc="reference code: VASP")
    xc: Literal["PBE", "PBEsol", "RPBE", "revPBE", "LDA", "SCAN", "r2SCAN", "HSE06", "PBE0"] = option("PBE", doc="exchange-correlation functional (sets GGA / METAGGA / LHFCALC, HFSCREEN); POTCARs must match (PBE PAW for all but LDA)")
    encut_eV: float = option(520.0, doc="plane-wave cutoff ENCUT", unit="eV", gt=0.0)
    prec: Literal["Normal", "Accurate"] = option("Accurate", doc="PREC")
    ediff_eV: float = option(1e-6, doc="electronic convergence EDIFF", unit="eV", gt=0.0)
    nelm: int = option(100, doc="maximum electronic steps NELM of the first attempt (recovery raises it)", ge=1)
    algo: Literal["Normal", "Fast", "VeryFast", "All", "Damped"] = option("Normal", doc="electronic minimiser ALGO of the first attempt")
    ismear: int = option(0, doc="smearing ISMEAR (0: Gaussian, -1: Fermi, 1: Methfessel-Paxton)", ge=-5, le=5)
    sigma_eV: float = option(0.05, doc="smearing width SIGMA", unit="eV", gt=0.0)
    ispin: int = option(1, doc="ISPIN: 1 (no spin) or 2 (collinear, starting from magmom or the structure's initial moments)", ge=1, le=2)
    magmom: float = option(0.6, doc="initial moment per atom for ispin = 2 when the structure has none (Bohr magnetons)")
    charge: float = option(0.0, doc="total charge (sets NELECT from the POTCARs' ZVAL)")
    kpoint_density: float = option(3.5, doc="k-points per Å⁻¹ (2π included) along periodic directions of a Γ-centred mesh", unit="1/Å", gt=0.0)
    kpoints: tuple[int, ...] = option((), doc="explicit Γ-centred mesh (three integers); overrides kpoint_density")
    setups: dict[str, str] = option(factory=dict, doc="POTCAR folder per element under pseudo_dir, e.g. {Li = \"Li_sv\", O = \"O\"}; default: the element symbol")
    lreal: Literal["Auto", ".FALSE."] = option(".FALSE.", doc="LREAL (real-space projection): .FALSE. for accurate forces, Auto for large cells")
    ivdw: int = option(0, doc="IVDW dispersion correction (0: none, 11: D3, 12: D3(BJ))", ge=0)
    keep_wavecar: bool = option(False, doc="write and keep WAVECAR (large); otherwise LWAVE = .FALSE. and any WAVECAR is deleted")
    keep_chgcar: bool = option(False, doc="write and keep CHGCAR (large); otherwise LCHARG = .FALSE. and CHGCAR / CHG are deleted")
    compress_outputs: bool = option(True, doc="gzip OUTCAR and vasprun.xml once read")
    extra: dict[str, str] = option(factory=dict, doc="further INCAR tags written verbatim, e.g. {NCORE = \"4\", KPAR = \"2\"}")
    code_version: str = option("", doc="label of the VASP build (e.g. \"6.4.2\"); part of the job hash")
    recovery_steps: int = option(3, doc="recovery recipes to try after electronic non-convergence (0 disables)", ge=0, le=3)

    def check(self) -> None:
        if self.kpoints and (len(self.kpoints) != 3 or min(self.kpoints) < 1):
            raise Invalid("kpoints", f"found {list(self.kpoints)}, expected three positive integers")
        for symbol in self.setups:
            if symbol not in atomic_numbers:
                raise Invalid(f"setups.{symbol}", "is not a chemical element")
        reserved = {"ISYM", "IBRION", "NSW", "ISIF"}.intersection(k.upper() for k in self.extra)
        if reserved:
            raise Invalid("extra", f"sets {', '.join(sorted(reserved))}, which the plugin fixes for single-point training data")


def _recipe_all(p: VaspParams) -> tuple[VaspParams, str]:
    new = dataclasses.replace(p, algo="All", nelm=max(p.nelm * 2, 200))
    return new, f"ALGO {p.algo} -> All, NELM {p.nelm} -> {new.nelm}"


def _recipe_damped(p: VaspParams) -> tuple[VaspParams, str]:
    extra = {**p.extra, "TIME": "0.4", "AMIX": "0.1", "BMIX": "0.01"}
    new = dataclasses.replace(p, algo="Damped", nelm=p.nelm * 2, extra=extra)
    return new, f"ALGO -> Damped (TIME 0.4, AMIX 0.1, BMIX 0.01), NELM -> {new.nelm}"


def _recipe_smearing(p: VaspParams) -> tuple[VaspParams, str]:
    sigma = max(p.sigma_eV * 2.0, 0.1)
    new = dataclasses.replace(p, ismear=0, sigma_eV=sigma)
    return new, (f"ISMEAR {p.ismear} SIGMA {p.sigma_eV:g} -> ISMEAR 0 SIGMA {sigma:g} "
                 "(changes the smearing: energies differ slightly from other rows)")


RECIPES = (_recipe_all, _recipe_damped, _recipe_smearing)


def species_order(atoms: Atoms) -> tuple[list[str], np.ndarray]:
    """Species in order of first appearance and the permutation grouping atoms by species."""
    symbols = atoms.get_chemical_symbols()
    species = list(dict.fromkeys(symbols))
    rank = {s: i for i, s in enumerate(species)}
    order = np.array(sorted(range(len(symbols)), key=lambda i: (rank[symbols[i]], i)), dtype=int)
    return species, order


def potcar_path(pseudo_dir: Path, setup: str) -> Path:
    """``<pseudo_dir>/<setup>/POTCAR`` (VASP's own layout, e.g. potpaw_PBE/Li_sv/POTCAR)."""
    return Path(pseudo_dir) / setup / "POTCAR"


def potcar_text(params: VaspParams, species: list[str], pseudo_dir: Path | None) -> str:
    """The POTCAR: one dataset per species, in POSCAR order."""
    if pseudo_dir is None:
        raise UserError("VASP needs POTCARs: set pseudo_dir in [reference.profile] to the folder "
                        "holding <setup>/POTCAR (e.g. .../potpaw_PBE)")
    parts = []
    for symbol in species:
        path = potcar_path(pseudo_dir, params.setups.get(symbol, symbol))
        if not path.is_file():
            raise UserError(f"POTCAR for {symbol} not found: expected {path}; check pseudo_dir in "
                            "[reference.profile] and [reference] setups")
        parts.append(path.read_text().rstrip("\n") + "\n")
    return "".join(parts)


def zvals(potcar: str) -> list[float]:
    """Valence electrons of each dataset of a POTCAR (``ZVAL   =    6.000``)."""
    return [float(v) for v in re.findall(r"ZVAL\s*=\s*([-+0-9.Ee]+)", potcar)]


def incar_tags(params: VaspParams, atoms: Atoms, counts: list[int], potcar: str) -> dict[str, str]:
    """The INCAR as ordered tags for the grouped structure."""
    tags = {"SYSTEM": "alearn", "PREC": params.prec, "ENCUT": common.format_number(params.encut_eV),
            "EDIFF": common.format_number(params.ediff_eV), "NELM": str(params.nelm),
            "ALGO": params.algo, "ISMEAR": str(params.ismear),
            "SIGMA": common.format_number(params.sigma_eV), "ISPIN": str(params.ispin),
            "ISYM": "0", "IBRION": "-1", "NSW": "0", "ISIF": "2" if atoms.pbc.all() else "0",
            "LREAL": params.lreal, "LWAVE": ".TRUE." if params.keep_wavecar else ".FALSE.",
            "LCHARG": ".TRUE." if params.keep_chgcar else ".FALSE."}
    tags.update(XC_TAGS[params.xc.upper()])
    if params.ivdw:
        tags["IVDW"] = str(params.ivdw)
    if params.charge:
        valence = zvals(potcar)
        if len(valence) != len(counts):
            raise UserError("could not read ZVAL of every POTCAR dataset; NELECT for a charged "
                            "system needs them")
        tags["NELECT"] = common.format_number(float(np.dot(valence, counts)) - params.charge)
    if params.ispin == 2:
        tags["MAGMOM"] = _magmom(params, atoms)
    tags.update({key.upper(): value for key, value in params.extra.items()})
    return tags


def _magmom(params: VaspParams, atoms: Atoms) -> str:
    moments = atoms.get_initial_magnetic_moments()
    if not np.any(moments):
        moments = np.full(len(atoms), params.magmom)
    return " ".join(common.format_number(m) for m in moments)


def kpoints_text(params: VaspParams, atoms: Atoms) -> str:
    """KPOINTS: a Γ-centred mesh; Γ only for a structure not periodic in all directions."""
    grid = common.kpoint_grid(atoms, params.kpoint_density, params.kpoints)
    if not atoms.pbc.any():
        grid = (1, 1, 1)
    return (f"alearn mesh (k-point density {params.kpoint_density:g} per 1/A)\n0\nGamma\n"
            f"  {grid[0]} {grid[1]} {grid[2]}\n  0 0 0\n")


def _boxed(atoms: Atoms) -> Atoms:
    if abs(atoms.cell.volume) < 1e-6:
        raise UserError("VASP needs a cell: put the molecule in a box (ase's atoms.center(vacuum=...))")
    return atoms


def write_vasp_inputs(params: VaspParams, atoms: Atoms, workdir: Path, pseudo_dir: Path | None) -> list[int]:
    """Write INCAR, KPOINTS, POSCAR, POTCAR; returns the POSCAR order (indices into ``atoms``)."""
    from ase.io import write

    atoms = _boxed(atoms)
    species, order = species_order(atoms)
    grouped = atoms[order]
    counts = [int(np.sum(grouped.symbols == s)) for s in species]
    potcar = potcar_text(params, species, pseudo_dir)
    tags = incar_tags(params, grouped, counts, potcar)
    (workdir / "INCAR").write_text("".join(f"{key} = {value}\n" for key, value in tags.items()))
    (workdir / "KPOINTS").write_text(kpoints_text(params, atoms))
    write(workdir / "POSCAR", grouped, format="vasp", direct=True, sort=False)
    (workdir / "POTCAR").write_text(potcar)
    return [int(i) for i in order]


class VaspCalculator(common.FileCalculator):
    """VASP through files; constructed as ``VaspCalculator(params)``.  Recovery after
    electronic non-convergence: ALGO All, then Damped, then more smearing."""

    name: ClassVar[str] = "vasp"
    Params: ClassVar[type] = VaspParams
    default_command: ClassVar[str] = "vasp_std"
    code: ClassVar[str] = "vasp"
    program: ClassVar[str] = "VASP"
    recipes = RECIPES

    def write_files(self, atoms: Atoms, workdir: Path, profile: Profile) -> dict[str, Any]:
        order = write_vasp_inputs(self.params, atoms, workdir, profile.pseudo_dir)
        return {"order": order, "periodic": bool(atoms.pbc.all())}

    def read_results(self, workdir: Path) -> Labels:
        labels = read_vasp_results(Path(workdir))
        p = self.params
        delete = ([] if p.keep_wavecar else ["WAVECAR"]) + ([] if p.keep_chgcar else ["CHGCAR", "CHG"])
        compress = ["OUTCAR", "vasprun.xml"] if p.compress_outputs else []
        common.apply_output_policy(Path(workdir), compress_names=compress, delete_names=delete)
        return labels


def classify_outcar(text: str | None) -> CalculationFailed | None:
    """Judge a run from OUTCAR's text; ``None`` when it finished (convergence checked later too)."""
    if text is None or not text.strip():
        return CalculationFailed(FailureKind.INFRASTRUCTURE, "no OUTCAR (VASP did not start)")
    if UNCONVERGED_MARKER in text:
        steps = text.count("Iteration")
        return CalculationFailed(FailureKind.PHYSICS, f"electronic steps reached NELM without "
                                 f"EDIFF ({UNCONVERGED_MARKER!r} in OUTCAR, {steps} steps)")
    if FINISHED_MARKER not in text:
        return CalculationFailed(FailureKind.INFRASTRUCTURE, "OUTCAR has no closing timing section: "
                                 "VASP was killed or its output is truncated")
    return None


def _parse_xml(path: Path) -> tuple[Atoms, int]:
    """The last ionic step through ASE, and its number of electronic steps."""
    import xml.etree.ElementTree as ET

    from ase.io import read

    with tempfile.TemporaryDirectory() as scratch:
        plain = common.gunzipped(path, Path(scratch))
        atoms = read(plain, format="vasp-xml", index=-1)
        steps = 0
        for _, elem in ET.iterparse(plain, events=("end",)):
            if elem.tag == "calculation":
                steps = len(elem.findall("scstep"))
                elem.clear()
    return atoms, steps


def read_vasp_results(workdir: Path) -> Labels:
    """Labels in the original atom order, or :class:`CalculationFailed` with the reason."""
    outcar = common.find_output(workdir, "OUTCAR")
    text = common.read_text(outcar) if outcar is not None else None
    failure = classify_outcar(text)
    if failure is not None:
        raise failure
    xml = common.find_output(workdir, "vasprun.xml")
    if xml is None:
        raise CalculationFailed(FailureKind.INFRASTRUCTURE, "no vasprun.xml although OUTCAR is complete")
    try:
        atoms, steps = _parse_xml(xml)
    except Exception as exc:  # ASE / ElementTree raise assorted errors on broken files
        raise CalculationFailed(FailureKind.INFRASTRUCTURE, f"vasprun.xml unreadable: {exc}") from None
    nelm = int(atoms.calc.parameters.get("nelm", 0) or 0) if atoms.calc is not None else 0
    if CONVERGED_MARKER not in text and nelm and steps >= nelm:
        raise CalculationFailed(FailureKind.PHYSICS, f"{steps} electronic steps = NELM without "
                                "reaching EDIFF (vasprun.xml)")
    record = common.read_attempt_record(workdir)
    return _labels(atoms, record, {"code": "vasp", "code_version": _version(text),
                                   "scf_iterations": steps, "recovery": record.get("recovery", [])})


def _version(text: str) -> str | None:
    match = re.search(r"^\s*vasp\.(\S+)", text, flags=re.M)
    return match.group(1) if match else None


def _labels(atoms: Atoms, record: dict[str, Any], extra: dict[str, Any]) -> Labels:
    calc = atoms.calc
    if calc is None or "forces" not in calc.results:
        raise CalculationFailed(FailureKind.INFRASTRUCTURE, "vasprun.xml holds no finished ionic step")
    energy = float(calc.results.get("free_energy", calc.results.get("energy")))
    forces = np.asarray(calc.results["forces"], dtype=float)
    order = np.asarray(record.get("order", range(len(atoms))), dtype=int)
    if forces.shape != (len(order), 3) or not np.isfinite(energy) or not np.all(np.isfinite(forces)):
        raise CalculationFailed(FailureKind.INVALID, "vasprun.xml has non-finite or misshapen results")
    original = np.empty_like(forces)
    original[order] = forces
    stress = calc.results.get("stress")
    if stress is not None and record.get("periodic", True):
        stress = np.asarray(stress, dtype=float)
    else:
        stress = None
    return Labels(energy=energy, forces=original, stress=stress, extra=extra)


def dry_run_lines(params: VaspParams) -> list[str]:
    """The shell lines one calculation with ``params`` runs, for ``alearn run --dry-run``."""
    return VaspCalculator(params).dry_run(params.profile)
