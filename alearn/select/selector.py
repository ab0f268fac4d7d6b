"""Selection: which explored frames go to the reference calculator.

:func:`select_candidates` reads the class the explorer gave every stored frame against the
iteration's trust window (accurate / candidate / failed, counted per walker and for the
iteration: frames are classified once, by exploration), with ``adaptive = "top_n"`` promotes
the most uncertain accurate frames when fewer candidates than the budget reached ``lo``, keeps
candidates of one walker at least ``min_frame_gap`` MD steps apart (most uncertain first), and
— when more remain than the budget — lets the ``[select] selector`` plugin pick the budget
(``fps``: farthest-point sampling in the structure-fingerprint space from the most uncertain
frame; ``kmeans``: the most uncertain frame of each of ``budget`` k-means clusters; ``none``:
most uncertain first).  Each selected structure carries an explanation: the atom with the
largest per-atom uncertainty and its environment.  For large systems with
``[select.fragments]`` enabled, the structure to label is the fragment cut around that atom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Collection, Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols, covalent_radii
from ase.neighborlist import neighbor_list

from alearn.explore.frames import WalkerFrames
from alearn.errors import UserError
from alearn.explore.monitor import Counts, FrameStatus, TrustWindow
from alearn.select.calibration import CalibrationReport
from alearn.select.diversity import decorrelate
from alearn.select.fragments import Fragment, cut_fragment
from alearn.select.protocol import CandidatePool
from alearn.select.window import top_n_lo

_ACC, _CAND, _INSANE = (FrameStatus.ACCURATE.code, FrameStatus.CANDIDATE.code,
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


def _pool(candidates: list[tuple[int, int]], frames: dict[int, WalkerFrames], cfg: Any,
          surrogate: Callable[[], Any], seed: int,
          training: Callable[[], Sequence[Any]] = tuple) -> CandidatePool:
    values = np.array([frames[w].measure[k] for w, k in candidates], dtype=np.float64)
    return CandidatePool(
        values=values, walkers=np.array([w for w, _ in candidates], dtype=np.int64),
        steps=np.array([int(frames[w].steps[k]) for w, k in candidates], dtype=np.int64),
        frames=lambda i: frames[candidates[i][0]].atoms(candidates[i][1]),
        per_atom=lambda i: frames[candidates[i][0]].frame(candidates[i][1]).per_atom,
        surrogate=surrogate, fingerprint_cutoff_A=cfg.descriptor_cutoff_A, seed=seed,
        training=training)


def _pick(candidates: list[tuple[int, int]], frames: dict[int, WalkerFrames], cfg: Any,
          selector: Any, surrogate: Callable[[], Any], seed: int,
          training: Callable[[], Sequence[Any]] = tuple) -> list[tuple[int, int]]:
    pool = _pool(candidates, frames, cfg, surrogate, seed, training)
    if len(pool) <= cfg.budget:
        return [candidates[m] for m in np.argsort(-pool.values, kind="stable")]
    chosen = [int(m) for m in selector.select(pool, cfg.budget)]
    if len(set(chosen)) != len(chosen) or len(chosen) > cfg.budget or \
            any(not 0 <= m < len(pool) for m in chosen):
        raise UserError(f"the selector {cfg.selector.kind!r} returned {chosen}: expected at most "
                        f"{cfg.budget} distinct indices below {len(pool)}")
    return [candidates[m] for m in chosen]


def _selected(frames: WalkerFrames, k: int, cfg: Any) -> Selected:
    frame = frames.frame(k)
    why = explain(frame.atoms, frame.per_atom, cfg.descriptor_cutoff_A, cfg.measure.kind)
    frag_cfg = cfg.fragments
    fragment = None
    if frag_cfg.enabled and len(frame.atoms) > frag_cfg.min_atoms and why.atom is not None:
        fragment = cut_fragment(frame.atoms, why.atom, frag_cfg.radius_A, frag_cfg.cutoff_A,
                                saturate=frag_cfg.saturate, bond_factor=frag_cfg.bond_factor,
                                whole_molecules=frag_cfg.whole_molecules)
    target = frame.atoms if fragment is None else fragment.atoms
    return Selected(frame.walker, frame.step, frame.measure, target, frame.atoms, why, fragment)


def select_candidates(result: Any, cfg: Any, *, selector: Any = None,
                      surrogate: Callable[[], Any] | None = None, seed: int = 0,
                      calibration: CalibrationReport | None = None,
                      training: Callable[[], Sequence[Any]] = tuple,
                      exclude: Collection[tuple[int, int]] = ()) -> Selection:
    """Select this iteration's structures from an :class:`ExplorationResult` (``cfg``: [select];
    ``selector``: the plugin, by default the one ``cfg.selector`` configures; ``surrogate``:
    loads the exploring model for selectors that need it; ``training``: its training rows,
    for batch selectors; ``exclude``: (walker, frame index) never selected (the iteration's
    validation frames); ``calibration``: what set the window's lower level, recorded in the
    selection)."""
    if selector is None:
        from alearn import registry

        selector = registry.make(registry.SELECTORS, cfg.selector)
    frames = {w.walker: result.walker_frames(w.walker) for w in result.walkers}
    window = TrustWindow(result.lo, result.hi)
    lo = window.lo
    if cfg.adaptive == "top_n":
        sane = [f.measure[f.status != _INSANE] for f in frames.values()]
        lo = top_n_lo(np.concatenate(sane) if sane else np.zeros(0), window, cfg.budget)
    per_walker, candidates, n_candidates = [], [], 0
    for walker, wf in frames.items():
        per_walker.append((walker, Counts.of(wf.status)))
        promoted = (wf.status == _ACC) & (wf.measure >= lo)
        cand = np.flatnonzero((wf.status == _CAND) | promoted)
        cand = np.array([k for k in cand if (walker, int(k)) not in exclude], dtype=np.int64)
        n_candidates += len(cand)
        kept = decorrelate(wf.steps[cand], wf.measure[cand], cfg.min_frame_gap)
        candidates.extend((walker, int(cand[m])) for m in kept)
    no_model = lambda: _no_surrogate()  # noqa: E731
    chosen = _pick(candidates, frames, cfg, selector, surrogate or no_model, seed, training)
    selected = tuple(_selected(frames[w], k, cfg) for w, k in chosen)
    total = sum((c for _, c in per_walker), Counts())
    return Selection(result.iteration, lo, window.hi, cfg.adaptive, total, tuple(per_walker),
                     n_candidates, len(candidates), selected, calibration)


def _no_surrogate() -> Any:
    raise UserError("this selector needs the exploring surrogate, which was not given to "
                    "select_candidates (pass surrogate=...)")
