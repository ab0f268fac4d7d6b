"""Ensemble-free uncertainty measures on the committee's gradient features (``alearn.measures``).

``gradient_std`` — the Bayesian-linear-regression posterior std of the gradient features
(:mod:`alearn.select.gradient_features`), per atom (each atom's row under its element's
posterior over the training atoms: where an environment is new) or per structure (the summed
row under the posterior over training structures: an energy uncertainty).  ``doptimal`` — the
D-optimal extrapolation grade of each atom against the MaxVol active set of the training atoms
(:mod:`alearn.select.doptimal`); γ ≤ 1 interpolates.  Both are fitted once per iteration on
the exploring model and its training rows (:meth:`fit`), then evaluated on single frames by
the walkers' monitors.  Their raw values are in units of the (unknown) observation noise or of
the active set; calibrate them against force errors before reading them in eV/Å.  The true
error they are calibrated against is the largest atomic force error, as for max_force_std.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np
from ase import Atoms

from alearn.config.schema import option
from alearn.errors import UserError
from alearn.select.protocol import Measure, MeasureValue


def _committee(surrogate: Any, kind: str) -> Any:
    if surrogate is None or not hasattr(surrogate, "networks"):
        raise UserError(f"the uncertainty measure {kind!r} needs the committee surrogate itself "
                        f"(gradient features of its networks); got {type(surrogate).__name__}")
    return surrogate


def _max_force_error(results: Mapping[str, Any], labels: Any) -> float:
    if labels.forces is None:
        raise UserError("calibrating a gradient-feature measure needs reference forces")
    forces = np.asarray(results["forces"], dtype=np.float64).reshape(-1, 3)
    return float(np.max(np.linalg.norm(forces - labels.forces, axis=1)))


class GradientStd(Measure):
    """Posterior std of the gradient features (see the module docstring)."""

    @dataclass(frozen=True)
    class Params:
        """Gradient-feature posterior std, per atom (new environments) or per structure."""

        kind: Literal["gradient_std"] = option("gradient_std", doc="uncertainty measure")
        features: Literal["last_layer", "sketch"] = option("last_layer", doc="last_layer: gradients of the output layer (the last hidden activations); sketch: all weights, randomly projected to sketch_dim values per element and member")
        level: Literal["atom", "structure"] = option("atom", doc="atom: each atom's row under its element's posterior over the training atoms (value: the largest); structure: the summed row under the posterior over training structures")
        ridge: float = option(1e-3, doc="ridge λ of the posterior, relative to the mean diagonal of ΦᵀΦ", gt=0.0)
        sketch_dim: int = option(32, doc="sketch: projected values per element and member", ge=1)

    unit = "noise std"
    calibrated_against = "max_i |F_i − F_i^ref| (eV/Å)"

    def __init__(self, params: Any, posteriors: Mapping[int, Any] | None = None) -> None:
        super().__init__(params)
        self.posteriors = dict(posteriors) if posteriors is not None else None

    def fit(self, surrogate: Callable[[], Any], training: Callable[[], Sequence[Any]]) -> "GradientStd":
        from alearn.select import gradient_features as gf

        model = _committee(surrogate(), self.kind)
        rows = [r.atoms for r in training()]
        if not rows:
            raise UserError(f"the uncertainty measure {self.kind!r} needs training structures")
        feats = self._features(model, rows)
        if self.params.level == "structure":
            return GradientStd(self.params, {-1: gf.FeaturePosterior.fit(feats.per_structure(),
                                                                         self.params.ridge)})
        return GradientStd(self.params, gf.element_posteriors(feats, self.params.ridge))

    def _features(self, model: Any, structures: Sequence[Atoms]) -> Any:
        from alearn.select.gradient_features import gradient_features

        return gradient_features(model, structures, kind=self.params.features,
                                 dim=self.params.sketch_dim)

    def values(self, model: Any, structures: Sequence[Atoms]) -> list[MeasureValue]:
        """The measure of many structures at once (batched features)."""
        from alearn.select import gradient_features as gf

        if self.posteriors is None:
            raise UserError(f"the uncertainty measure {self.kind!r} was not fitted to a model")
        feats = self._features(_committee(model, self.kind), structures)
        if self.params.level == "structure":
            std = gf.structure_std(self.posteriors[-1], feats)
            return [MeasureValue(float(s)) for s in std]
        per_atom = gf.atomic_std(self.posteriors, feats)
        return [MeasureValue(float(v.max(initial=0.0)), v)
                for v in (per_atom[feats.structure == b] for b in range(feats.n_structures))]

    def evaluate(self, atoms: Atoms, results: Mapping[str, Any], surrogate: Any = None) -> MeasureValue:
        return self.values(surrogate, [atoms])[0]

    def true_error(self, atoms: Atoms, results: Mapping[str, Any], labels: Any) -> float | None:
        return _max_force_error(results, labels)


class DOptimalGrade(Measure):
    """D-optimal extrapolation grade of each atom (see the module docstring)."""

    @dataclass(frozen=True)
    class Params:
        """D-optimal extrapolation grade γ per atom against the MaxVol active set (γ ≤ 1: interpolation)."""

        kind: Literal["doptimal"] = option("doptimal", doc="uncertainty measure")
        tolerance: float = option(0.01, doc="MaxVol stops when no training atom has a coefficient above 1 + tolerance", gt=0.0)

    unit = "grade"
    calibrated_against = "max_i |F_i − F_i^ref| (eV/Å)"

    def __init__(self, params: Any, active: Any = None) -> None:
        super().__init__(params)
        self.active = active

    def fit(self, surrogate: Callable[[], Any], training: Callable[[], Sequence[Any]]) -> "DOptimalGrade":
        from alearn.select.doptimal import ActiveSet
        from alearn.select.gradient_features import gradient_features

        model = _committee(surrogate(), self.kind)
        feats = gradient_features(model, [r.atoms for r in training()])
        rows = {t: feats.atoms[feats.species == t][:, block] for t, block in enumerate(feats.blocks)
                if np.any(feats.species == t)}
        return DOptimalGrade(self.params, ActiveSet.fit(rows, self.params.tolerance))

    def values(self, model: Any, structures: Sequence[Atoms]) -> list[MeasureValue]:
        from alearn.select.gradient_features import gradient_features

        if self.active is None:
            raise UserError(f"the uncertainty measure {self.kind!r} was not fitted to a model")
        feats = gradient_features(_committee(model, self.kind), structures)
        grades = self.active.grades(feats.species, feats.atoms, feats.blocks)
        return [MeasureValue(float(g.max(initial=0.0)), g)
                for g in (grades[feats.structure == b] for b in range(feats.n_structures))]

    def evaluate(self, atoms: Atoms, results: Mapping[str, Any], surrogate: Any = None) -> MeasureValue:
        return self.values(surrogate, [atoms])[0]

    def true_error(self, atoms: Atoms, results: Mapping[str, Any], labels: Any) -> float | None:
        return _max_force_error(results, labels)


__all__ = ["DOptimalGrade", "GradientStd"]
