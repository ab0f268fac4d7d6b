"""The validation set: explored frames drawn blind to the uncertainty, never trained on.

Every iteration after the first exploration draws ``[evaluate] validation_per_iteration`` frames
uniformly at random from its sane explored frames (insane frames — broken geometries, which
says nothing about the uncertainty — are left out; frames at or above ``hi`` are not).  The
draw depends only on the campaign seed, the iteration and which frames exist, never on their
measure values; it is saved before labelling (``stages/validate/validation.extxyz``), so a
resumed iteration labels the same frames and the dispatcher's job hashes make repeated calls
impossible.  Selection leaves the drawn frames out, the rows never enter training, and every
iteration's model is scored on the whole set so far (:func:`learning_curve` re-reads any prefix
of it from the manifests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from ase import Atoms

#: ``atoms.info`` key naming a drawn frame "walker:index" (dropped before labelling)
FRAME_KEY = "alearn_frame"
#: the saved draw of an iteration, in ``stages/validate``
VALIDATION_FILE = "validation.extxyz"


def draw(keys: Sequence[Any], n: int, rng: np.random.Generator) -> list[Any]:
    """``n`` of ``keys`` uniformly at random without replacement (all of them if fewer), in
    the order drawn."""
    if n <= 0 or not keys:
        return []
    picks = rng.choice(len(keys), size=min(n, len(keys)), replace=False)
    return [keys[int(k)] for k in picks]


def sane_frames(result: Any) -> list[tuple[int, int]]:
    """(walker, frame index) of every sane frame of an exploration, walker by walker."""
    from alearn.explore.monitor import FrameStatus

    insane = FrameStatus.INSANE.code
    out: list[tuple[int, int]] = []
    for outcome in result.walkers:
        status = result.walker_frames(outcome.walker).status
        out.extend((outcome.walker, int(k)) for k in np.flatnonzero(status != insane))
    return out


def validation_frames(result: Any, n: int, rng: np.random.Generator) -> list[Atoms]:
    """The drawn frames of an :class:`~alearn.explore.run.ExplorationResult`, each naming its
    origin in ``info[FRAME_KEY]``."""
    out = []
    for walker, k in draw(sane_frames(result), n, rng):
        atoms = result.walker_frames(walker).atoms(k)
        atoms.info[FRAME_KEY] = f"{walker}:{k}"
        out.append(atoms)
    return out


def drawn_keys(path: Path) -> set[tuple[int, int]]:
    """(walker, frame index) of the frames saved in ``path`` (a stage's validation file)."""
    from alearn.campaign.progress import load_structures

    keys = set()
    for atoms in load_structures(path):
        text = atoms.info.get(FRAME_KEY)
        if isinstance(text, str) and ":" in text:
            walker, k = text.split(":")
            keys.add((int(walker), int(k)))
    return keys


@dataclass(frozen=True)
class CurvePoint:
    """One iteration's model on the first ``frames`` validation frames."""

    iteration: int
    frames: int                     # validation frames scored (the set size used)
    set_size: int                   # the whole validation set at that iteration
    force_rmse_eV_A: float | None


def learning_curve(manifests: Sequence[Any], frames: int | None = None) -> list[CurvePoint]:
    """Validation force RMSE of every iteration's model on the same first ``frames`` frames
    (default: the set of the first iteration that has one, so every point is on one fixed
    set); iterations whose set is smaller than ``frames`` are left out."""
    scored = [(m.iteration, m.metrics.validation_frames or ()) for m in manifests]
    scored = [(i, f) for i, f in scored if f]
    if not scored:
        return []
    n = frames if frames is not None else len(scored[0][1])
    out = []
    for iteration, errs in scored:
        if len(errs) < n:
            continue
        head = [e for e in errs[:n] if e.force_rmse_eV_A is not None]
        atoms = sum(e.atoms for e in head)
        rmse = (float(np.sqrt(sum(e.atoms * e.force_rmse_eV_A ** 2 for e in head) / atoms))
                if atoms else None)
        out.append(CurvePoint(iteration, n, len(errs), rmse))
    return out


__all__ = ["CurvePoint", "FRAME_KEY", "VALIDATION_FILE", "draw", "drawn_keys", "learning_curve",
           "sane_frames", "validation_frames"]
