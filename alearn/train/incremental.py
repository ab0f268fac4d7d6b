"""Training whose cost per iteration is bounded by the new data, not the whole data set.

An active-learning iteration adds a few structures to a set that keeps growing.  Retraining on
everything makes every iteration dearer than the last.  :func:`train_increment` instead
warm-starts from the previous model and trains on the new rows plus a *replay* sample of the
old ones (``replay`` × as many as there are new rows, at least ``min_replay``, drawn at random
each iteration so that over the iterations all old rows come back), with early stopping on the
fixed validation set.  Its work per iteration is proportional to (1 + replay) × new rows ×
epochs, whatever the size of the data set.  Without a previous model it trains on everything.

The campaign's committee plugin uses :func:`replay_subset` (``[train] replay``): "new" are the
structures labelled after the iterations the previous model saw (its
``metadata["training"]["seen_through_iteration"]``), grouped by parent structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from alearn.data.records import LabelledStructure


@dataclass(frozen=True)
class ReplayPlan:
    """Which rows one incremental training sees."""

    new: int
    replayed: int
    old: int


def replay_rows(new: Sequence[Any], old: Sequence[Any], replay: float, min_replay: int,
                rng: np.random.Generator) -> tuple[list[Any], ReplayPlan]:
    """The new rows and a random sample of the old ones (see the module docstring)."""
    k = min(len(old), max(int(round(replay * len(new))), int(min_replay)))
    picked = sorted(rng.choice(len(old), size=k, replace=False).tolist()) if k else []
    return list(new) + [old[i] for i in picked], ReplayPlan(len(new), k, len(old))


def _groups(rows: Sequence[LabelledStructure]) -> list[list[LabelledStructure]]:
    """``rows`` grouped by parent structure: a derived copy (``provenance.parent``) joins the
    row it was made from (alone when that row is not among ``rows``)."""
    by_id = {r.id: k for k, r in enumerate(rows) if r.id is not None}
    groups: dict[int, list[LabelledStructure]] = {}
    for k, row in enumerate(rows):
        parent = row.provenance.parent
        head = by_id.get(parent, k) if parent is not None else k
        groups.setdefault(head, []).append(row)
    return [groups[k] for k in sorted(groups)]


def latest_iteration(rows: Sequence[LabelledStructure]) -> int:
    """The newest ``provenance.iteration`` among ``rows`` (0 for none)."""
    return max((r.provenance.iteration for r in rows), default=0)


def replay_subset(rows: Sequence[LabelledStructure], seen_through: int, replay: float,
                  min_replay: int, rng: np.random.Generator) -> tuple[list[LabelledStructure], ReplayPlan]:
    """The rows of every structure labelled after iteration ``seen_through`` (the previous
    model's data) and a random sample of max(replay × new, min_replay) of the older structures,
    counted and sampled by parent structure (copies travel with their parent); rows keep their
    order.  The plan counts structures, not rows."""
    groups = _groups(rows)
    new = [k for k, g in enumerate(groups) if max(r.provenance.iteration for r in g) > seen_through]
    fresh = set(new)
    old = [k for k in range(len(groups)) if k not in fresh]
    k = min(len(old), max(int(round(replay * len(new))), int(min_replay)))
    picked = fresh | set(rng.choice(old, size=k, replace=False).tolist() if k else [])
    chosen = [row for j, g in enumerate(groups) if j in picked for row in g]
    return chosen, ReplayPlan(len(new), k, len(old))


def train_increment(previous: Any, new: Sequence[LabelledStructure], old: Sequence[LabelledStructure],
                    valid: Sequence[LabelledStructure], descriptor_cfg: Any, model_cfg: Any,
                    train_cfg: Any, *, seed: int, replay: float = 2.0, min_replay: int = 8,
                    progress: Any = None) -> tuple[Any, Any, ReplayPlan]:
    """Warm-start ``previous`` on new + replayed rows (early stopping on ``valid``); a fresh
    model on ``old + new`` when ``previous`` is None.  Returns (model, TrainReport, plan)."""
    from alearn.train.trainer import train_committee

    if previous is None:
        rows = list(old) + list(new)
        plan = ReplayPlan(len(new), len(old), len(old))
    else:
        rows, plan = replay_rows(new, old, replay, min_replay, np.random.default_rng(seed))
    model, report = train_committee(rows, list(valid), descriptor_cfg, model_cfg, train_cfg,
                                    seed=seed, warm_start=previous, progress=progress)
    return model, report, plan


__all__ = ["ReplayPlan", "latest_iteration", "replay_rows", "replay_subset", "train_increment"]
