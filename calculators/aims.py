"""FHI-aims reference calculator: ``control.in`` + ``geometry.in`` in, ``aims.out`` parsed by ASE.

``control.in`` is written from :class:`AimsParams` followed by the species defaults
(``light`` / ``intermediate`` / ``tight`` / ``really_tight``) copied verbatim from the species
directory of the machine profile, FHI-aims' own layout
``<species_dir>/<level>/<ZZ>_<Symbol>_default``.  ``geometry.in`` is written by ASE.

The outcome is judged from the text of ``aims.out``, never from the exit code alone: a run that
prints FHI-aims' SCF warning (``WARNING! SELF-CONSISTENCY CYCLE DID NOT CONVERGE``) or its stop
message (``scf_solver: SCF cycle not converged``) is a *physics* failure; a run that does not end
with ``Have a nice day.`` was killed or truncated (*infrastructure*).  Energies, forces and
stress are read by ASE's ``aims-output`` reader.
"""

from __future__ import annotations

import dataclasses
import tempfile
import warnings
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
from alearn.label.protocol import STDOUT, CalculationFailed, FailureKind
from alearn_calculators import dft_common as common

#: the name FHI-aims' standard output conventionally gets when run by hand
OUTPUT = "aims.out"
SPECIES_LEVELS = ("light", "intermediate", "tight", "really_tight")
HYBRIDS = ("hse06", "pbe0", "b3lyp", "hse03", "lc_wpbeh")
#: what FHI-aims prints when the s.c.f. cycle hits sc_iter_limit (with and without postprocessing)
SCF_FAILURE_MARKERS = (
    "SELF-CONSISTENCY CYCLE DID NOT CONVERGE",
    "scf_solver: SCF cycle not converged",
)
FINISHED_MARKER = "Have a nice day."

Level = Literal["light", "intermediate", "tight", "really_tight"]


@dataclass(frozen=True, kw_only=True)
class AimsParams(ReferenceParams):
    """[reference] kind = "aims" — the science of an FHI-aims calculation (not where it runs)."""

    kind: Literal["aims"] = option("aims", doc="reference code: FHI-aims")
    xc: str = option("pbe", doc="exchange-correlation functional as FHI-aims names it (pbe, pbesol, pw-lda, rpbe, scan, hse06, pbe0, b3lyp ...); hybrids get their keywords (hse06: screening hse_omega_per_bohr, hse_unit bohr-1)")
    hse_omega_per_bohr: float = option(0.11, doc="HSE screening parameter ω (0.11 bohr⁻¹ is HSE06)", gt=0.0)
    relativistic: Literal["none", "atomic_zora"] = option("atomic_zora", doc="relativistic treatment: atomic_zora (scalar, FHI-aims' recommendation and seed 004's choice) or none (light elements only)")
    species_level: Level = option("light", doc="species defaults (basis and grids) copied from the profile's species_dir: light, intermediate, tight, really_tight")
    species_levels: dict[str, Level] = option(factory=dict, doc="per-element species level overriding species_level, e.g. {Li = \"tight\"}")
    spin: Literal["none", "collinear"] = option("none", doc="spin treatment; collinear starts from default_initial_moment on every atom (or the structure's initial magnetic moments)")
    default_initial_moment: float = option(0.0, doc="initial spin moment per atom for spin = collinear (Bohr magnetons)")
    charge: float = option(0.0, doc="total charge of the system (electrons removed, e)")
    occupation_type: Literal["gaussian", "fermi", "methfessel-paxton", "cold"] = option("gaussian", doc="occupation smearing function")
    occupation_width_eV: float = option(0.01, doc="smearing width", unit="eV", gt=0.0)
    kpoint_density: float = option(3.5, doc="k-points per Å⁻¹ (2π included, ASE's convention) along periodic directions; ignored for molecules", unit="1/Å", gt=0.0)
    k_grid: tuple[int, ...] = option((), doc="explicit k_grid for periodic cells (three integers, e.g. [5, 5, 1] as in seed 004); overrides kpoint_density")
    sc_accuracy_rho: float = option(1e-5, doc="s.c.f. convergence of the density", gt=0.0)
    sc_accuracy_eev: float | None = option(None, doc="s.c.f. convergence of the eigenvalue sum (not written when unset; recent FHI-aims releases need only rho and forces)", unit="eV", gt=0.0)
    sc_accuracy_etot: float | None = option(None, doc="s.c.f. convergence of the total energy (not written when unset)", unit="eV", gt=0.0)
    sc_accuracy_forces: float | None = option(1e-4, doc="s.c.f. convergence of the forces (not written when unset)", unit="eV/Å", gt=0.0)
    sc_iter_limit: int = option(100, doc="maximum s.c.f. iterations of the first attempt (recovery raises it)", ge=1)
    charge_mix_param: float | None = option(None, doc="density mixing parameter (FHI-aims default when unset; recovery lowers it)", gt=0.0, le=1.0)
    vdw: Literal["none", "ts", "mbd"] = option("none", doc="dispersion correction: ts (vdw_correction_hirshfeld) or mbd (many_body_dispersion)")
    compute_stress: bool = option(True, doc="request the analytical stress for cells periodic in all three directions")
    extra: dict[str, str] = option(factory=dict, doc="further control.in keywords written verbatim, e.g. {KS_method = \"elpa\"}")
    code_version: str = option("", doc="label of the FHI-aims build (e.g. \"240507\"); part of the job hash, change it when the build changes")
    recovery_steps: int = option(3, doc="recovery recipes to try after an s.c.f. failure (0 disables recovery)", ge=0, le=3)
    compress_outputs: bool = option(True, doc="gzip aims.out once it has been read")

    def check(self) -> None:
        if self.k_grid and (len(self.k_grid) != 3 or min(self.k_grid) < 1):
            raise Invalid("k_grid", f"found {list(self.k_grid)}, expected three positive integers")
        for symbol in self.species_levels:
            if symbol not in atomic_numbers:
                raise Invalid(f"species_levels.{symbol}", "is not a chemical element")


