"""Active-learning data efficiency and controller overhead.

Runs one campaign twice with the same seeds, budget per iteration and training:

- **active**: the loop as configured (uncertainty-driven selection of explored frames);
- **random**: the same loop, but each iteration labels frames drawn uniformly at random from
  the same kind of reference-free MD (walkers on the current surrogate), ignoring uncertainty.

After every iteration the model is evaluated on a **held-out reference MD trajectory** (MD with
the reference itself, never trained on).  Reported: reference calculations needed to reach the
force-RMSE target in each arm and their ratio, and the controller's own time per iteration
(bookkeeping = iteration wall time minus its stages, plus snapshot commit; and everything
outside reference calculations and training).

    OMP_NUM_THREADS=1 python benchmarks/loop_data_efficiency.py campaigns/cu-emt.toml \
        --target 0.05 --iterations 8 --test-steps 400 --test-temperature 600 --out /tmp/bench-cu
"""

from __future__ import annotations

import argparse
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


def needed(points: list[dict[str, Any]], target: float) -> int | None:
    for point in points:
        if point["force_rmse_eV_A"] <= target:
            return int(point["reference"])
    return None


def _compare(arms: dict[str, Any], target: float) -> dict[str, Any]:
    active, random = needed(arms["active"]["curve"], target), needed(arms["random"]["curve"], target)
    spent = arms["random"]["curve"][-1]["reference"]
    ratio = random / active if active and random else None
    return {"target_eV_A": target, "active": active, "random": random,
            "ratio": ratio, "random_lower_bound_ratio": (spent / active if active and not random else None)}


def with_iterations(toml: Path, iterations: int, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    text = toml.read_text()
    config = load_campaign(toml)
    target = out / toml.name
    text = text.replace(f"max_iterations = {config.stop.max_iterations}", f"max_iterations = {iterations}")
    for rule in ("force_rmse_eV_A", "accurate_ratio", "max_reference_calculations", "walltime_s"):
        text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{rule} =")) + "\n"
    base = toml.resolve().parent
    for raw in ("structures/", "data/"):
        text = text.replace(f'"{raw}', f'"{base}/{raw}')
    target.write_text(text)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("campaign", type=Path)
    parser.add_argument("--target", type=float, nargs="+", required=True, help="force RMSE targets, eV/Å")
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--random-iterations", type=int, default=None,
                        help="iterations of the random arm (default: --iterations); more lets it reach the target")
    parser.add_argument("--test-steps", type=int, default=400)
    parser.add_argument("--test-every", type=int, default=10)
    parser.add_argument("--test-temperature", type=float, default=500.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    toml = with_iterations(args.campaign, args.iterations, args.out)
    random_toml = with_iterations(args.campaign, args.random_iterations or args.iterations, args.out / "random-arm")
    config = load_campaign(toml)
    frames = reference_trajectory(config, args.test_steps, args.test_temperature, args.test_every, 12345)
    result: dict[str, Any] = {"campaign": str(args.campaign), "test_frames": len(frames), "arms": {}}
    for arm, factory, path in (("active", DefaultParts, toml), ("random", RandomParts, random_toml)):
        directory = args.out / arm
        seconds = run_arm(path, directory, lambda c, l, con, f=factory: f(c, l, con))
        points = curve(directory, frames)
        result["arms"][arm] = {"wall_s": seconds, "curve": points}
        print(arm, json.dumps(points), flush=True)
    result["targets"] = [_compare(result["arms"], t) for t in args.target]
    (args.out / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "arms"}, indent=1))


if __name__ == "__main__":
    main()
