"""Shared helpers of the seed-paper studies in ``benchmarks/papers/``.

* :class:`Study` — a results folder (``result.json``, ``table.md``, ``figure.png``) rewritten
  after every finished run, so a study that is cut off keeps what it finished; ``--resume``
  reuses the runs already in ``result.json`` (same key) instead of repeating them.  Every run
  records the load average it was measured at.
* :func:`label` — labelled structures from an alearn reference plugin (xTB, EMT, LJ), with the
  CPU time the reference took.
* :func:`mean_sd`, :func:`pm` — mean and sample standard deviation over seeds.
* :func:`fit` — ``alearn.train.trainer.train_committee`` with CPU and wall time.
* :func:`force_errors` — the papers' force measures: component MAE, |F| MAE, direction error.
* :func:`crossing` — where a measured curve first crosses a level (linear in log x between two
  measured points; never beyond the measured range).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(os.environ.get("ALEARN_PAPERS_CACHE", "/tmp/alearn-papers-cache"))


def load_average() -> dict[str, Any]:
    """The 1/5/15-minute load averages and the time (UTC), for every timing we report."""
    one, five, fifteen = (float(x) for x in Path("/proc/loadavg").read_text().split()[:3])
    return {"load_1_5_15": [one, five, fifteen], "cores": os.cpu_count(),
            "utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every study has: ``--out``, ``--resume``, ``--seeds``."""
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None, help="results folder (default: benchmarks/papers/results/<study>)")
    p.add_argument("--resume", action="store_true", help="reuse the runs already in result.json")
    return p


