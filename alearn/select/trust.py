"""Trust in the user's units: a measure calibrated to force errors, and the window it gives.

The user states the force error they need (``[select] target_force_error_eV_A``).  Each
iteration, :func:`fit_force_calibration` fits the raw measure of the exploring model to the
true force errors on the validation frames (never trained on):

- measures with per-atom values (committee σ_F,i, gradient-feature σ_i, D-optimal γ_i): one
  scale per element a_t with E|ΔF_i|² = (a_t s_i)² (Gaussian maximum likelihood, 3 components;
  elements with fewer than ``min_atoms`` validation atoms take the pooled scale);
- measures with a frame value only (GP or committee energy std, structure gradient std): one
  scale with E[RMS_F²] = (a s)² (RMS_F per component with ``aggregate = "component_rms"``).

:class:`CalibratedMeasure` wraps the fitted measure so that every frame's value *is* its
predicted force error in eV/Å — the RMS over atoms of a_t s_i (``aggregate = "rms"``, the
quantity the validation force RMSE averages) or their maximum (``"max"``); ``"component_rms"``
is the RMS over atoms divided by √3, the per-component force RMSE of the frame, in the unit of
every reported ``force_rmse_eV_A`` (what a campaign's target is compared with) — and its per-atom
values are the predicted atomic errors.  The trust window is then plain:
lo = target (below: predicted to meet the target), hi = ``hi_factor`` × max(target, the
exploring model's validation force RMSE) (above: the model is too far off, by its own standard,
for the frame to be worth a label — or for its trajectory to be trusted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np
from ase import Atoms

from alearn.select.calibration_quality import Quality, assess
from alearn.select.protocol import Measure, MeasureValue

Aggregate = Literal["rms", "component_rms", "max"]


@dataclass(frozen=True)
class ForceCalibration:
    """Scales turning a raw measure into predicted force errors (eV/Å)."""

    scales: Mapping[int, float]          # atomic number → a_t (per-atom measures)
    scale: float                         # pooled a (frame measures, and unseen elements)
    per_atom: bool
    aggregate: Aggregate
    quality: Quality
    frame_spearman: float = float("nan") # predicted vs true frame RMS error on validation
    n_frames: int = 0

    def predict(self, value: MeasureValue, numbers: np.ndarray) -> MeasureValue:
        """The predicted force error of one frame (value) and of its atoms (per_atom)."""
        if not self.per_atom or value.per_atom is None:
            return MeasureValue(float(value.value) * self.scale, None)
        scale = np.array([self.scales.get(int(z), self.scale) for z in numbers])
        atomic = scale * np.asarray(value.per_atom, dtype=np.float64)
        if self.aggregate == "max":
            frame = atomic.max(initial=0.0)
        else:
            frame = np.sqrt(np.mean(atomic ** 2) / (3.0 if self.aggregate == "component_rms" else 1.0))
        return MeasureValue(float(frame), atomic)

    def summary(self) -> dict[str, Any]:
        """What an iteration records of its calibration (JSON-ready)."""
        from ase.data import chemical_symbols

        return {"scale": self.scale, "per_element": {chemical_symbols[z]: v for z, v in self.scales.items()},
                "spearman": self.quality.spearman, "miscalibration_area": self.quality.miscalibration_area,
                "frame_spearman": self.frame_spearman, "values": self.quality.n,
                "frames": self.n_frames, "aggregate": self.aggregate}


def identity_calibration(aggregate: Aggregate = "component_rms") -> ForceCalibration:
    """Scale 1 for every element: the raw measure read as the predicted force error (the
    documented fallback before any validation data exist)."""
    return ForceCalibration({}, 1.0, True, aggregate, Quality(0, 1.0, float("nan"), float("nan")))


def frame_rms(errors: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(errors, dtype=np.float64) ** 2)))


def fit_force_calibration(values: Sequence[MeasureValue], frames: Sequence[Atoms],
                          atom_errors: Sequence[np.ndarray], *, aggregate: Aggregate = "rms",
                          min_atoms: int = 10) -> ForceCalibration:
    """Fit the raw measure ``values`` of ``frames`` to their true per-atom force errors
    |F_i − F_i^ref| (``atom_errors``, one array per frame)."""
    from alearn.select.calibration_quality import spearman

    per_atom = all(v.per_atom is not None for v in values)
    rms = np.array([frame_rms(e) for e in atom_errors])
    if aggregate == "component_rms":
        rms = rms / np.sqrt(3.0)
    if per_atom:
        symbols = [s for a in frames for s in a.get_chemical_symbols()]
        quality = assess(np.concatenate([v.per_atom for v in values]), np.concatenate(atom_errors),
                         dof=3, elements=symbols, min_per_element=min_atoms)
        from ase.data import atomic_numbers

        scales = {atomic_numbers[s]: a for s, a in quality.per_element.items()}
    else:
        quality = assess([v.value for v in values], rms, dof=1)
        scales = {}
    fitted = ForceCalibration(scales, quality.scale, per_atom, aggregate, quality)
    predicted = [fitted.predict(v, a.numbers).value for v, a in zip(values, frames)]
    corr = spearman(predicted, rms) if len(rms) >= 3 else float("nan")
    return ForceCalibration(scales, quality.scale, per_atom, aggregate, quality, corr, len(frames))


class CalibratedMeasure(Measure):
    """A fitted measure whose values are predicted force errors in eV/Å (module docstring)."""

    unit = "eV/Å"
    calibrated_against = "predicted force error (eV/Å)"

    def __init__(self, inner: Any, calibration: ForceCalibration) -> None:
        super().__init__(inner.params)
        self.inner, self.calibration = inner, calibration

    def fit(self, surrogate: Callable[[], Any], training: Callable[[], Sequence[Any]]) -> "CalibratedMeasure":
        return CalibratedMeasure(self.inner.fit(surrogate, training), self.calibration)

    def evaluate(self, atoms: Atoms, results: Mapping[str, Any], surrogate: Any = None) -> MeasureValue:
        return self.calibration.predict(self.inner.evaluate(atoms, results, surrogate), atoms.numbers)

    def values(self, model: Any, structures: Sequence[Atoms]) -> list[MeasureValue]:
        """Every structure's predicted force error (batched where the inner measure can)."""
        raw = evaluate_frames(self.inner, model, structures)
        return [self.calibration.predict(v, a.numbers) for v, a in zip(raw, structures)]


