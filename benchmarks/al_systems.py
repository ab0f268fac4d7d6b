"""The systems of the data-efficiency benchmark (``loop_data_efficiency.py``).

Each :class:`System` names its reference (an ASE calculator), start structures, surrogate and
training settings, exploration schedule, the budget per iteration and how its **test set** is
made: labelled frames of MD with the reference itself at the test conditions, never trained on,
grouped in named subsets.  Two systems have rare events at the test conditions, and their test
sets are built so that they contain them:

- ``cu-melt``: 32 Cu atoms (EMT) at 1300 K in a cubic cell of a = 3.72 Å (2 % above the
  zero-kelvin fcc lattice of EMT, 3.59 Å at 0 K).  In so small a cell both the crystal and the liquid
  persist for the 6 ps tried (3 of 3 trajectories each, order parameter of :func:`fcc_order`;
  at a = 3.66 Å two of three liquids recrystallised even at 1600 K), so melting is a rare event
  there.  The campaign starts
  from the crystal; the test set is half crystal frames, half liquid frames (reference MD from a
  melted start), each checked by its order parameter.
- ``butane``: n-butane (GFN2-xTB) at 600 K.  GFN2-xTB puts gauche 0.03 eV above anti, with a
  0.11 eV anti→gauche barrier (relaxed scan at 120°); at 600 K a torsion flips about every
  10 ps.  The campaign starts from anti; the test set is half reference MD started in anti,
  half started in gauche (dihedral of every frame recorded).

Reference MD is Langevin (friction 0.01/fs) with the system's time step.  Everything is
deterministic in its seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator
from ase.calculators.singlepoint import SinglePointCalculator

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class MdSpec:
    """Reference MD of one test subset: ``trajectories`` runs from ``start`` (after an optional
    ``prepare`` run at ``prepare_K``), ``equilibrate`` steps discarded, then a frame every
    ``every`` steps for ``steps`` steps."""

    start: Atoms
    temperature_K: float
    trajectories: int = 2
    equilibrate: int = 100
    steps: int = 400
    every: int = 10
    prepare_K: float | None = None
    prepare_steps: int = 0


@dataclass(frozen=True)
class System:
    """One benchmark system; see the module docstring."""

    name: str
    reference: Callable[[], Calculator]
    starts: tuple[Atoms, ...]
    surrogate: str                                  # "committee" or "gpr"
    descriptor: dict[str, Any]
    model: dict[str, Any]
    train: dict[str, Any]
    explore: dict[str, Any]                         # [explore] table (stages, monitor, …)
    select: dict[str, Any]                          # [select] table (measure, trust, budget)
    test: dict[str, MdSpec]                         # subset name → reference MD
    timestep_fs: float
    initial_copies: int = 4
    initial_rattle_A: float = 0.05
    iterations: int = 15
    validation_per_iteration: int = 3          # the campaign default ([evaluate])
    initial_validation: int = 2
    rare_event: bool = False
    check: Callable[[str, Atoms], bool] | None = None   # is a test frame in its subset's state?
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def reference_md(reference: Callable[[], Calculator], spec: MdSpec, timestep_fs: float,
                 rng: np.random.Generator) -> list[Atoms]:
    """Labelled frames (energy, forces; single-point calculators) of the spec's trajectories."""
    from ase.md.langevin import Langevin

    from alearn.explore.integrators import initial_velocities

    frames: list[Atoms] = []
    for _ in range(spec.trajectories):
        atoms = spec.start.copy()
        atoms.calc = reference()
        if spec.prepare_K is not None:
            _langevin(atoms, spec.prepare_K, timestep_fs, spec.prepare_steps, rng)
        initial_velocities(atoms, spec.temperature_K, rng)
        dyn = Langevin(atoms, timestep_fs * units.fs, temperature_K=spec.temperature_K,
                       friction=0.01 / units.fs, rng=rng, fixcm=False)
        dyn.run(spec.equilibrate)
        for _ in range(spec.steps // spec.every):
            dyn.run(spec.every)
            frames.append(labelled(atoms))
    return frames


def _langevin(atoms: Atoms, temperature_K: float, timestep_fs: float, steps: int,
              rng: np.random.Generator) -> None:
    from ase.md.langevin import Langevin

    from alearn.explore.integrators import initial_velocities

    initial_velocities(atoms, temperature_K, rng)
    Langevin(atoms, timestep_fs * units.fs, temperature_K=temperature_K,
             friction=0.01 / units.fs, rng=rng, fixcm=False).run(steps)


def labelled(atoms: Atoms) -> Atoms:
    """A copy of ``atoms`` carrying its calculator's energy and (unconstrained) forces; MD
    constraints (the adatom held at the bridge) stay behind."""
    frame = atoms.copy()
    del frame.constraints
    frame.calc = SinglePointCalculator(frame, energy=float(atoms.get_potential_energy()),
                                       forces=np.array(atoms.get_forces(apply_constraint=False)))
    return frame


def label(reference: Calculator, atoms: Atoms) -> Atoms:
    work = atoms.copy()
    work.calc = reference
    return labelled(work)


# --- order parameters of the rare-event systems --------------------------------------------

MELT_A = 3.72


def fcc_order(atoms: Atoms, a_A: float = MELT_A) -> float:
    """Mean |S(k)|² over the fcc reciprocal vectors ⟨111⟩ and ⟨200⟩ of the cubic cell's lattice:
    ≈ 0.7 for the 1300 K crystal, < 0.1 for the liquid."""
    ks = 2 * np.pi / a_A * np.array([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1],
                                     [2, 0, 0], [0, 2, 0], [0, 0, 2]])
    return float(np.mean([abs(np.exp(1j * atoms.positions @ k).mean()) ** 2 for k in ks]))


