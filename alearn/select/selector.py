"""Selection: which explored frames go to the reference calculator.

:func:`select_candidates` applies the trust window [lo, hi) to every stored frame (accurate /
candidate / failed, counted per walker and for the iteration), optionally adapts the lower
level (``top_n`` or ``calibrated``), keeps candidates of one walker at least ``min_frame_gap``
MD steps apart (most uncertain first), and — when more remain than the budget — picks the
budget by farthest-point sampling in the structure-fingerprint space, starting from the most
uncertain frame (``diversity = "kmeans"``: the most uncertain frame of each of ``budget``
k-means clusters of that space).  Each selected structure carries an explanation: the atom
with the largest per-atom uncertainty and its environment.  For large systems with ``[select.fragments]``
enabled, the structure to label is the fragment cut around that atom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols, covalent_radii
from ase.neighborlist import neighbor_list

from alearn.explore.frames import WalkerFrames
from alearn.explore.monitor import Counts, FrameStatus
from alearn.select.calibration import CalibrationReport
from alearn.select.diversity import (decorrelate, element_pairs, farthest_point_sampling, fingerprint,
                                     representatives)
from alearn.select.fragments import Fragment, cut_fragment

_CAND, _FAIL, _INSANE = (FrameStatus.CANDIDATE.code, FrameStatus.FAILED.code,
                         FrameStatus.INSANE.code)


@dataclass(frozen=True)
class Explanation:
    """Which atom drove a selection, and its environment."""

    atom: int | None                 # index in the frame (None: measure has no per-atom part)
    element: str | None
    atom_value: float | None         # that atom's contribution, unit of the measure
    bonded: Mapping[str, int]        # element → count of covalently bonded neighbours
    neighbours: int                  # atoms within the fingerprint cutoff
    text: str


@dataclass(frozen=True)
class Selected:
    """A structure chosen for labelling."""

    walker: int
    step: int
    measure: float
    atoms: Atoms                     # what to label (the frame, or its fragment)
    frame: Atoms                     # the full explored frame
    explanation: Explanation
    fragment: Fragment | None = None

    @property
    def subset(self) -> str | None:
        """Energy-offset class for the store (fragment type key), None for whole frames."""
        return None if self.fragment is None else self.fragment.type_key


@dataclass(frozen=True)
class Selection:
    """The outcome of one iteration's selection."""

    iteration: int
    lo: float                        # lower trust level actually used
    hi: float
    adaptive: str
    counts: Counts
    per_walker: tuple[tuple[int, Counts], ...]
    candidates: int                  # candidate frames before decorrelation
    decorrelated: int                # candidates left after time decorrelation
    selected: tuple[Selected, ...]
    calibration: CalibrationReport | None = None

    def summary(self) -> str:
        c = self.counts
        head = (f"iteration {self.iteration}: {c.accurate} accurate, {c.candidate} candidate, "
                f"{c.failed} failed ({c.insane} insane) in [{self.lo:.4g}, {self.hi:g}); "
                f"{self.decorrelated} decorrelated candidates → {len(self.selected)} selected")
        return "\n".join([head] + [f"  walker {s.walker} step {s.step}: {s.measure:.4g}; "
                                   f"{s.explanation.text}" for s in self.selected])


