"""The first-party surrogate plugins (``alearn.surrogates``): the committee ANN and the local GPR.

Both follow :class:`alearn.models.protocol.SurrogatePlugin`; this module stays light (the
heavy packages are imported when a model is trained or loaded), so listing the schemas for
``alearn validate`` imports neither torch nor gpytorch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from alearn.config.ann import CommitteeConfig
from alearn.config.gpr import GprConfig
from alearn.errors import UserError
from alearn.models.protocol import Trained, TrainRequest, TrainSummary
from alearn.train.incremental import latest_iteration, replay_subset


class CommitteeSurrogate:
    """A committee of Behler–Parrinello networks (:func:`alearn.train.trainer.train_committee`).

    A warm start continues from the previous model; when the configuration no longer fits it
    (members, activation, explicit widths, descriptor: :func:`~alearn.train.trainer.
    architecture_changes`), the committee is trained from scratch and the summary says why.
    """

    Params: ClassVar[type] = CommitteeConfig

    def __init__(self, params: CommitteeConfig) -> None:
        self.params = params

    def train(self, request: TrainRequest) -> Trained:
        from alearn.train.trainer import architecture_changes, train_committee

        warm = self.load(request.warm_start) if request.warm_start is not None else None
        reason = None
        if warm is not None:
            changes = architecture_changes(warm, request.descriptor, self.params)
            if changes:
                reason = ("the configuration no longer fits the previous model ("
                          + "; ".join(changes) + "): trained from scratch")
                warm = None
        epochs = request.train.epochs
        progress = request.progress
        rows, replay = self._rows(request, warm)
        model, report = train_committee(
            rows, [], request.descriptor, self.params, request.train, seed=request.seed,
            warm_start=warm,
            progress=None if progress is None else lambda epoch, record: progress(
                epoch + 1, epochs, loss=record["train_loss"], valid=record["valid_score"]))
        model.metadata["training"]["seen_through_iteration"] = latest_iteration(request.rows)
        details = {"epochs": report.epochs, "seconds_per_epoch": round(report.seconds_per_epoch, 4),
                   "hidden": list(report.hidden), "n_valid": report.n_valid,
                   "valid": report.valid_metrics}
        if replay is not None:
            details["replay"] = {"new": replay.new, "replayed": replay.replayed, "old": replay.old}
        return Trained(model, TrainSummary(report.n_train, warm is not None, reason, details))

    @staticmethod
    def _rows(request: TrainRequest, warm: Any) -> tuple[list[Any], Any]:
        """Every row, or (``[train] replay`` > 0 and a warm start) the new rows and a replayed
        sample of the old ones (:func:`alearn.train.incremental.replay_subset`)."""
        cfg = request.train
        if warm is None or cfg.replay <= 0:
            return list(request.rows), None
        import numpy as np

        seen = warm.metadata.get("training", {}).get("seen_through_iteration")
        if seen is None:  # a model from before this key: its data end one iteration back
            seen = latest_iteration(request.rows) - 1
        return replay_subset(request.rows, int(seen), cfg.replay, cfg.replay_min,
                             np.random.default_rng([request.seed, 17]))

    def calculator_options(self) -> dict[str, Any]:
        return {"dtype": self.params.dtype, "skin_A": self.params.skin_A}

    @classmethod
    def load(cls, directory: Path, **options: Any) -> Any:
        from alearn.models.io import load_committee

        return load_committee(Path(directory), **options)


class GprSurrogate:
    """Local Gaussian processes on energies and forces, one per homogeneous subset
    (:meth:`alearn.models.gpr.LocalGPR.fit`); always fitted afresh (no warm start)."""

    Params: ClassVar[type] = GprConfig

    def __init__(self, params: GprConfig) -> None:
        self.params = params

    def train(self, request: TrainRequest) -> Trained:
        from alearn.models.gpr import LocalGPR

        with_forces = [r for r in request.rows if r.labels.forces is not None]
        if not with_forces:
            raise UserError("the GPR surrogate needs reference structures with forces; none "
                            "are in the training set")
        model = LocalGPR.fit(with_forces, self.params, seed=request.seed, engine=request.engine)
        return Trained(model, TrainSummary(len(with_forces), details={"subsets": len(model.subsets)}))

    def calculator_options(self) -> dict[str, Any]:
        return {}

    @classmethod
    def load(cls, directory: Path, **options: Any) -> Any:
        from alearn.models.gpr import LocalGPR

        return LocalGPR.load(Path(directory), **options)