def butane_dihedral(atoms: Atoms) -> float:
    """C–C–C–C dihedral in degrees, folded into [0, 180] (anti ≈ 180, gauche ≈ 60)."""
    carbons = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "C"]
    angle = atoms.get_dihedral(*carbons) % 360.0
    return float(min(angle, 360.0 - angle))


def _adatom_check(subset: str, atoms: Atoms) -> bool:
    d = _adatom_lateral(atoms)
    return d < 0.3 if subset == "hollow" else d > 0.35


def _adatom_lateral(atoms: Atoms) -> float:
    """Lateral distance of the adatom (the last atom) from its nearest hollow site, in surface
    spacings a/√2 (hollow 0, bridge 0.5); hollows lie above second-layer atoms."""
    z = atoms.positions[:-1, 2]
    top = z.max()
    second = atoms.positions[:-1][(z < top - 1.0) & (z > top - 1.0 - ADATOM_A / 2)]
    cell = atoms.cell.array[:2, :2]
    frac = np.linalg.solve(cell.T, (second[:, :2] - atoms.positions[-1, :2]).T).T
    frac -= np.round(frac)
    return float(np.min(np.linalg.norm(frac @ cell, axis=1)) / (ADATOM_A / np.sqrt(2)))


def _melt_check(subset: str, atoms: Atoms) -> bool:
    order = fcc_order(atoms)
    return order > 0.5 if subset == "crystal" else order < 0.2


def _butane_check(subset: str, atoms: Atoms) -> bool:
    phi = butane_dihedral(atoms)
    return phi > 120.0 if subset == "anti" else phi < 120.0


# --- the systems -----------------------------------------------------------------------------

def _emt() -> Calculator:
    from ase.calculators.emt import EMT

    return EMT()


def _lj() -> Calculator:
    from ase.calculators.lj import LennardJones

    return LennardJones(epsilon=1.0, sigma=1.0, rc=3.0, smooth=False)


def _xtb() -> Calculator:
    from tblite.ase import TBLite

    return TBLite(method="GFN2-xTB", verbosity=0)


ADATOM_A = 3.59       # EMT's Cu lattice constant at 0 K


def _adatom(bridge: bool = False) -> Atoms:
    """A Cu adatom on a 3 × 3 × 3 Cu(100) slab (28 atoms, periodic, 12 Å vacuum), relaxed
    with EMT at a hollow site; ``bridge``: moved half a surface spacing to the bridge site
    and relaxed with its lateral position held (FixCartesian, kept for MD at the saddle)."""
    from ase.build import add_adsorbate, fcc100
    from ase.calculators.emt import EMT
    from ase.constraints import FixCartesian
    from ase.optimize import BFGS

    slab = fcc100("Cu", size=(3, 3, 3), a=ADATOM_A, vacuum=6.0)
    add_adsorbate(slab, "Cu", 1.7, "hollow")
    slab.center(vacuum=6.0, axis=2)
    slab.pbc = True
    slab.calc = EMT()
    BFGS(slab, logfile=None).run(fmax=0.01, steps=300)
    if bridge:
        slab.positions[-1, 0] += ADATOM_A / np.sqrt(2) / 2
        slab.set_constraint(FixCartesian(len(slab) - 1, mask=(True, True, False)))
        BFGS(slab, logfile=None).run(fmax=0.01, steps=300)
    slab.calc = None
    return slab


