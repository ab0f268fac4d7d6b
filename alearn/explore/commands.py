"""``alearn explore``: run one iteration's walkers and selection outside a campaign.

Useful to tune ``[explore]`` and ``[select]`` (trust window, budget, monitors) on a trained
model before starting a campaign: it prints the accurate / candidate / failed counts per walker
and the selected structures with their explanations, and writes ``selected.extxyz`` beside the
walkers' frames.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explore", help="run the walkers and the selection of one iteration on a trained model",
        description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  alearn explore campaigns/water-cluster-xtb.toml --model "
               "water-cluster-xtb/export/model-0004 --out explore-test --iteration 3")
    parser.add_argument("campaign", type=Path, help="campaign TOML ([explore], [select] and "
                        "[campaign] structures are used)")
    parser.add_argument("--model", type=Path, required=True, help="trained model directory")
    parser.add_argument("--out", type=Path, required=True, help="directory for the frames")
    parser.add_argument("--iteration", type=int, default=1,
                        help="iteration whose stage of the schedule to run (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="walkers run at once (threads)")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed (default: [campaign] seed)")
    parser.set_defaults(handler=run_explore)


def run_explore(args: argparse.Namespace) -> int:
    import functools
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    from ase.io import read, write

    from alearn import registry
    from alearn.config.campaign import load_campaign
    from alearn.errors import UserError
    from alearn.explore.run import describe, run_walkers, walker_plan
    from alearn.explore.walker import model_calculator
    from alearn.select.selector import select_candidates

    cfg = load_campaign(args.campaign)
    if not (args.model / "manifest.json").exists():
        raise UserError(f"{args.model} is not a model directory (no manifest.json); pass the "
                        "directory written by 'alearn train' or a campaign snapshot's model")
    starts = [atoms for path in cfg.campaign.structures for atoms in read(path, index=":")]
    seed = cfg.campaign.seed if args.seed is None else args.seed
    plan = walker_plan(cfg.explore, cfg.select, args.iteration)
    options = registry.make(registry.SURROGATES, cfg.model).calculator_options()
    calculator = functools.partial(model_calculator, str(args.model.resolve()), **options)
    with ThreadPoolExecutor(max(args.workers, 1)) as engine:
        result = run_walkers(starts, plan, calculator, engine, np.random.default_rng(seed),
                             args.out)
    print(describe(result))
    selection = select_candidates(result, cfg.select)
    print(selection.summary())
    write(args.out / "selected.extxyz", [s.atoms for s in selection.selected], format="extxyz")
    return 0