def _recipe_more_iterations(p: AimsParams) -> tuple[AimsParams, str]:
    new = dataclasses.replace(p, sc_iter_limit=p.sc_iter_limit * 2)
    return new, f"sc_iter_limit {p.sc_iter_limit} -> {new.sc_iter_limit}"


def _recipe_gentle_mixing(p: AimsParams) -> tuple[AimsParams, str]:
    mix = min(p.charge_mix_param or 0.05, 0.05) / 2.0
    new = dataclasses.replace(p, charge_mix_param=mix, sc_iter_limit=p.sc_iter_limit * 2)
    return new, f"charge_mix_param -> {mix:g}, sc_iter_limit -> {new.sc_iter_limit}"


def _recipe_broader_occupation(p: AimsParams) -> tuple[AimsParams, str]:
    width = max(p.occupation_width_eV * 5.0, 0.05)
    new = dataclasses.replace(p, occupation_type="gaussian", occupation_width_eV=width)
    return new, (f"occupation_type {p.occupation_type} {p.occupation_width_eV:g} -> gaussian "
                 f"{width:g} eV (changes the smearing: energies differ slightly from other rows)")


RECIPES = (_recipe_more_iterations, _recipe_gentle_mixing, _recipe_broader_occupation)


def species_file(species_dir: Path, level: str, symbol: str) -> Path:
    """The species defaults file of an element in FHI-aims' layout (``03_Li_default``)."""
    return Path(species_dir) / level / f"{atomic_numbers[symbol]:02d}_{symbol}_default"


def species_blocks(params: AimsParams, symbols: list[str], species_dir: Path | None) -> str:
    """The species sections for ``control.in``, one per element in order of first appearance."""
    if species_dir is None:
        raise UserError("FHI-aims needs the species defaults: set species_dir in "
                        "[reference.profile] to FHI-aims' species_defaults/defaults_2020 folder")
    blocks = []
    for symbol in dict.fromkeys(symbols):
        level = params.species_levels.get(symbol, params.species_level)
        path = species_file(species_dir, level, symbol)
        if not path.is_file():
            raise UserError(f"FHI-aims species defaults for {symbol} ({level}) not found: expected "
                            f"{path}; check species_dir in [reference.profile] and species_level")
        blocks.append(path.read_text().rstrip("\n") + "\n")
    return "".join(blocks)


def _xc_lines(params: AimsParams) -> list[str]:
    xc = params.xc.strip().lower()
    if xc in ("hse06", "hse03"):
        return [f"xc                     {xc} {common.format_number(params.hse_omega_per_bohr)}",
                "hse_unit               bohr-1"]
    return [f"xc                     {xc}"]


def _spin_lines(params: AimsParams, atoms: Atoms) -> list[str]:
    if params.spin == "none":
        return ["spin                   none"]
    lines = ["spin                   collinear"]
    if not np.any(atoms.get_initial_magnetic_moments()):
        lines.append(f"default_initial_moment {common.format_number(params.default_initial_moment)}")
    return lines