def _read(path: str) -> Atoms:
    import ase.io

    atoms = ase.io.read(ROOT / path)
    atoms.calc = None
    return atoms


def _crystal(a_A: float = MELT_A) -> Atoms:
    from ase.build import bulk

    return bulk("Cu", "fcc", a=a_A, cubic=True).repeat(2)


def _butane(gauche: bool = False) -> Atoms:
    from ase.build import molecule
    from ase.optimize import BFGS

    atoms = molecule("trans-butane")
    atoms.calc = _xtb()
    carbons = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "C"]
    if gauche:
        atoms.set_dihedral(*carbons, 65.0, indices=_butane_tail(atoms, carbons))
    BFGS(atoms, logfile=None).run(fmax=0.02, steps=300)
    atoms.calc = None
    atoms.center(vacuum=6.0)
    return atoms


def _butane_tail(atoms: Atoms, carbons: list[int]) -> list[int]:
    """The atoms on the far side of the central C2–C3 bond (C3, its hydrogens, C4 and its
    hydrogens): they turn when the dihedral is set."""
    from ase.neighborlist import NeighborList, natural_cutoffs

    nl = NeighborList(natural_cutoffs(atoms), self_interaction=False, bothways=True)
    nl.update(atoms)
    side, frontier = {carbons[2]}, [carbons[2]]
    while frontier:
        atom = frontier.pop()
        for other in nl.get_neighbors(atom)[0]:
            if int(other) not in side and int(other) != carbons[1]:
                side.add(int(other))
                frontier.append(int(other))
    return sorted(side)


_COMMITTEE = {"kind": "committee", "members": 4, "hidden": [16, 16]}
_FORCES = {"epochs": 40, "learning_rate": 0.005, "batch_size": 8, "patience": 15,
           "force_weight": 0.5}
_MONITOR = {"every_steps": 10}


def systems() -> dict[str, Callable[[], System]]:
    """Builders of every system by name (building one may run a short relaxation)."""
    return {"lj-dimer": lj_dimer, "cu-bulk": cu_bulk, "cu13": cu13, "water": water,
            "cu-melt": cu_melt, "butane": butane, "cu-adatom": cu_adatom}


def lj_dimer() -> System:
    """The Lennard-Jones "H₂" dimer of Yeu et al. (ε = 1 eV, σ = 1 Å, rc = 3 Å, H masses) with
    a local GP surrogate.  Starts and test MD from the potential minimum r = 2^(1/6) σ.  From
    the campaign example's 1.5 Å (0.32 eV up the well) the Langevin dimer dissociated in 5 of 5
    seeds tried at 3000 K and 1500 K (2 of 5 at 1000 K), so the 3000 K test set of the
    2026-12-03 runs had 35 of 40 frames beyond rc (zero force) and 5 at 1.8–3.0 Å, outside
    everything the displacement explorer (σ 0.15 Å around 1.5 Å) sampled.  From the minimum
    at 1500 K it stays bound (5 of 5 seeds, 2 × 200 fs, r = 1.02–1.72 Å).  Exploration is MD on
    the GP (1000 K, then the test temperature), as for the other systems; initial rattle 0.05 Å
    (0.15 Å around the minimum makes 0.8 Å dimers, 40 eV up the wall)."""
    r_min = 2.0 ** (1.0 / 6.0)
    start = Atoms("H2", positions=[[-r_min / 2, 0.0, 0.0], [r_min / 2, 0.0, 0.0]])
    return System(
        "lj-dimer", _lj, (start,), "gpr", {}, {"kind": "gpr", "fingerprint": "inverse_distances",
                                                "restarts": 2}, {},
        {"timestep_fs": 0.5, "walkers": 2, "monitor": _MONITOR, "stages": [
            {"temperature_K": 1000.0, "steps": 200, "iterations": 1},
            {"temperature_K": 1500.0, "steps": 200, "iterations": 1}]},
        {"measure": "gpr_std", "budget": 3, "min_frame_gap": 10, "trust": {"lo": 0.002, "hi": 5.0}},
        {"md": MdSpec(start, 1500.0, trajectories=2, equilibrate=100, steps=400, every=10)},
        timestep_fs=0.5, initial_copies=4, initial_rattle_A=0.05, iterations=15,
        notes="LJ(ε=1, σ=1, rc=3) dimer from its minimum; explore MD 1000/1500 K on the GP; "
              "test: 1500 K MD")


