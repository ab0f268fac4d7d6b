"""Active-learning data efficiency: reference calculations an arm needs to reach a force error.

For every system of ``al_systems.py`` and every seed, all arms start from the same iteration 0
(rattled copies of the start structures, labelled) and run the same number of iterations with
the same budget per iteration, the same training schedule (warm start, replay, early stopping
on the arm's own validation set), the same validation rule (``validation_per_iteration``
frames drawn uniformly from the arm's own pool each iteration; every frame counts) and the
campaign's stop rule (``al_harness``): once it holds, the random arms stop labelling and the
uncertainty arms label only frames predicted to miss the target.  Arms:

- ``active``: the selection strategy under test (``--active``, one of :data:`STRATEGIES`;
  default the campaign's own default, committee ``max_force_std`` with fps); any other strategy
  name given in ``--arms`` runs beside it;
- ``A``: random frames of the same surrogate exploration (the same explorer as ``active``,
  bias included), frames predicted at or above hi excluded;
- ``A-plain``: random frames of unbiased surrogate exploration (only when ``active`` biases);
- ``B``: random frames of reference MD at the test conditions from the same start structures
  (as many MD steps per iteration as the surrogate walkers make); ``C`` is B's count of
  reference MD steps.

After every iteration the model is scored on the system's test set (reference MD at the test
conditions, never trained on; for the rare-event systems half in each state).  **Needed** = the
reference calculations spent (selected + validation) at the first iteration after which the
force RMSE stays at or below the target for the rest of the run.  Targets are multiples
(``--target-factors``) of the **floor**: the force RMSE of the model trained from scratch on
``--floor-frames`` frames of independent reference MD of the test distribution.  The target of
every arm's stop rule and of the active arm's trust is ``--trust-factor`` × floor.  "Sent /
explored" is counted over the iterations after the active arm's stop rule held.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/loop_data_efficiency.py cu-bulk cu-melt \\
        --seeds 1 2 3 4 5 --out /tmp/bench-al
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import al_harness as H  # noqa: E402
import al_systems as S  # noqa: E402

#: named selection strategies (the active arm and the experiments)
STRATEGIES: dict[str, H.Strategy] = {s.name: s for s in (
    H.Strategy("random", selector="random"),
    H.Strategy("committee-fps-raw", selector="fps", measure="committee", trust="raw"),
    H.Strategy("committee-fps", selector="fps", measure="committee"),
    H.Strategy("committee-fps-fixedhi", selector="fps", measure="committee", hi_follows_error=False),
    H.Strategy("committee-top", selector="top", measure="committee"),
    H.Strategy("committee-kmeans", selector="kmeans", measure="committee"),
    H.Strategy("gf-maxdet", selector="maxdet", measure="gf_atom"),
    H.Strategy("gf-lcmd", selector="lcmd", measure="gf_atom"),
    H.Strategy("gf-top", selector="top", measure="gf_atom"),
    H.Strategy("gfs-maxdet", selector="maxdet", measure="gf_struct"),
    H.Strategy("sketch-maxdet", selector="maxdet", measure="gf_atom", features="sketch"),
    H.Strategy("dopt-maxdet", selector="maxdet", measure="dopt"),
    H.Strategy("committee-maxdet", selector="maxdet", measure="committee"),
    H.Strategy("committee-lcmd", selector="lcmd", measure="committee"),
    H.Strategy("gpr-fps", selector="fps", measure="gpr"),
    H.Strategy("gpr-top", selector="top", measure="gpr"),
    H.Strategy("gpr-fps-raw", selector="fps", measure="gpr", trust="raw"),
)}
BIASED = {f"{name}+bias": replace(s, name=f"{name}+bias", bias=0.2, bias_ramp_steps=50)
          for name, s in STRATEGIES.items() if not name.startswith("gpr")}
STRATEGIES.update(BIASED)
STRATEGIES["B"] = H.Strategy("B", pool="reference")
STRATEGIES["B-nostop"] = H.Strategy("B-nostop", pool="reference", stops=False)


def arm_strategies(active: H.Strategy, arms: Sequence[str]) -> dict[str, H.Strategy]:
    """The strategy of every requested arm (A shares the active arm's explorer and measure)."""
    out: dict[str, H.Strategy] = {}
    for arm in arms:
        if arm == "active":
            out[arm] = active
        elif arm == "A":
            out[arm] = H.Strategy("A", selector="random", measure=active.measure, features=active.features,
                                  trust=active.trust, bias=active.bias,
                                  bias_ramp_steps=active.bias_ramp_steps, guard=active.guard,
                                  guard_ramp_steps=active.guard_ramp_steps, hi_factor=active.hi_factor,
                                  hi_follows_error=active.hi_follows_error)
        elif arm == "A-plain":
            if active.bias > 0:
                out[arm] = H.Strategy("A-plain", selector="random", measure=active.measure,
                                      features=active.features, trust=active.trust, guard=active.guard,
                                      guard_ramp_steps=active.guard_ramp_steps,
                                      hi_factor=active.hi_factor)
        elif arm in ("A-nostop", "active-nostop"):
            base = out.get(arm.split("-")[0]) or arm_strategies(active, [arm.split("-")[0]])[arm.split("-")[0]]
            out[arm] = replace(base, name=arm, stops=False)
        elif arm == "B":
            out[arm] = STRATEGIES["B"]
        else:
            out[arm] = STRATEGIES[arm]
    return out


# --- the arithmetic of "needed" -------------------------------------------------------------

def needed(curve: Sequence[dict[str, Any]], target: float, key: str = "force_rmse",
           count: str = "reference") -> int | None:
    """Calls spent at the first point after which ``key`` stays ≤ ``target`` to the end."""
    found = None
    for point in curve:
        if point[key] <= target:
            if found is None:
                found = int(point[count])
        else:
            found = None
    return found


def compare(runs: dict[Any, dict[str, Any]], target: float, baseline: str, arm: str = "active",
            count: str = "reference") -> dict[str, Any]:
    """Per seed: what ``arm`` and ``baseline`` needed and the ratio baseline/arm; when the
    baseline never stays below, the ratio is at least (its last count)/(the arm's)."""
    per_seed = {}
    for seed, arms in runs.items():
        if arm not in arms or baseline not in arms:
            continue
        a = needed(arms[arm]["curve"], target)
        b = needed(arms[baseline]["curve"], target, count=count)
        spent = arms[baseline]["curve"][-1][count]
        per_seed[seed] = {arm: a, baseline: b, "ratio": b / a if a and b else None,
                          "ratio_at_least": spent / a if a and b is None else None}
    ratios = [v["ratio"] for v in per_seed.values() if v["ratio"] is not None]
    return {"target": target, "baseline": baseline, "per_seed": per_seed,
            "seeds_both_reached": len(ratios),
            "ratio_mean": float(np.mean(ratios)) if ratios else None,
            "ratio_std": float(np.std(ratios, ddof=1)) if len(ratios) > 1 else None,
            "ratio_min": min(ratios, default=None), "ratio_max": max(ratios, default=None)}


# --- running -------------------------------------------------------------------------------

FLOOR_EPOCHS, FLOOR_PATIENCE = 300, 60


def floor(system: S.System, frames: int, cache: Path) -> float:
    """Force RMSE on the test set of the model trained from scratch on ``frames`` frames of
    independent reference MD of the test distribution (seed 54321), for up to
    ``FLOOR_EPOCHS`` epochs with early stopping on a tenth of them."""
    test = S.test_set(system, 12345, cache)
    train = S.test_set(system, 54321, cache)
    chosen = [a for subset in train.values() for a in subset]
    rng = np.random.default_rng(54321)
    chosen = [chosen[i] for i in sorted(rng.choice(len(chosen), size=min(frames, len(chosen)),
                                                   replace=False))]
    valid_n = max(2, len(chosen) // 10)
    cfg = H.configs(system)
    if system.surrogate == "committee":      # trained to convergence: a yardstick, not a rival
        cfg = replace(cfg, train=replace(cfg.train, epochs=FLOOR_EPOCHS, patience=FLOOR_PATIENCE))
    rows = H.rows_of(chosen)
    model, _ = H.fit(cfg, system, H.Strategy("floor", fresh_training=True), None,
                     rows[valid_n:], [], rows[:valid_n], seed=7)
    return H.evaluate(model, test)["force_rmse"]


def run_system(name: str, args: argparse.Namespace) -> dict[str, Any]:
    system = S.systems()[name]()
    out = args.out / name
    out.mkdir(parents=True, exist_ok=True)
    test = S.test_set(system, 12345, args.cache)
    result_path = out / "result.json"
    result = json.loads(result_path.read_text()) if result_path.exists() and args.resume else {}
    if "floor" not in result:
        result.update({"system": name, "notes": system.notes,
                       "test": S.subset_report(system, test), "argv": sys.argv[1:]})
        result["floor"] = floor(system, args.floor_frames, args.cache)
        result["targets"] = [f * result["floor"] for f in args.target_factors]
        result["runs"] = {}
    log(f"{name}: floor {result['floor']:.4g} eV/Å; targets {[round(t, 4) for t in result['targets']]}")
    trust_target = args.trust_factor * result["floor"]
    result["trust_target"] = trust_target
    default = "gpr-fps" if system.surrogate == "gpr" else args.active
    active = STRATEGIES[args.active_gpr if system.surrogate == "gpr" else default]
    if args.hi_factor is not None:
        active = replace(active, hi_factor=args.hi_factor)
    strategies = arm_strategies(active, args.arms)
    iterations = args.iterations or system.iterations
    for seed in args.seeds:
        runs = result["runs"].setdefault(str(seed), {})
        start = None
        for arm, strategy in strategies.items():
            if arm in runs and args.resume:
                continue
            if start is None:
                start = H.initial_state(H.configs(system), system, seed, out / f"seed-{seed}" / "initial")
                if not start.curve:
                    start.curve.append({"iteration": 0, "reference": start.calls, "md_steps": 0,
                                        **H.evaluate(start.model, test)})
            load = os.getloadavg()[0]
            run = H.run_arm(system, strategy, seed, trust_target, test, start,
                            out / f"seed-{seed}" / arm, iterations, log=log if args.verbose else None)
            run["load_average"] = [load, os.getloadavg()[0]]
            runs[arm] = run
            log(f"{name} seed {seed} {arm} ({strategy.name}): "
                + ", ".join(f"{p['reference']}→{p['force_rmse']:.3g}" for p in run["curve"])
                + f"  [{run['wall_s']:.0f} s, load {load:.1f}]")
            result_path.write_text(json.dumps(result, indent=1))
    result["summary"] = summarise(result)
    result_path.write_text(json.dumps(result, indent=1))
    return result


BASELINES = ("A", "A-plain", "B", "A-nostop", "B-nostop")


def summarise(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Ratios baseline/arm of every uncertainty arm (``active`` and any named strategy) against
    every baseline arm at every target (C: B's MD steps)."""
    runs = result["runs"]
    present = {a for r in runs.values() for a in r}
    arms = ["active"] + sorted(present - {"active", *BASELINES})
    out = []
    for target in result["targets"]:
        for arm in arms:
            for baseline in [b for b in BASELINES if b in present]:
                row = compare(runs, target, baseline, arm=arm)
                row["arm"] = arm
                out.append(row)
            for b, c_name in (("B", "C"), ("B-nostop", "C-nostop")):
                if b in present:
                    c = compare(runs, target, b, arm=arm, count="md_steps")
                    c.update(baseline=c_name, arm=arm)
                    out.append(c)
    return out


def at_stop(run: dict[str, Any]) -> tuple[int | None, float | None]:
    """(reference calls, test force RMSE) when the arm's stop rule held (None: it never did)."""
    at = run.get("converged_at")
    if at is None:
        return None, None
    point = next(p for p in run["curve"] if p["iteration"] == at)
    return int(point["reference"]), float(point["force_rmse"])


def sent_fraction(curve: Sequence[dict[str, Any]], converged_at: int | None,
                  per: str = "explored") -> float | None:
    """Reference calls per explored frame (``per = "explored_md_steps"``: per MD step) over the
    iterations after the arm's stop rule held (None: it never held, or no iteration followed)."""
    if converged_at is None:
        return None
    tail = [p for p in curve if p["iteration"] > converged_at and p.get(per)]
    explored = sum(p[per] for p in tail)
    if not explored:
        return None
    return sum(p["selected"] + p.get("validation", 0) for p in tail) / explored


def _fmt(x: Any, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def table(result: dict[str, Any]) -> list[str]:
    """Markdown rows of one system: per target, arm and baseline, what each seed needed and the
    ratio baseline/arm (mean ± sd, min; '≥ r' where the baseline never stayed below); then per
    arm the calls and test error when its stop rule held, the final test error, and the active
    arm's sent fraction after it held."""
    lines = []
    for row in summarise(result):
        per = row["per_seed"]
        key = {"C": "B", "C-nostop": "B-nostop"}.get(row["baseline"], row["baseline"])
        mine = ", ".join("—" if v[row["arm"]] is None else str(v[row["arm"]]) for v in per.values())
        base = ", ".join("—" if v[key] is None else str(v[key]) for v in per.values())
        ratios = ", ".join(_fmt(v["ratio"]) if v["ratio"] is not None
                           else (f"≥ {v['ratio_at_least']:.2f}" if v["ratio_at_least"] else "—")
                           for v in per.values())
        spread = (f"{_fmt(row['ratio_mean'])} ± {_fmt(row['ratio_std'])} (min {_fmt(row['ratio_min'])})"
                  if row["ratio_mean"] is not None else "—")
        lines.append(f"| {result['system']} | {row['target']:.4g} | {row['arm']} vs {row['baseline']} | "
                     f"{mine} | {base} | {ratios} | {spread} | {row['seeds_both_reached']}/{len(per)} |")
    return lines


def stop_table(result: dict[str, Any]) -> list[str]:
    """Per arm: seeds whose stop rule held, calls and test RMSE then, final test RMSE (mean ± sd
    over seeds) and, for the uncertainty arms, sent / explored frames and per MD step after it
    held, per seed."""
    lines = []
    arms = sorted({a for r in result["runs"].values() for a in r}, key=lambda a: (a != "active", a))
    for arm in arms:
        runs = [r[arm] for r in result["runs"].values() if arm in r]
        stops = [at_stop(r) for r in runs]
        held = [s for s in stops if s[0] is not None]
        final = np.array([r["curve"][-1]["force_rmse"] for r in runs])
        spent = np.array([r["curve"][-1]["reference"] for r in runs])
        sent = [sent_fraction(r["curve"], r.get("converged_at")) for r in runs]
        steps = [sent_fraction(r["curve"], r.get("converged_at"), per="explored_md_steps") for r in runs]
        lines.append(
            f"| {result['system']} | {arm} | {len(held)}/{len(runs)} | "
            + ", ".join("—" if c is None else str(c) for c, _ in stops) + " | "
            + ", ".join("—" if e is None else f"{e:.3f}" for _, e in stops) + " | "
            + f"{spent.mean():.0f} | {final.mean():.3f} ± {final.std(ddof=1) if len(final) > 1 else 0:.3f} | "
            + (", ".join("—" if x is None else f"{100 * x:.1f} %" for x in sent) + " / "
               + ", ".join("—" if x is None else f"{100 * x:.2f} %" for x in steps)
               if arm not in BASELINES else "") + " |")
    return lines


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {text}", flush=True)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("systems", nargs="+", choices=sorted(S.systems()))
    parser.add_argument("--table", action="store_true",
                        help="print the markdown table of OUT/SYSTEM/result.json and exit")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--arms", nargs="+", default=["active", "A", "A-plain", "B"],
                        help="active, A, A-plain, B, or any strategy name")
    parser.add_argument("--active", default="committee-fps", choices=sorted(STRATEGIES))
    parser.add_argument("--active-gpr", default="gpr-fps", choices=sorted(STRATEGIES))
    parser.add_argument("--iterations", type=int, default=None, help="default: the system's")
    parser.add_argument("--hi-factor", type=float, default=None,
                        help="hi = this × target for the surrogate arms (default: the campaign's [select] hi_factor)")
    parser.add_argument("--floor-frames", type=int, default=100)
    parser.add_argument("--target-factors", type=float, nargs="+", default=[3.0, 2.0],
                        help="the targets reported (× floor)")
    parser.add_argument("--trust-factor", type=float, default=3.0,
                        help="the target every arm's stop rule and the active arm's trust use (× floor)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder of the labelled test and floor frames (default: OUT/cache)")
    parser.add_argument("--resume", action="store_true", help="keep finished arms in OUT")
    parser.add_argument("--verbose", action="store_true", help="log every iteration")
    return parser.parse_args(argv)


def main() -> None:
    args = parse()
    args.out.mkdir(parents=True, exist_ok=True)
    args.cache = args.cache or args.out / "cache"
    if args.table:
        results = {name: json.loads((args.out / name / "result.json").read_text()) for name in args.systems}
        print("| system | target eV/Å | arm vs baseline | arm needed | baseline needed | ratio per seed "
              "| ratio mean ± sd | seeds |\n|---|---|---|---|---|---|---|---|")
        for result in results.values():
            print("\n".join(table(result)))
        print("\n| system | arm | stop rule held | calls then | test RMSE then | calls at end "
              "| test RMSE at end | sent / explored frames / MD steps after it held |\n"
              "|---|---|---|---|---|---|---|---|")
        for result in results.values():
            print("\n".join(stop_table(result)))
        for result in results.values():
            print(f"{result['system']}: floor {result['floor']:.4g} eV/Å, trust target "
                  f"{result.get('trust_target', float('nan')):.4g}, test {result['test']}")
        return
    for name in args.systems:
        result = run_system(name, args)
        for row in result["summary"]:
            log(f"{name} target {row['target']:.4g} {row['arm']} vs {row['baseline']}: "
                f"mean {row['ratio_mean']} ± {row['ratio_std']} over {row['seeds_both_reached']} seeds; "
                + "; ".join(f"{s}: {v}" for s, v in row["per_seed"].items()))


if __name__ == "__main__":
    main()
