"""Robust early exploration: walkers of a first surrogate with and without the temperature guard.

The first model of a campaign (trained on a few rattled copies of the start) drives walkers
at the stage temperature.  For each setting of ``[explore.monitor] rescale_above_factor`` /
``ramp_steps`` this runs the same walkers (same seeds) and reports per walker: temperature
runaways (frames above ``max_temperature_factor`` × T, which roll the walker back), other
insane or failed frames, rollbacks, why it stopped, the velocity rescalings, the frames kept
(accurate + candidate) and the shortest O–H (or any) distance among kept frames.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/explore_guard.py water --seeds 1 2 3 \\
        --out /tmp/bench-guard
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import al_harness as H  # noqa: E402
import al_systems as S  # noqa: E402

SETTINGS = {"off": (0.0, 0), "guard 1.5": (1.5, 0), "guard 1.5 + ramp 100": (1.5, 100)}


def run(system: S.System, seed: int, setting: str, out: Path, steps: int, temperature: float) -> dict[str, Any]:
    from alearn.explore.run import run_walkers, walker_plan

    cfg = H.configs(system)
    start = H.initial_state(cfg, system, seed, out / f"seed-{seed}")
    factor, ramp = SETTINGS[setting]
    monitor = replace(cfg.explore.monitor, rescale_above_factor=factor, ramp_steps=ramp)
    stage = replace(cfg.explore.stages[0], temperature_K=temperature, steps=steps)
    explore = replace(cfg.explore, monitor=monitor, stages=(stage,))
    result = run_walkers(list(system.starts), walker_plan(explore, cfg.select, 1), str(start.model_dir),
                         H.Inline(), seed, out / f"seed-{seed}" / setting.replace(" ", "_"))
    walkers = []
    for w in result.walkers:
        frames = result.walker_frames(w.walker)
        kept = [k for k in range(len(frames)) if int(frames.status[k]) in (0, 1)]
        closest = min((float(np.min(frames.atoms(k).get_all_distances()[np.triu_indices(len(frames.numbers), 1)]))
                       for k in kept), default=None)
        runaways = sum("temperature runaway" in " ".join(e.reasons) for e in w.events)
        walkers.append({"steps": w.steps_done, "stop": w.stop_reason, "rollbacks": w.rollbacks,
                        "runaways": runaways, "other_failures": len(w.events) - runaways,
                        "rescales": w.rescales, "frames": len(frames), "kept": len(kept),
                        "closest_kept_A": closest})
    return {"seed": seed, "setting": setting, "walkers": walkers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("system", choices=sorted(S.systems()))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--temperature", type=float, default=300.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    system = S.systems()[args.system]()
    rows = []
    for seed in args.seeds:
        for setting in SETTINGS:
            row = run(system, seed, setting, args.out, args.steps, args.temperature)
            rows.append(row)
            totals = {k: sum(w[k] for w in row["walkers"]) for k in ("runaways", "other_failures",
                                                                    "rollbacks", "rescales", "kept", "frames")}
            print(f"seed {seed} {setting}: {totals}; stops {[w['stop'] for w in row['walkers']]}; "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
            (args.out / "guard.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