def cu_bulk() -> System:
    start = _read("campaigns/structures/cu-fcc-32.xyz")
    return System(
        "cu-bulk", _emt, (start,), "committee",
        {"radial_cutoff_A": 4.5, "angular_cutoff_A": 3.5, "radial_order": 8, "angular_order": 4},
        _COMMITTEE, _FORCES,
        {"timestep_fs": 2.0, "walkers": 4, "monitor": _MONITOR, "stages": [
            {"temperature_K": 300.0, "steps": 150, "iterations": 1},
            {"temperature_K": 500.0, "steps": 150, "iterations": 2},
            {"temperature_K": 700.0, "steps": 150, "iterations": 1}]},
        {"measure": "max_force_std", "budget": 4, "min_frame_gap": 10,
         "trust": {"lo": 0.05, "hi": 1.0}},
        {"md": MdSpec(start, 700.0, trajectories=2, equilibrate=100, steps=300, every=10)},
        timestep_fs=2.0, notes="fcc Cu, 32 atoms, EMT; explore 300/500/700 K (ends at the test temperature); test 700 K")


def cu13() -> System:
    start = _read("benchmarks/campaigns/structures/cu13-icosahedron.xyz")
    return System(
        "cu13", _emt, (start,), "committee",
        {"radial_cutoff_A": 5.0, "angular_cutoff_A": 3.5, "radial_order": 8, "angular_order": 4},
        _COMMITTEE, _FORCES,
        {"timestep_fs": 2.0, "walkers": 4, "monitor": _MONITOR, "stages": [
            {"temperature_K": 500.0, "steps": 150, "iterations": 1},
            {"temperature_K": 700.0, "steps": 150, "iterations": 2},
            {"temperature_K": 900.0, "steps": 150, "iterations": 1}]},
        {"measure": "max_force_std", "budget": 4, "min_frame_gap": 10,
         "trust": {"lo": 0.05, "hi": 1.5}},
        {"md": MdSpec(start, 900.0, trajectories=2, equilibrate=100, steps=300, every=10)},
        timestep_fs=2.0, notes="Cu13 icosahedron, EMT; explore 500/700/900 K (ends at the test temperature); test 900 K")


def water() -> System:
    start = _read("campaigns/structures/water-hexamer.xyz")
    return System(
        "water", _xtb, (start,), "committee",
        {"elements": ["H", "O"], "radial_cutoff_A": 6.0, "angular_cutoff_A": 4.0,
         "radial_order": 10, "angular_order": 4},
        _COMMITTEE, {**_FORCES, "batch_size": 8},
        {"timestep_fs": 0.5, "walkers": 4, "monitor": _MONITOR, "stages": [
            {"temperature_K": 300.0, "steps": 200, "iterations": 1},
            {"temperature_K": 400.0, "steps": 200, "iterations": 1},
            {"temperature_K": 500.0, "steps": 200, "iterations": 1}]},
        {"measure": "max_force_std", "budget": 6, "min_frame_gap": 20,
         "trust": {"lo": 0.1, "hi": 3.0}},
        {"md": MdSpec(start, 500.0, trajectories=2, equilibrate=200, steps=600, every=10)},
        timestep_fs=0.5, initial_copies=6, iterations=12,
        notes="(H2O)6, GFN2-xTB; explore 300/400/500 K (ends at the test temperature); test 500 K")


