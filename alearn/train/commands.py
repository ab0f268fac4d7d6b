"""``alearn train SPEC.toml`` and ``alearn evaluate MODEL DATA [--json]``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

TRAIN_HELP = """\
Train a committee of atomic neural networks from a spec file with the sections
[data] (train/valid extxyz files or a store), [descriptor], [model], [train], [augment]
(kind = "taylor" or "none") and [output] (directory, warm_start); see docs/ann.md."""

TRAIN_EXAMPLE = """\
example spec (train.toml):
  [data]
  train = ["train.extxyz"]
  [descriptor]
  elements = ["H", "O"]
  [model]
  members = 4
  [train]
  epochs = 200
  [output]
  directory = "model"

  alearn train train.toml            then alearn.load_calculator("model") or alearn evaluate"""

EVALUATE_EXAMPLE = """\
examples:
  alearn evaluate model test.extxyz
  alearn evaluate water-cluster-xtb/export/model-0004 water-cluster-xtb/store.db --json"""


def register(subparsers: Any) -> None:
    train = subparsers.add_parser("train", help="train a committee ANN from a spec file",
                                  description=TRAIN_HELP, epilog=TRAIN_EXAMPLE,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("spec", type=Path, help="TOML spec file")
    train.add_argument("--output", type=Path, default=None, help="model directory (overrides [output].directory)")
    train.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    train.set_defaults(handler=run_train)
    evaluate = subparsers.add_parser("evaluate", help="errors of a saved model on labelled structures",
                                     description="Energy, force, force-direction and stress/pressure "
                                     "errors of a saved model on labelled structures (extxyz or a store).",
                                     epilog=EVALUATE_EXAMPLE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_argument("model", type=Path, help="model directory (manifest.json)")
    evaluate.add_argument("data", nargs="+", help="extxyz files or a store (.db / postgresql:// URL)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(handler=run_evaluate)


def load_spec(path: Path) -> Any:
    from alearn.config.ann import TrainSpec
    from alearn.config.campaign import read_toml
    from alearn.config.schema import build

    return build(TrainSpec, read_toml(path), file=path)


def store_location(value: str, base: Path) -> str:
    """A store URL as given; a file path relative to ``base``, which must exist."""
    from alearn.errors import UserError

    if "://" in value:
        return value
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise UserError(f"store {str(path)!r} does not exist ([data].store)")
    return str(path)


def training_data(spec: Any, base: Path = Path(".")) -> tuple[list, list]:
    """(train, valid) labelled structures from the spec's [data], augmented per [augment].

    Without validation files, ``[train] validation_fraction`` of the structures is held out
    *before* augmentation (by parent: :func:`alearn.train.data.split`), so no copy of a
    training structure validates and no copy of a validation structure trains."""
    import numpy as np

    from alearn.train.data import read_files, read_store, split

    from alearn import registry

    train = read_store(store_location(spec.data.store, base)) if spec.data.store else []
    train += read_files(spec.data.train)
    valid = read_files(spec.data.valid)
    if not valid and spec.train.validation_fraction > 0 and len(train) > 1:
        train, valid = split(train, spec.train.validation_fraction, np.random.default_rng(spec.seed))
    result = registry.make(registry.AUGMENTERS, spec.augment).augment(
        train, np.random.default_rng(spec.seed + 1))
    if result.to_label:
        print(f"[augment] {spec.augment.kind}: {len(result.to_label)} structures above its gate "
              "are left out (alearn train has no reference calculator to label them)")
    return train + list(result.added), valid


def run_train(args: argparse.Namespace) -> int:
    from alearn.models import load
    from alearn.train.trainer import train_committee

    spec = load_spec(args.spec)
    train, valid = training_data(spec, Path(args.spec).resolve().parent)
    warm = load(spec.output.warm_start) if spec.output.warm_start else None
    progress = None if args.quiet else _printer(spec.train.epochs)
    model, report = train_committee(train, valid, spec.descriptor, spec.model, spec.train,
                                    seed=spec.seed, warm_start=warm, progress=progress)
    out = args.output or spec.output.directory
    model.save(out)
    print(f"trained {model.members} networks {list(model.hidden)} on {report.n_train} structures "
          f"({report.n_valid} validation) in {report.epochs} epochs, {report.seconds:.1f} s → {out}")
    _print_metrics("validation" if report.valid_metrics else "training",
                   report.valid_metrics or report.train_metrics)
    return 0


def _printer(epochs: int):
    def show(epoch: int, record: dict[str, float]) -> None:
        if epoch % 10 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch:5d}  train loss {record['train_loss']:.4e}  "
                  f"validation {record['valid_score']:.4e}", flush=True)
    return show


def _print_metrics(title: str, metrics: dict[str, float]) -> None:
    print(f"{title} errors:")
    for key, value in metrics.items():
        print(f"  {key:26s} {value:.6g}")


def run_evaluate(args: argparse.Namespace) -> int:
    from alearn.models import load
    from alearn.train.data import read_files, read_store
    from alearn.train.metrics import evaluate_surrogate

    model = load(args.model)
    structures = []
    for item in args.data:
        is_store = item.startswith("postgresql://") or item.endswith(".db")
        structures += read_store(store_location(item, Path.cwd())) if is_store else read_files([Path(item)])
    metrics = evaluate_surrogate(model, structures)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        _print_metrics(f"{args.model} on {len(structures)} structures", metrics)
    return 0
