"""[initial], [evaluate] and [stop]: how the loop starts, how it measures itself, when it ends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from alearn.config.schema import Invalid, option


@dataclass(frozen=True)
class InitialConfig:
    """Iteration 0: the data the first surrogate is trained on.

    ``rattle``: copies of the initial geometries with Gaussian displacements, labelled by the
    reference.  ``md``: a short MD run with the reference calculator itself from each initial
    geometry, every ``md_interval`` steps labelled.  ``dataset``: labelled structures from a file
    (any format ASE reads with energies and forces, e.g. extended XYZ), imported as they are.
    """

    source: Literal["rattle", "md", "dataset"] = option("rattle", doc="where the iteration-0 data come from: rattle, md or dataset")
    dataset: Path | None = option(None, doc="labelled structures to import (source = 'dataset')", must_exist=True)
    copies: int = option(8, doc="rattled copies per initial geometry (source = 'rattle')", ge=1, le=100_000)
    rattle_std_A: float = option(0.05, doc="standard deviation of the Gaussian displacements of rattled copies (beyond 1 Å no structure survives)", unit="Å", gt=0.0, le=1.0)
    md_steps: int = option(50, doc="reference MD steps per initial geometry (source = 'md')", ge=1, le=10_000_000)
    md_interval: int = option(10, doc="label every this many reference MD steps (source = 'md')", ge=1)
    md_temperature_K: float = option(300.0, doc="temperature of the reference MD (source = 'md')", unit="K", gt=0.0)
    md_timestep_fs: float = option(0.5, doc="time step of the reference MD (source = 'md')", unit="fs", gt=0.0)

    def check(self) -> None:
        if self.source == "dataset" and self.dataset is None:
            raise Invalid("dataset", "is required when source = 'dataset': a file of labelled structures")


@dataclass(frozen=True)
class EvaluateConfig:
    """The validation set, the held-out test set and what evaluation reports.

    The validation set is what calibration, acc% and the accuracy stop rule stand on: every
    iteration draws ``validation_per_iteration`` frames uniformly at random (campaign seed and
    iteration; never the uncertainty) from that iteration's sane explored frames, labels them
    by the reference as calls of their own and keeps them out of training for good.  Every
    iteration's model is scored on the whole set so far (its size recorded with the score).
    """

    validation_per_iteration: int = option(3, doc="explored frames per iteration drawn at random (blind to the uncertainty) into the fixed, growing validation set: labelled by the reference, never trained on, scored by every later model (0: no validation set)", ge=0, le=10_000)
    test_fraction: float = option(0.1, doc="fraction of every iteration's reference labels held out as test data (never trained on); chosen by the campaign seed and the job hash", ge=0.0, lt=1.0)
    calibration_bins: int = option(5, doc="bins of predicted uncertainty for the calibration table", ge=1)
    test_file: Path | None = option(None, doc="labelled structures of the user's own (e.g. reference MD at the target conditions) scored by every iteration's model as a fixed set, never trained on; reported as evaluate.file", must_exist=True, safe_to_change=True)


@dataclass(frozen=True)
class StopConfig:
    """Stop rules; the first that holds ends the campaign and its reason is recorded."""

    max_iterations: int = option(10, doc="stop after this many iterations (iteration 0, the initial data, not counted)", ge=1, safe_to_change=True)
    accurate_ratio: float | None = option(None, doc="stop when this fraction of explored frames is accurate ...", gt=0.0, le=1.0, safe_to_change=True)
    accurate_iterations: int = option(2, doc="... for this many consecutive iterations", ge=1, safe_to_change=True)
    target_accurate_ratio: float = option(0.9, doc="with [select] target_force_error_eV_A: stop when the validation force RMSE is at most the target and at least this fraction of explored frames is predicted to meet it, for accurate_iterations consecutive iterations", gt=0.0, le=1.0, safe_to_change=True)
    validation_window: int = option(3, doc="with [select] target_force_error_eV_A: the accuracy rule's validation force RMSE is over the validation frames drawn in the last this many iterations (recent evidence: frames from an early, poor exploration then cannot keep a later model from converging; learning curves and the trust fit still use the whole set; 0: the whole set)", ge=0, safe_to_change=True)
    force_rmse_eV_A: float | None = option(None, doc="stop when the test force RMSE is at most this", unit="eV/Å", gt=0.0, safe_to_change=True)
    max_reference_calculations: int | None = option(None, doc="stop once this many reference calculations are done", ge=1, safe_to_change=True)
    walltime_s: float | None = option(None, doc="stop at the end of the first iteration that ends after this much wall time of the current run", unit="s", gt=0.0, safe_to_change=True)


@dataclass(frozen=True)
class LoopConfig:
    """How iterations build on each other."""

    warm_start: bool = option(True, doc="start each iteration's training from the previous iteration's model (committee)", safe_to_change=True)
    fresh_every: int = option(0, doc="train from scratch every this many iterations instead, so an 'auto' architecture can grow with the data (0: never)", ge=0, safe_to_change=True)
