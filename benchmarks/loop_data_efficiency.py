"""Active-learning data efficiency and controller overhead.

Runs one campaign twice per seed, with the same seeds, budget per iteration, training and
exploration MD:

- **active**: the loop as configured (uncertainty-driven selection of explored frames);
- **random**: the same loop, but each iteration labels frames drawn uniformly at random from
  the same kind of reference-free MD (walkers on the current surrogate), ignoring uncertainty.

After every iteration the model is evaluated on a **held-out reference MD trajectory** (MD with
the reference itself, never trained on).  Reported: reference calculations needed to reach each
force-RMSE target in each arm, their ratio per seed and its mean and spread over seeds, and the
controller's own time per iteration (bookkeeping = iteration wall time minus its stages, plus
snapshot commit; and everything outside reference calculations and training).

Targets are fixed before any arm runs, either absolute (``--target``) or as multiples of the
**floor** (``--floor-frames N --target-factors 2 1.5``): the force RMSE on the held-out trajectory
of the same model, trained the same way, on N reference frames of an independent reference MD at
the test temperature (a yardstick of what the model can reach with plenty of the right data).

    OMP_NUM_THREADS=1 python benchmarks/loop_data_efficiency.py benchmarks/campaigns/cu-emt-forces.toml \
        --floor-frames 60 --target-factors 2 1.5 --seeds 1 2 --iterations 6 --random-iterations 10 \
        --test-steps 300 --test-temperature 700 --out /tmp/bench-cu
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from ase import Atoms

from alearn.campaign import snapshot
from alearn.campaign.adapters import DefaultParts
from alearn.files import read_json
from alearn.campaign.layout import CampaignDir
from alearn.campaign.loop import run_campaign
from alearn.config.campaign import load_campaign


class RandomParts(DefaultParts):
    """Selection by uniform random choice among all explored (sane) frames."""

    def select(self, ctx: Any, model: Path, explore_dir: Path) -> tuple[list[Atoms], dict[str, Any]]:
        from alearn.explore.monitor import FrameStatus
        from alearn.explore.run import ExplorationResult

        frames = [f for f in ExplorationResult.load(explore_dir).frames()
                  if f.status is not FrameStatus.INSANE]
        rng = ctx.rng("random-select")
        k = min(self.config.select.budget, len(frames))
        chosen = [frames[i].atoms.copy() for i in sorted(rng.choice(len(frames), size=k, replace=False))]
        for atoms in chosen:
            atoms.calc = None
        return chosen, {}


def diversity_parts(diversity: str | None) -> Any:
    """The active arm's parts, with ``[select] selector`` replaced when ``diversity`` is given."""
    if diversity is None:
        return DefaultParts

    def make(config: Any, layout: Any, console: Any) -> DefaultParts:
        from alearn import registry

        selector = registry.schemas(registry.SELECTORS)[diversity]()
        select = dataclasses.replace(config.select, selector=selector)
        return DefaultParts(dataclasses.replace(config, select=select), layout, console)

    return make


def reference_trajectory(config: Any, steps: int, temperature_K: float, every: int, seed: int) -> list[Atoms]:
    """Frames (with reference energies and forces) of Langevin MD run with the reference itself."""
    from ase import units
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    from alearn.campaign.initial import initial_geometries
    from alearn.label.registry import make_calculator

    plugin = make_calculator(config.reference)
    rng = np.random.default_rng(seed)
    frames: list[Atoms] = []
    for start in initial_geometries(config.campaign.structures):
        atoms = start.copy()
        atoms.calc = plugin.ase_calculator(atoms)
        MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=rng)
        dyn = Langevin(atoms, config.explore.timestep_fs * units.fs, temperature_K=temperature_K,
                       friction=0.02, rng=rng)

        def keep() -> None:
            frame = atoms.copy()
            frame.calc = SinglePointCalculator(frame, energy=atoms.get_potential_energy(),
                                               forces=atoms.get_forces())
            frames.append(frame)

        dyn.attach(keep, interval=every)
        dyn.run(steps)
    return frames


def force_rmse(model_dir: Path, frames: Sequence[Atoms]) -> float:
    from alearn.models import load

    prediction = load(model_dir).predict([a.copy() for a in frames])
    diff = np.concatenate([np.asarray(p) - a.calc.results["forces"] for p, a in zip(prediction.forces, frames)])
    return float(np.sqrt(np.mean(diff ** 2)))