def _scf_lines(params: AimsParams) -> list[str]:
    lines = [
        f"occupation_type        {params.occupation_type} {common.format_number(params.occupation_width_eV)}",
        f"sc_accuracy_rho        {common.format_number(params.sc_accuracy_rho)}",
    ]
    for name in ("sc_accuracy_eev", "sc_accuracy_etot", "sc_accuracy_forces"):
        value = getattr(params, name)
        if value is not None:
            lines.append(f"{name:<22} {common.format_number(value)}")
    lines.append(f"sc_iter_limit          {params.sc_iter_limit}")
    if params.charge_mix_param is not None:
        lines.append(f"charge_mix_param       {common.format_number(params.charge_mix_param)}")
    return lines


def _periodic_lines(params: AimsParams, atoms: Atoms) -> list[str]:
    if not atoms.pbc.any():
        return []
    grid = common.kpoint_grid(atoms, params.kpoint_density, params.k_grid)
    lines = [f"k_grid                 {grid[0]} {grid[1]} {grid[2]}"]
    if params.compute_stress and atoms.pbc.all():
        lines.append("compute_analytical_stress .true.")
    return lines


def control_text(params: AimsParams, atoms: Atoms, species_dir: Path | None) -> str:
    """The complete ``control.in`` for ``atoms``."""
    relativistic = "atomic_zora scalar" if params.relativistic == "atomic_zora" else "none"
    lines = ["# control.in written by alearn (FHI-aims plugin)", *_xc_lines(params),
             f"relativistic           {relativistic}", *_spin_lines(params, atoms),
             f"charge                 {common.format_number(params.charge)}", *_scf_lines(params),
             *_periodic_lines(params, atoms),
             "compute_forces         .true."]
    if params.vdw == "ts":
        lines.append("vdw_correction_hirshfeld")
    elif params.vdw == "mbd":
        lines.append("many_body_dispersion")
    lines += [f"{key:<22} {value}" for key, value in params.extra.items()]
    return "\n".join(lines) + "\n\n" + species_blocks(params, list(atoms.symbols), species_dir)


def _check_geometry(atoms: Atoms) -> None:
    if atoms.pbc.any() and not atoms.pbc.all():
        # FHI-aims is either periodic in 3D or a cluster: a slab needs three lattice vectors
        if abs(atoms.cell.volume) < 1e-6:
            raise UserError("a slab (partly periodic structure) needs a full 3D cell with vacuum "
                            "for FHI-aims; give the structure three lattice vectors")
    elif atoms.pbc.all() and abs(atoms.cell.volume) < 1e-6:
        raise UserError("periodic structure without a cell volume; check the structure's cell")


def write_geometry(atoms: Atoms, path: Path) -> None:
    """``geometry.in`` through ASE (lattice vectors for any periodic direction, moments, charges)."""
    from ase.io import write

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        write(path, atoms, format="aims")


class AimsCalculator(common.FileCalculator):
    """FHI-aims through files; constructed as ``AimsCalculator(params)``.  Recovery after an
    s.c.f. failure: more iterations, gentler mixing, broader smearing."""

    name: ClassVar[str] = "aims"
    Params: ClassVar[type] = AimsParams
    default_command: ClassVar[str] = "aims.x"
    code: ClassVar[str] = "fhi-aims"
    program: ClassVar[str] = "FHI-aims"
    recipes = RECIPES

    def check_structure(self, atoms: Atoms) -> None:
        _check_geometry(atoms)

    def write_files(self, atoms: Atoms, workdir: Path, profile: Profile) -> dict[str, Any]:
        (workdir / "control.in").write_text(control_text(self.params, atoms, profile.species_dir))
        write_geometry(atoms, workdir / "geometry.in")
        return {"n_atoms": len(atoms)}

    def read_results(self, workdir: Path) -> Labels:
        return read_aims_results(Path(workdir), self.params.compress_outputs)


def find_aims_output(workdir: Path) -> Path | None:
    """FHI-aims' output in an attempt directory: the dispatcher's stdout file or ``aims.out``.

    FHI-aims prints its output on standard output; the dispatcher captures it in ``stdout.txt``.
    An ``aims.out`` (a run by hand, ``aims.x > aims.out``) is accepted too; gzipped forms as well.
    """
    for name in (STDOUT, OUTPUT):
        path = common.find_output(workdir, name)
        if path is not None:
            return path
    return None