class Study:
    """A results folder written incrementally (see module docstring)."""

    def __init__(self, name: str, out: Path | None, settings: dict[str, Any], resume: bool) -> None:
        self.name = name
        self.dir = Path(out) if out is not None else RESULTS / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.json_path, self.md_path = self.dir / "result.json", self.dir / "table.md"
        self.figure_path = self.dir / "figure.png"
        previous = json.loads(self.json_path.read_text()) if resume and self.json_path.exists() else {}
        self.runs: list[dict[str, Any]] = list(previous.get("runs", []))
        self.meta = {"study": name, "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
                     "commit": git_commit(), "settings": settings, "started": load_average(),
                     "threads": os.environ.get("OMP_NUM_THREADS")}
        self.summary: dict[str, Any] = {}
        self.save()

    def cached(self, key: str) -> dict[str, Any] | None:
        return next((r for r in self.runs if r.get("key") == key), None)

    def run(self, key: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The stored run ``key`` (``--resume``), or ``compute()`` recorded with its load."""
        found = self.cached(key)
        if found is not None:
            return found
        before = load_average()
        row = {"key": key, **compute(), "load_before": before, "load_after": load_average()}
        self.runs.append(row)
        self.save()
        print(json.dumps({k: v for k, v in row.items() if not isinstance(v, (list, dict))}), flush=True)
        return row

    def save(self, table: str | None = None) -> None:
        data = {**self.meta, "finished": load_average(), "summary": self.summary, "runs": self.runs}
        tmp = self.json_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, default=_json_default))
        tmp.replace(self.json_path)
        if table is not None:
            start, end = self.meta["started"], load_average()
            header = (f"<!-- written by {self.meta['command']} (commit {self.meta['commit']}) -->\n"
                      f"Measured {start['utc']} – {end['utc']} UTC, load average at start "
                      f"{start['load_1_5_15']}, at end {end['load_1_5_15']} on "
                      f"{start['cores']} cores, OMP_NUM_THREADS={self.meta['threads']}.\n\n")
            self.md_path.write_text(header + table.rstrip() + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value)}")


# --------------------------------------------------------------------------- statistics
def mean_sd(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value); NaNs are dropped."""
    x = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if len(x) == 0:
        return float("nan"), float("nan")
    return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else 0.0


def pm(values: Iterable[float], digits: int = 3, scale: float = 1.0) -> str:
    """'mean ± sd' of ``values`` × ``scale``."""
    m, s = mean_sd(values)
    if not np.isfinite(m):
        return "—"
    return f"{m * scale:.{digits}f} ± {s * scale:.{digits}f}"


def share_of_gain(baseline: float, method: float, best: float) -> float:
    """Fraction of the improvement baseline → best that ``method`` reaches (1 = all of it)."""
    return (baseline - method) / (baseline - best)


def crossing(x: Sequence[float], y: Sequence[float], level: float) -> float | None:
    """The smallest x at which the measured curve y(x) falls to ``level``: linear interpolation
    of y in log x between the two measured points that bracket it; ``None`` if no measured
    point is at or below ``level`` (nothing is extrapolated)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    order = np.argsort(x)
    x, y = x[order], y[order]
    if y[0] <= level:
        return float(x[0])
    for k in range(1, len(x)):
        if y[k] <= level:
            t = (y[k - 1] - level) / (y[k - 1] - y[k])
            return float(np.exp(np.log(x[k - 1]) + t * (np.log(x[k]) - np.log(x[k - 1]))))
    return None


# --------------------------------------------------------------------------- data
def label(structures: Sequence[Any], reference: Any, *, first_id: int = 1,
          stress: bool | None = None) -> tuple[list[Any], float]:
    """Labelled structures (``LabelledStructure``, ids from ``first_id``) computed by an alearn
    reference plugin's ``compute``; and the process CPU seconds the reference took (also kept
    per structure in ``labels.extra["reference_cpu_s"]``, see :func:`reference_cpu`)."""
    from alearn.data.records import Labels, LabelledStructure, Provenance, Source

    out, cpu = [], time.process_time()
    for k, atoms in enumerate(structures):
        one = time.process_time()
        labels = reference.compute(atoms)
        labels = Labels(labels.energy, labels.forces, None if stress is False else labels.stress,
                        {"reference_cpu_s": time.process_time() - one})
        clean = atoms.copy()
        clean.calc = None
        out.append(LabelledStructure(clean, labels, Provenance(Source.REFERENCE, calculator=reference.name),
                                     id=first_id + k))
    return out, time.process_time() - cpu


def xtb_reference() -> Any:
    from alearn_calculators.xtb import XtbCalculator

    return XtbCalculator(XtbCalculator.Params())


def save_xyz(path: Path, structures: Sequence[Any]) -> None:
    """Labelled structures → extended XYZ (energy, forces, stress; subset in info)."""
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    frames = []
    for s in structures:
        atoms = s.atoms.copy()
        atoms.calc = SinglePointCalculator(atoms, energy=s.labels.energy, forces=s.labels.forces,
                                           stress=s.labels.stress)
        if s.provenance.subset:
            atoms.info["subset"] = s.provenance.subset
        if "reference_cpu_s" in s.labels.extra:
            atoms.info["reference_cpu_s"] = s.labels.extra["reference_cpu_s"]
        frames.append(atoms)
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path, frames, format="extxyz")


def load_xyz(path: Path) -> list[Any]:
    """Extended XYZ written by :func:`save_xyz` → labelled structures with ids 1..n."""
    from ase.io import read

    from alearn.data.records import Labels, LabelledStructure, Provenance, Source

    out = []
    for k, atoms in enumerate(read(path, index=":")):
        calc = atoms.calc
        forces = calc.results.get("forces") if calc is not None else None
        stress = calc.results.get("stress") if calc is not None else None
        extra = {"reference_cpu_s": float(atoms.info.pop("reference_cpu_s"))} if "reference_cpu_s" in atoms.info else {}
        labels = Labels(float(calc.results["energy"]), None if forces is None else np.array(forces),
                        None if stress is None else np.array(stress), extra)
        subset = atoms.info.pop("subset", None)
        atoms.calc = None
        out.append(LabelledStructure(atoms, labels, Provenance(Source.REFERENCE, subset=subset), id=k + 1))
    return out


def reference_cpu(structures: Sequence[Any]) -> float:
    """Reference CPU seconds spent on ``structures`` (as recorded by :func:`label`)."""
    return float(sum(s.labels.extra.get("reference_cpu_s", float("nan")) for s in structures))


def cached(path: Path, make: Callable[[], list[Any]]) -> list[Any]:
    """The labelled structures in ``path``, made (and saved there) if it does not exist."""
    if path.exists():
        return load_xyz(path)
    data = make()
    save_xyz(path, data)
    return load_xyz(path)


# --------------------------------------------------------------------------- training
@dataclass(frozen=True)
class Fitted:
    model: Any
    report: Any
    cpu_s: float
    wall_s: float


def fit(train: Sequence[Any], valid: Sequence[Any], descriptor: Any, model: Any, train_cfg: Any,
        seed: int, **kwargs: Any) -> Fitted:
    """``train_committee`` with its process CPU and wall seconds."""
    from alearn.train.trainer import train_committee

    cpu, wall = time.process_time(), time.perf_counter()
    committee, report = train_committee(train, valid, descriptor, model, train_cfg, seed=seed, **kwargs)
    return Fitted(committee, report, time.process_time() - cpu, time.perf_counter() - wall)


def members(committee: Any, chosen: Sequence[int]) -> Any:
    """A copy of ``committee`` with only the ``chosen`` members (their networks and learned
    offsets; the shared normalisation and reference energies).  Several seeds can be trained
    side by side as one committee with Adam/AdamW — every member's loss, gradient and Adam
    state are its own, and each keeps its own best-validation weights — then split."""
    import copy

    out = copy.deepcopy(committee)
    out.networks.select(chosen)
    out.energy_offsets = {k: tuple(v[i] for i in chosen) for k, v in committee.energy_offsets.items()}
    return out


def force_errors(pred_forces: Sequence[np.ndarray], ref_forces: Sequence[np.ndarray],
                 min_norm_eV_A: float = 0.05) -> dict[str, float]:
    """Component MAE, MAE of the force magnitude |F| and mean direction error (degrees, atoms
    with |F_ref| > ``min_norm_eV_A``), the measures of Cooper et al. and Yeu et al."""
    p = np.concatenate([np.asarray(f, float).reshape(-1, 3) for f in pred_forces])
    r = np.concatenate([np.asarray(f, float).reshape(-1, 3) for f in ref_forces])
    np_, nr = np.linalg.norm(p, axis=1), np.linalg.norm(r, axis=1)
    ok = (nr > min_norm_eV_A) & (np_ > 0)
    cos = np.clip((p[ok] * r[ok]).sum(1) / (np_[ok] * nr[ok]), -1.0, 1.0)
    return {"force_mae_eV_A": float(np.abs(p - r).mean()),
            "force_norm_mae_eV_A": float(np.abs(np_ - nr).mean()),
            "force_angle_mae_deg": float(np.degrees(np.arccos(cos)).mean()) if ok.any() else float("nan")}


def committee_errors(committee: Any, test: Sequence[Any]) -> dict[str, float]:
    """Errors of the committee mean on ``test`` and the mean committee spread (MSD):
    energy (eV/structure and eV/atom), forces (see :func:`force_errors`), and
    ``energy_msd_eV`` / ``force_msd_eV_A`` (mean over structures of the energy std, mean over
    atoms of the per-atom force deviation sqrt(<|F_k − <F>|²>_k))."""
    energy, forces, e_std, f_std = [], [], [], []
    for start in range(0, len(test), 64):
        pred = committee.predict([s.atoms for s in test[start:start + 64]])
        energy.extend(pred.energy)
        forces.extend(pred.forces)
        e_std.extend(pred.energy_std)
        f_std.extend(pred.forces_std)
    ref = np.array([s.labels.energy for s in test])
    n = np.array([len(s.atoms) for s in test])
    out = {"energy_mae_eV": float(np.abs(np.array(energy) - ref).mean()),
           "energy_mae_eV_atom": float((np.abs(np.array(energy) - ref) / n).mean()),
           "energy_rmse_eV_atom": float(np.sqrt((((np.array(energy) - ref) / n) ** 2).mean())),
           "energy_msd_eV": float(np.mean(e_std)),
           "force_msd_eV_A": float(np.concatenate(f_std).mean())}
    if all(s.labels.forces is not None for s in test):
        out.update(force_errors(forces, [s.labels.forces for s in test]))
        diff = np.concatenate([np.asarray(f) - s.labels.forces for f, s in zip(forces, test)])
        out["force_rmse_eV_A"] = float(np.sqrt((diff**2).mean()))
    return out


def threads() -> None:
    """Single-threaded torch (the machine is shared; BLAS threads are set by the environment)."""
    import torch

    torch.set_num_threads(1)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- MD stability

def langevin_frames(atoms: Any, n: int, *, temperature_K: float, timestep_fs: float,
                    friction_per_fs: float, equilibrate: int, stride: int, seed: int) -> list[Any]:
    """``n`` frames, one every ``stride`` steps after ``equilibrate`` steps, of Langevin MD of
    ``atoms`` with its own calculator and constraints (velocities and friction noise from
    ``seed``); the frames carry neither calculator nor constraints."""
    from ase import units
    from ase.md.langevin import Langevin

    from alearn.explore.integrators import initial_velocities

    rng = np.random.default_rng(seed)
    initial_velocities(atoms, temperature_K, rng)
    dyn = Langevin(atoms, timestep_fs * units.fs, temperature_K=temperature_K,
                   friction=friction_per_fs / units.fs, rng=rng, fixcm=False)
    dyn.run(equilibrate)
    out = []
    for _ in range(n):
        dyn.run(stride)
        frame = atoms.copy()
        frame.set_constraint()
        frame.calc = None
        out.append(frame)
    return out

def md_stability(model_dir: Path, start: Any, *, steps: int, temperature_K: float, timestep_fs: float,
                 seed: int, check_every: int = 10, broken: Callable[[Any], str | None] | None = None,
                 extra: Any = None, pair_factor: float = 0.6) -> dict[str, Any]:
    """Langevin MD (friction 0.02/fs) on ``alearn.load_calculator(model_dir)`` (+ ``extra``, an
    ASE calculator added to it, e.g. a restraint) from ``start``; every ``check_every`` steps the
    run fails when a pair is closer than ``pair_factor`` × the sum of covalent radii, the
    temperature exceeds 5 × the target, an energy or force is not finite, or ``broken(atoms)``
    names a reason.  Returns the steps survived and the reason (``None`` when it survived)."""
    from ase import units
    from ase.calculators.mixing import SumCalculator
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    import alearn
    from alearn.explore.sanity import PairLimits, closest_pair

    atoms = start.copy()
    calc = alearn.load_calculator(model_dir)
    atoms.calc = calc if extra is None else SumCalculator([calc, extra])
    rng = np.random.default_rng(seed)
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=rng)
    dyn = Langevin(atoms, timestep_fs * units.fs, temperature_K=temperature_K, friction=0.02 / units.fs,
                   rng=rng, fixcm=False)
    limits = PairLimits(pair_factor)
    cpu = time.process_time()
    done, reason = 0, None
    while done < steps and reason is None:
        try:
            dyn.run(check_every)
            forces = atoms.get_forces()
            energy = atoms.get_potential_energy()
        except Exception as exc:  # noqa: BLE001 - a blown-up MD raises from anywhere
            reason = f"error: {type(exc).__name__}"
            break
        done += check_every
        pair = closest_pair(atoms, limits, 3.0)
        if not (np.isfinite(energy) and np.all(np.isfinite(forces))):
            reason = "non-finite energy or forces"
        elif pair is not None and pair.ratio < 1.0:
            reason = f"close contact {atoms[pair.i].symbol}-{atoms[pair.j].symbol} {pair.distance_A:.2f} Å"
        elif atoms.get_temperature() > 5 * temperature_K:
            reason = f"temperature {atoms.get_temperature():.0f} K"
        elif broken is not None:
            reason = broken(atoms)
    return {"steps": steps, "survived_steps": done if reason is None else done - check_every,
            "failed": reason is not None, "reason": reason, "md_cpu_s": time.process_time() - cpu}


def member_errors(committee: Any, test: Sequence[Any], min_norm_eV_A: float = 0.05) -> dict[str, float]:
    """Yeu et al.'s measures of a committee on ``test``: MAE of the committee mean and mean
    standard deviation over members (MSD) of the energy (eV), the force magnitude |F| (eV/Å)
    and the force direction error (degrees, atoms with |F_ref| > ``min_norm_eV_A``); plus the
    component force MAE of the mean."""
    k = committee.members
    atoms = [s.atoms for s in test]
    energies, forces = [], []
    for m in range(k):
        single = members(committee, [m])
        e, f = [], []
        for start in range(0, len(atoms), 64):
            pred = single.predict(atoms[start:start + 64])
            e.extend(pred.energy)
            f.extend(pred.forces)
        energies.append(e)
        forces.append(np.concatenate(f))
    energies, forces = np.array(energies), np.stack(forces)            # (K, S), (K, N, 3)
    ref_e = np.array([s.labels.energy for s in test])
    ref_f = np.concatenate([s.labels.forces for s in test])
    norm, ref_norm = np.linalg.norm(forces, axis=2), np.linalg.norm(ref_f, axis=1)
    ok = ref_norm > min_norm_eV_A
    cos = np.clip((forces[:, ok] * ref_f[ok]).sum(2) / (norm[:, ok] * ref_norm[ok]).clip(1e-12), -1, 1)
    angle = np.degrees(np.arccos(cos))                                  # (K, N_ok) per member
    mean_f = forces.mean(0)
    mean_cos = np.clip((mean_f[ok] * ref_f[ok]).sum(1) / (np.linalg.norm(mean_f[ok], axis=1)
                                                          * ref_norm[ok]).clip(1e-12), -1, 1)
    return {"energy_mae_eV": float(np.abs(energies.mean(0) - ref_e).mean()),
            "energy_msd_eV": float(energies.std(0).mean()),
            "force_norm_mae_eV_A": float(np.abs(np.linalg.norm(mean_f, axis=1) - ref_norm).mean()),
            "force_norm_msd_eV_A": float(norm.std(0).mean()),
            "force_angle_mae_deg": float(np.degrees(np.arccos(mean_cos)).mean()),
            "force_angle_msd_deg": float(angle.std(0).mean()),
            "force_mae_eV_A": float(np.abs(mean_f - ref_f).mean())}
