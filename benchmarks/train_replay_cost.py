"""Training cost per iteration with and without ``[train] replay`` (issue 17, Build 6).

Runs the same small campaign (Cu₁₃, EMT reference, force-trained 4 × [16, 16] committee, 4
walkers × 150 steps at 900 K, ``budget`` frames a step) twice with ``alearn run``: ``replay =
0`` (every warm-started training sees every row) and ``replay = R`` (new rows plus a random
sample of max(R × new, replay_min) old ones).  Per iteration it reports the iteration's wall
time, the train stage's time, the structures trained on, and the force RMSE on a fixed held-out
set (``[evaluate] test_file``: frames of EMT Langevin MD at 900 K from the same start, never
trained on) and on the campaign's fixed validation set.

    OMP_NUM_THREADS=1 python benchmarks/train_replay_cost.py --iterations 16 --out /tmp/replay
    python benchmarks/train_replay_cost.py --table /tmp/replay /tmp/replay-s2 ...   # markdown
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

HERE = Path(__file__).resolve().parent
START = HERE / "campaigns" / "structures" / "cu13-icosahedron.xyz"

CAMPAIGN = """[campaign]
name = "{name}"
seed = {seed}
structures = ["{start}"]

[reference]
kind = "emt"

[descriptor]
radial_cutoff_A = 5.0
angular_cutoff_A = 3.5
radial_order = 8
angular_order = 4

[model]
kind = "committee"
members = 4
hidden = [16, 16]

[train]
epochs = 120
learning_rate = 0.005
batch_size = 8
patience = 40
force_weight = 0.5
replay = {replay}
replay_min = {replay_min}

[initial]
source = "rattle"
copies = 8
rattle_std_A = 0.05

[explore]
timestep_fs = 2.0
walkers = 4

[[explore.stages]]
temperature_K = 900.0
steps = 150
iterations = 1

[select]
measure = "max_force_std"
budget = {budget}
min_frame_gap = 10
trust = {{ lo = 0.05, hi = 1.5 }}

[dispatch]
engine = "inprocess"

[evaluate]
test_fraction = 0.0
test_file = "{test_file}"

[stop]
max_iterations = {iterations}
"""


def test_trajectory(path: Path, frames: int, seed: int) -> None:
    """``frames`` frames (every 20 steps after 400 of equilibration) of EMT Langevin MD of the
    start structure at 900 K, written as extxyz with energies and forces."""
    import ase.io
    import numpy as np
    from ase import units
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    atoms = ase.io.read(str(START))
    atoms.calc = EMT()
    rng = np.random.default_rng(seed)
    MaxwellBoltzmannDistribution(atoms, temperature_K=900.0, rng=rng)
    md = Langevin(atoms, 2.0 * units.fs, temperature_K=900.0, friction=0.01, rng=rng)
    md.run(400)
    out = []
    for _ in range(frames):
        md.run(20)
        frame = atoms.copy()
        frame.calc = SinglePointCalculator(frame, energy=atoms.get_potential_energy(),
                                           forces=atoms.get_forces())
        out.append(frame)
    ase.io.write(str(path), out, format="extxyz")


def run_arm(out: Path, name: str, replay: float, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One campaign through ``alearn run``; one row per iteration from its manifests."""
    toml = out / f"{name}.toml"
    toml.write_text(CAMPAIGN.format(name=name, seed=args.seed, start=START, replay=replay,
                                    replay_min=args.replay_min, budget=args.budget,
                                    test_file=out / "test.extxyz", iterations=args.iterations))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "alearn", "run", str(toml), "--dir", str(out / name),
                    "--quiet"], check=True, env=env)
    return rows_of(out / name)


def rows_of(directory: Path) -> list[dict[str, Any]]:
    from alearn.campaign.layout import CampaignDir
    from alearn.campaign.records import read_manifests

    rows = []
    for m in read_manifests(CampaignDir(directory)):
        file = m.metrics.file
        valid = m.metrics.validation
        rows.append({"iteration": m.iteration, "wall_s": m.wall_s,
                     "train_s": m.timings_s.get("train"), "n_rows": len(m.dataset.train_ids),
                     "file_force_rmse": None if file is None else file.force_rmse_eV_A,
                     "validation_force_rmse": None if valid is None else valid.force_rmse_eV_A,
                     "validation_frames": None if valid is None else valid.structures,
                     "timings_s": dict(m.timings_s)})
    return rows


def trained_on(directory: Path) -> list[dict[str, Any]]:
    """What each iteration's training saw: structures trained on (after the validation
    split), epochs run, and the replay plan (absent without replay or warm start)."""
    out = []
    for snap in sorted((directory / "iterations").glob("[0-9]*")):
        summary = json.loads((snap / "progress.json").read_text())["stages"]["train"]["summary"]
        out.append({"n_trained": summary.get("n_train"), "epochs": summary.get("epochs"),
                    "replay": summary.get("replay")})
    return out


def _ms(values: Sequence[float], digits: int) -> str:
    import numpy as np

    x = np.asarray(values, dtype=float)
    return f"{x.mean():.{digits}f}" + (f" ± {x.std(ddof=1):.{digits}f}" if x.size > 1 else "")


def table(directories: Sequence[Path]) -> str:
    """Markdown: per iteration, mean ± sd over the runs in ``directories`` of both arms."""
    runs = [json.loads((d / "result.json").read_text()) for d in directories]
    head = ("| iteration | rows in the data set | structures trained on (all / replay) | train stage s "
            "(all / replay) | iteration wall s (all / replay) | held-out force RMSE eV/Å "
            "(all / replay) |\n|---|---|---|---|---|---|")
    lines = [head]
    for k in range(len(runs[0]["all-rows"])):
        arms = {a: [r[a][k] for r in runs] for a in ("all-rows", "replay")}
        cell = {key: " / ".join(_ms([row[key] for row in arms[a]], d) for a in arms)
                for key, d in (("n_trained", 0), ("train_s", 2), ("wall_s", 2),
                               ("file_force_rmse", 3))}
        lines.append(f"| {k} | {arms['replay'][0]['n_rows']} | {cell['n_trained']} | "
                     f"{cell['train_s']} | {cell['wall_s']} | {cell['file_force_rmse']} |")
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=16)
    parser.add_argument("--budget", type=int, default=8)
    parser.add_argument("--replay", type=float, default=2.0)
    parser.add_argument("--replay-min", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--test-frames", type=int, default=40)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--table", type=Path, nargs="+", help="print the markdown table of these runs")
    args = parser.parse_args(argv)
    if not args.table and args.out is None:
        parser.error("give --out (run) or --table DIR ... (print)")
    return args


def main() -> None:
    args = parse()
    if args.table:
        print(table(args.table))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    if not (args.out / "test.extxyz").exists():
        test_trajectory(args.out / "test.extxyz", args.test_frames, seed=12345)
    result = {"args": {k: str(v) for k, v in vars(args).items()}, "load_before": os.getloadavg()}
    for name, replay in (("all-rows", 0.0), ("replay", args.replay)):
        rows = run_arm(args.out, name, replay, args)
        for row, seen in zip(rows, trained_on(args.out / name)):
            row.update(seen)
        result[name] = rows
        print(name, json.dumps([{k: r[k] for k in ("iteration", "wall_s", "train_s", "n_rows",
                                                   "n_trained", "file_force_rmse")} for r in rows]))
    result["load_after"] = os.getloadavg()
    (args.out / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