def classify_output(text: str) -> CalculationFailed | None:
    """Judge an ``aims.out`` from its text: ``None`` when it finished with a converged s.c.f."""
    if not text.strip():
        return CalculationFailed(FailureKind.INFRASTRUCTURE, "aims.out is empty (FHI-aims did not start)")
    for marker in SCF_FAILURE_MARKERS:
        if marker in text:
            iterations = text.count("\n  SCF ") or text.count("Begin self-consistency iteration #")
            return CalculationFailed(FailureKind.PHYSICS, f"s.c.f. not converged ({marker!r} in "
                                     f"aims.out after {iterations} iterations)")
    tail = text.rstrip().splitlines()[-5:]
    if not any(line.strip() == FINISHED_MARKER for line in tail):
        return CalculationFailed(FailureKind.INFRASTRUCTURE, "aims.out does not end with 'Have a "
                                 "nice day.': FHI-aims was killed or its output is truncated")
    if "Self-consistency cycle converged." not in text:
        return CalculationFailed(FailureKind.PHYSICS, "FHI-aims finished without a converged s.c.f.")
    return None


def _parse(path: Path) -> dict[str, Any]:
    from ase.io import read

    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        atoms = read(common.gunzipped(path, Path(scratch)), format="aims-output")
        calc = atoms.calc
        return {"atoms": atoms, "energy": calc.results.get("free_energy"),
                "forces": calc.results.get("forces"), "stress": calc.results.get("stress")}


def _scalar(text: str, key: str) -> float | None:
    for line in reversed(text.splitlines()):
        if key in line:
            try:
                return float(line.split(":")[-1].split()[0])
            except (ValueError, IndexError):
                return None
    return None


def _extras(text: str, recovery: list[str]) -> dict[str, Any]:
    version = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                    if "FHI-aims version" in line), None)
    return {"code": "aims", "code_version": version,
            "scf_iterations": _scalar(text, "| Number of self-consistency cycles"),
            "wall_time_s": _wall_time_s(text), "recovery": recovery}


def _wall_time_s(text: str) -> float | None:
    """Wall-clock seconds from the timing footer (``| Total time : cpu s  wall s``)."""
    for line in reversed(text.splitlines()):
        if "| Total time" in line and ":" in line:
            words = line.split(":")[-1].split()
            try:
                return float(words[2])
            except (ValueError, IndexError):
                return None
    return None


def read_aims_results(workdir: Path, compress_outputs: bool = True) -> Labels:
    """Labels from an attempt directory, or :class:`CalculationFailed` with the reason."""
    path = find_aims_output(workdir)
    if path is None:
        raise CalculationFailed(FailureKind.INFRASTRUCTURE, f"no FHI-aims output ({STDOUT} or {OUTPUT}) in {workdir}")
    text = common.read_text(path)
    failure = classify_output(text)
    if failure is not None:
        raise failure
    try:
        parsed = _parse(path)
    except Exception as exc:  # ASE raises assorted errors on malformed output
        raise CalculationFailed(FailureKind.INVALID, f"ASE could not parse aims.out: {exc}") from None
    labels = _labels(parsed, workdir, _extras(text, common.read_attempt_record(workdir).get("recovery", [])))
    if compress_outputs and path.suffix != ".gz":
        common.apply_output_policy(workdir, compress_names=[path.name], delete_names=[])
    return labels


def _labels(parsed: dict[str, Any], workdir: Path, extra: dict[str, Any]) -> Labels:
    atoms, energy, forces = parsed["atoms"], parsed["energy"], parsed["forces"]
    expected = _geometry_symbols(workdir)
    if expected is not None and list(atoms.symbols) != expected:
        raise CalculationFailed(FailureKind.INVALID, "aims.out describes other atoms than geometry.in")
    if energy is None or forces is None:
        raise CalculationFailed(FailureKind.INVALID, "aims.out has no energy or no forces "
                                "(was compute_forces lost from control.in?)")
    forces = np.asarray(forces, dtype=float)
    if not np.isfinite(energy) or forces.shape != (len(atoms), 3) or not np.all(np.isfinite(forces)):
        raise CalculationFailed(FailureKind.INVALID, "non-finite energy or forces in aims.out")
    stress = parsed["stress"]
    if stress is not None:
        stress = np.asarray(stress, dtype=float)
    return Labels(energy=float(energy), forces=forces, stress=stress, extra=extra)


def _geometry_symbols(workdir: Path) -> list[str] | None:
    path = workdir / "geometry.in"
    if not path.is_file():
        return None
    return [line.split()[4] for line in path.read_text().splitlines()
            if line.split()[:1] in (["atom"], ["atom_frac"])]


def dry_run_lines(params: AimsParams) -> list[str]:
    """The shell lines one calculation with ``params`` runs, for ``alearn run --dry-run``."""
    return AimsCalculator(params).dry_run(params.profile)