def run_arm(toml: Path, directory: Path, factory: Any) -> float:
    commits: list[float] = []
    original = snapshot.commit

    def timed_commit(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            commits.append(time.perf_counter() - began)

    snapshot.commit = timed_commit
    import alearn.campaign.loop as loop

    loop.commit = timed_commit
    try:
        began = time.perf_counter()
        run_campaign(toml, directory=directory, parts_factory=factory)
        return time.perf_counter() - began
    finally:
        loop.commit = original
        snapshot.commit = original
        (directory / "commit_seconds.json").write_text(json.dumps(commits))


def curve(directory: Path, frames: Sequence[Atoms]) -> list[dict[str, Any]]:
    layout = CampaignDir(directory)
    commits = json.loads((directory / "commit_seconds.json").read_text())
    out = []
    for i in layout.snapshots():
        manifest = read_json(layout.snapshot(i) / "manifest.json")
        timings = manifest["timings_s"]
        stages = sum(timings.values())
        bookkeeping = manifest["wall_s"] - stages + (commits[i] if i < len(commits) else 0.0)
        outside = bookkeeping + sum(v for k, v in timings.items() if k not in ("label", "train", "initial"))
        out.append({"iteration": i, "reference": manifest["counts"]["reference_total"],
                    "force_rmse_eV_A": force_rmse(layout.snapshot(i) / "model", frames),
                    "bookkeeping_s": bookkeeping, "outside_reference_and_training_s": outside,
                    "train_s": timings.get("train", 0.0), "label_s": timings.get("label", 0.0)})
    return out



def floor_rmse(config: Any, frames: Sequence[Atoms], test: Sequence[Atoms], out: Path, seed: int) -> float:
    """Force RMSE on ``test`` of the campaign's model trained (same settings) on all ``frames``."""
    from alearn.data.records import Labels, LabelledStructure, Provenance, Source

    rows = [LabelledStructure(a.copy(), Labels(a.calc.results["energy"], a.calc.results["forces"]),
                              Provenance(Source.REFERENCE)) for a in frames]
    if config.model.kind == "gpr":
        from alearn.models.gpr import LocalGPR

        LocalGPR.fit(rows, config.model, seed=seed).save(out)
        return force_rmse(out, test)
    from alearn.models.io import save_committee
    from alearn.train.trainer import train_committee

    derived: list[Any] = []
    if config.augment.kind == "taylor":
        from alearn.augment.taylor import taylor_augment

        derived = taylor_augment(rows, config.augment, np.random.default_rng(seed))
    model, _ = train_committee(rows + derived, [], config.descriptor, config.model, config.train, seed=seed)
    save_committee(model, out)
    return force_rmse(out, test)


def needed(points: list[dict[str, Any]], target: float) -> int | None:
    """Reference calculations spent when the force RMSE first fell to ``target`` or below."""
    for point in points:
        if point["force_rmse_eV_A"] <= target:
            return int(point["reference"])
    return None


def compare(runs: dict[int, dict[str, Any]], target: float) -> dict[str, Any]:
    """Per seed: calculations each arm needed and their ratio; mean and spread of the ratios."""
    per_seed = {}
    for seed, arms in runs.items():
        if not {"active", "random"} <= set(arms):
            continue
        active, random = needed(arms["active"]["curve"], target), needed(arms["random"]["curve"], target)
        spent = arms["random"]["curve"][-1]["reference"]
        per_seed[seed] = {"active": active, "random": random,
                          "ratio": random / active if active and random else None,
                          "ratio_at_least": spent / active if active and not random else None}
    ratios = [v["ratio"] for v in per_seed.values() if v["ratio"] is not None]
    return {"target_eV_A": target, "per_seed": per_seed, "seeds_both_reached": len(ratios),
            "ratio_mean": float(np.mean(ratios)) if ratios else None,
            "ratio_std": float(np.std(ratios)) if len(ratios) > 1 else None,
            "ratio_min": min(ratios, default=None), "ratio_max": max(ratios, default=None)}


def overhead(runs: dict[int, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Median per-iteration times (iterations ≥ 1) of each arm, over all seeds."""
    keys = ("bookkeeping_s", "outside_reference_and_training_s", "train_s", "label_s")
    out = {}
    for arm in ("active", "random"):
        points = [p for arms in runs.values() for p in arms.get(arm, {}).get("curve", []) if p["iteration"] >= 1]
        out[arm] = {k: float(np.median([p[k] for p in points])) for k in keys} if points else {}
    return out


def with_settings(toml: Path, iterations: int, seed: int, out: Path) -> Path:
    """A copy of the campaign with ``iterations`` iterations, campaign seed ``seed``, no other
    stop rule, and absolute paths to its structures and data."""
    out.mkdir(parents=True, exist_ok=True)
    config = load_campaign(toml)
    text = toml.read_text().replace(f"max_iterations = {config.stop.max_iterations}",
                                    f"max_iterations = {iterations}")
    text = re.sub(r"(?m)^seed = \d+$", f"seed = {seed}", text, count=1)
    for rule in ("force_rmse_eV_A", "accurate_ratio", "max_reference_calculations", "walltime_s"):
        text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{rule} =")) + "\n"
    base = toml.resolve().parent

    def absolute(match: re.Match) -> str:
        path = base / match.group(1)
        return f'"{path.resolve()}"' if path.exists() else match.group(0)

    text = re.sub(r'"([^"\n]+)"', absolute, text)
    target = out / toml.name
    target.write_text(text)
    return target


def run_seed(args: argparse.Namespace, seed: int, frames: Sequence[Atoms]) -> dict[str, Any]:
    arms: dict[str, Any] = {}
    root = args.out / f"seed-{seed}"
    plan = (("active", diversity_parts(args.active_diversity), args.iterations),
            ("random", RandomParts, args.random_iterations or args.iterations))
    for arm, factory, iterations in (p for p in plan if p[0] in args.arms):
        toml = with_settings(args.campaign, iterations, seed, root / f"{arm}-campaign")
        load_before, cpu_before = os.getloadavg()[0], time.process_time()
        seconds = run_arm(toml, root / arm, lambda c, l, con, f=factory: f(c, l, con))
        points = curve(root / arm, frames)
        arms[arm] = {"wall_s": seconds, "cpu_s": time.process_time() - cpu_before,
                     "load_average_1min": [load_before, os.getloadavg()[0]], "curve": points}
        print(f"seed {seed} {arm}: " + ", ".join(f"{p['reference']} → {p['force_rmse_eV_A']:.4g}"
                                                 for p in points), flush=True)
    return arms


def targets(args: argparse.Namespace, config: Any, test: Sequence[Atoms]) -> tuple[list[float], float | None]:
    """The force-RMSE targets (absolute ones, then factors × floor) and the floor itself."""
    chosen = list(args.target or [])
    if not args.floor_frames:
        return chosen, None
    every = max(args.test_every, 1)
    train = reference_trajectory(config, args.floor_frames * every, args.test_temperature, every, 54321)
    floor = floor_rmse(config, train, test, args.out / "floor-model", seed=7)
    print(f"floor: {len(train)} reference frames → force RMSE {floor:.4g} eV/Å", flush=True)
    return chosen + [f * floor for f in args.target_factors], floor


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("campaign", type=Path)
    parser.add_argument("--target", type=float, nargs="*", help="absolute force RMSE targets, eV/Å")
    parser.add_argument("--floor-frames", type=int, default=0,
                        help="train a yardstick model on this many independent reference MD frames")
    parser.add_argument("--target-factors", type=float, nargs="*", default=[2.0, 1.5],
                        help="targets as multiples of the floor's force RMSE (with --floor-frames)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="campaign seeds (default: the campaign's own)")
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--random-iterations", type=int, default=None,
                        help="iterations of the random arm (default: --iterations); more lets it reach the target")
    parser.add_argument("--arms", nargs="+", choices=("active", "random"), default=["active", "random"])
    parser.add_argument("--active-diversity", choices=("fps", "none", "kmeans"), default=None,
                        help="override [select] diversity in the active arm")
    parser.add_argument("--test-steps", type=int, default=400)
    parser.add_argument("--test-every", type=int, default=10)
    parser.add_argument("--test-temperature", type=float, default=500.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not args.target and not args.floor_frames:
        parser.error("give --target or --floor-frames")
    return args


def main() -> None:
    args = parse()
    args.out.mkdir(parents=True, exist_ok=True)
    config = load_campaign(args.campaign)
    test = reference_trajectory(config, args.test_steps, args.test_temperature, args.test_every, 12345)
    chosen, floor = targets(args, config, test)
    result: dict[str, Any] = {"campaign": str(args.campaign), "test_frames": len(test),
                              "floor_force_rmse_eV_A": floor, "argv": sys.argv[1:], "runs": {}}
    for seed in args.seeds or [config.campaign.seed]:
        result["runs"][seed] = run_seed(args, seed, test)
        (args.out / "result.json").write_text(json.dumps(result, indent=1))
    result["targets"] = [compare(result["runs"], t) for t in chosen]
    result["overhead_median_s"] = overhead(result["runs"])
    (args.out / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    main()