def evaluate_frames(measure: Any, surrogate: Any, structures: Sequence[Atoms]) -> list[MeasureValue]:
    """The measure of each structure: batched where the measure offers ``values``, else
    through the surrogate's ASE calculator, one structure at a time."""
    if hasattr(measure, "values"):
        return list(measure.values(surrogate, list(structures)))
    calc = surrogate.as_calculator()
    out = []
    for atoms in structures:
        work = atoms.copy()
        work.calc = calc
        work.get_forces()
        out.append(measure.evaluate(work, dict(calc.results), surrogate))
    return out


@dataclass(frozen=True)
class Levels:
    """The trust window in eV/Å derived from the target force error."""

    lo: float
    hi: float
    target: float
    notes: tuple[str, ...] = field(default=())


def levels(target_eV_A: float, hi_factor: float, current_eV_A: float | None = None) -> Levels:
    """lo = target, hi = hi_factor × max(target, ``current_eV_A``) (see the module docstring):
    ``current_eV_A`` is the exploring model's force RMSE on the validation set.  While the
    model is still far worse than the target, a fixed hi = hi_factor × target lies below
    nearly every frame and nothing can be learnt (measured: Cu₁₃, target 0.157 eV/Å, hi_factor
    5: the loop labelled no frame in 13 of 20 iterations and the test error stayed at
    1.0 eV/Å; ``benchmarks/README.md``, "Active-learning data efficiency"); hi then follows
    the model's own error."""
    target = float(target_eV_A)
    base = target if current_eV_A is None or not np.isfinite(current_eV_A) else max(target, float(current_eV_A))
    notes = () if base == target else (f"hi follows the validation force RMSE {base:.4g} eV/Å",)
    return Levels(target, float(hi_factor) * base, target, notes)


__all__ = ["CalibratedMeasure", "ForceCalibration", "Levels", "evaluate_frames",
           "fit_force_calibration", "frame_rms", "identity_calibration", "levels"]