def cu_melt() -> System:
    crystal = _crystal()
    return System(
        "cu-melt", _emt, (crystal,), "committee",
        {"radial_cutoff_A": 4.5, "angular_cutoff_A": 3.5, "radial_order": 8, "angular_order": 4},
        _COMMITTEE, _FORCES,
        {"timestep_fs": 2.0, "walkers": 4, "monitor": _MONITOR,
         "stages": [{"temperature_K": 1300.0, "steps": 200, "iterations": 1}]},
        {"measure": "max_force_std", "budget": 4, "min_frame_gap": 10,
         "trust": {"lo": 0.05, "hi": 1.0}},
        {"crystal": MdSpec(crystal, 1300.0, trajectories=2, equilibrate=500, steps=1000, every=25),
         "liquid": MdSpec(crystal, 1300.0, trajectories=2, equilibrate=500, steps=1000, every=25,
                          prepare_K=3000.0, prepare_steps=1500)},
        timestep_fs=2.0, rare_event=True, check=_melt_check,
        notes="32 Cu (EMT) at 1300 K, a = 3.72 Å; start: crystal; test: half crystal, half liquid")


def butane() -> System:
    anti, gauche = _butane(False), _butane(True)
    return System(
        "butane", _xtb, (anti,), "committee",
        {"elements": ["H", "C"], "radial_cutoff_A": 5.0, "angular_cutoff_A": 3.5,
         "radial_order": 10, "angular_order": 4},
        _COMMITTEE, _FORCES,
        {"timestep_fs": 0.5, "walkers": 4, "monitor": _MONITOR,
         "stages": [{"temperature_K": 600.0, "steps": 400, "iterations": 1}]},
        {"measure": "max_force_std", "budget": 4, "min_frame_gap": 20,
         "trust": {"lo": 0.1, "hi": 3.0}},
        {"anti": MdSpec(anti, 600.0, trajectories=2, equilibrate=400, steps=2000, every=50),
         "gauche": MdSpec(gauche, 600.0, trajectories=2, equilibrate=400, steps=2000, every=50)},
        timestep_fs=0.5, initial_copies=4, rare_event=True, check=_butane_check,
        notes="n-butane (GFN2-xTB) at 600 K; start: anti; test: half anti, half gauche")


def cu_adatom() -> System:
    hollow, bridge = _adatom(False), _adatom(True)
    return System(
        "cu-adatom", _emt, (hollow,), "committee",
        {"radial_cutoff_A": 4.5, "angular_cutoff_A": 3.5, "radial_order": 8, "angular_order": 4},
        _COMMITTEE, _FORCES,
        {"timestep_fs": 2.0, "walkers": 4, "monitor": _MONITOR,
         "stages": [{"temperature_K": 700.0, "steps": 150, "iterations": 1}]},
        {"measure": "max_force_std", "budget": 4, "min_frame_gap": 10,
         "trust": {"lo": 0.05, "hi": 1.0}},
        {"hollow": MdSpec(hollow, 700.0, trajectories=2, equilibrate=100, steps=300, every=10),
         "bridge": MdSpec(bridge, 700.0, trajectories=2, equilibrate=100, steps=300, every=10)},
        timestep_fs=2.0, rare_event=True, check=_adatom_check,
        notes="Cu adatom on Cu(100) (EMT; 3x3x3 slab + 1, bridge barrier 0.41 eV) at 700 K; "
              "start: hollow; test: half MD at the hollow, half with the adatom held at the "
              "bridge (the hop's saddle; ~1 hop per 100 ps at 700 K)")


def test_set(system: System, seed: int, cache: Path | None = None) -> dict[str, list[Atoms]]:
    """The labelled test frames of every subset (cached as extxyz in ``cache``)."""
    import ase.io

    out: dict[str, list[Atoms]] = {}
    rng = np.random.default_rng(seed)
    for name, spec in system.test.items():
        path = None if cache is None else cache / f"{system.name}-{name}-{seed}.extxyz"
        if path is not None and path.exists():
            out[name] = ase.io.read(path, index=":")
            continue
        frames = reference_md(system.reference, spec, system.timestep_fs, rng)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            ase.io.write(path, frames)
        out[name] = frames
    return out


def subset_report(system: System, frames: dict[str, Sequence[Atoms]]) -> dict[str, Any]:
    """How many frames of each subset are in the state its name says (rare-event systems)."""
    if system.check is None:
        return {name: {"frames": len(f)} for name, f in frames.items()}
    return {name: {"frames": len(f), "in_state": int(sum(system.check(name, a) for a in f))}
            for name, f in frames.items()}