def classify(codes: np.ndarray, measure: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Status codes against [lo, hi); insane frames stay insane."""
    out = np.where(measure >= hi, _FAIL, np.where(measure >= lo, _CAND,
                                                  FrameStatus.ACCURATE.code))
    return np.where(np.asarray(codes) == _INSANE, _INSANE, out).astype(np.int64)


def effective_lo(values: np.ndarray, cfg: Any, calibration: CalibrationReport | None) -> float:
    """The lower trust level after adaptation (``values``: measures of all sane frames)."""
    lo, hi = cfg.trust.lo, cfg.trust.hi
    if cfg.adaptive == "calibrated" and calibration is not None and calibration.suggested_lo is not None:
        return float(min(max(calibration.suggested_lo, 0.0), np.nextafter(hi, 0.0)))
    if cfg.adaptive == "top_n":
        below = np.sort(values[values < hi])[::-1]
        if len(below) and np.sum(below >= lo) < cfg.budget:
            return float(min(lo, below[min(cfg.budget, len(below)) - 1]))
    return float(lo)


def explain(atoms: Atoms, per_atom: np.ndarray | None, cutoff_A: float, kind: str) -> Explanation:
    """The atom with the largest per-atom uncertainty and its environment."""
    if per_atom is None or len(per_atom) == 0:
        return Explanation(None, None, None, {}, 0, f"{kind}: no per-atom contributions")
    atom = int(np.argmax(per_atom))
    i, j, d = neighbor_list("ijd", atoms, cutoff_A, self_interaction=False)
    mine = i == atom
    z = atoms.numbers
    limit = 1.2 * (covalent_radii[z[atom]] + covalent_radii[z[j[mine]]])
    bonded: dict[str, int] = {}
    for other in j[mine][d[mine] < limit]:
        symbol = chemical_symbols[z[other]]
        bonded[symbol] = bonded.get(symbol, 0) + 1
    element = chemical_symbols[z[atom]]
    partners = ", ".join(f"{n} {s}" for s, n in sorted(bonded.items())) or "nothing"
    text = (f"atom {atom} ({element}) {kind} {per_atom[atom]:.4g}, bonded to {partners}, "
            f"{int(mine.sum())} neighbours within {cutoff_A:g} Å")
    return Explanation(atom, element, float(per_atom[atom]), bonded, int(mine.sum()), text)


def _pick(pool: list[tuple[int, int]], frames: dict[int, WalkerFrames], cfg: Any) -> list[tuple[int, int]]:
    values = np.array([frames[w].measure[k] for w, k in pool])
    if len(pool) <= cfg.budget:
        return [pool[m] for m in np.argsort(-values, kind="stable")]
    if cfg.diversity == "none":
        return [pool[m] for m in np.argsort(-values, kind="stable")[:cfg.budget]]
    structures = [frames[w].atoms(k) for w, k in pool]
    pairs = element_pairs(structures)
    points = np.array([fingerprint(a, pairs, cfg.descriptor_cutoff_A) for a in structures])
    if cfg.diversity == "kmeans":
        return [pool[m] for m in representatives(points, values, cfg.budget)]
    chosen = farthest_point_sampling(points, cfg.budget, first=int(np.argmax(values)))
    return [pool[m] for m in chosen]


def _selected(frames: WalkerFrames, k: int, cfg: Any) -> Selected:
    frame = frames.frame(k)
    why = explain(frame.atoms, frame.per_atom, cfg.descriptor_cutoff_A, cfg.measure)
    frag_cfg = cfg.fragments
    fragment = None
    if frag_cfg.enabled and len(frame.atoms) > frag_cfg.min_atoms and why.atom is not None:
        fragment = cut_fragment(frame.atoms, why.atom, frag_cfg.radius_A, frag_cfg.cutoff_A,
                                saturate=frag_cfg.saturate, bond_factor=frag_cfg.bond_factor,
                                whole_molecules=frag_cfg.whole_molecules)
    target = frame.atoms if fragment is None else fragment.atoms
    return Selected(frame.walker, frame.step, frame.measure, target, frame.atoms, why, fragment)


def select_candidates(result: Any, cfg: Any, *,
                      calibration: CalibrationReport | None = None) -> Selection:
    """Select this iteration's structures from an :class:`ExplorationResult` (``cfg``: [select])."""
    frames = {w.walker: result.walker_frames(w.walker) for w in result.walkers}
    sane = [f.measure[f.status != _INSANE] for f in frames.values()]
    lo = effective_lo(np.concatenate(sane) if sane else np.zeros(0), cfg, calibration)
    per_walker, pool, n_candidates = [], [], 0
    for walker, wf in frames.items():
        codes = classify(wf.status, wf.measure, lo, cfg.trust.hi)
        per_walker.append((walker, Counts.of(codes)))
        cand = np.flatnonzero(codes == _CAND)
        n_candidates += len(cand)
        kept = decorrelate(wf.steps[cand], wf.measure[cand], cfg.min_frame_gap)
        pool.extend((walker, int(cand[m])) for m in kept)
    chosen = _pick(pool, frames, cfg)
    selected = tuple(_selected(frames[w], k, cfg) for w, k in chosen)
    total = sum((c for _, c in per_walker), Counts())
    return Selection(result.iteration, lo, cfg.trust.hi, cfg.adaptive, total, tuple(per_walker),
                     n_candidates, len(pool), selected, calibration)
