"""Typed records between the stages of an iteration and for the iteration manifest.

Each stage returns a frozen record; ``progress.json`` and ``manifest.json`` hold their JSON
(:func:`to_json`), and :func:`from_json` reads them back, also from files written by earlier
releases: the JSON layout is the one those files had (flat keys per stage), a missing key takes
its field's default and keys a record does not name land in its ``details``.
:data:`RECORD_VERSION` is stamped into every manifest (``version``; manifests without it are
version 1, which differ only by fields added since, with their defaults).
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass, field
from typing import Any, Mapping, Union, get_args, get_origin, get_type_hints

#: the version of the manifest body written by this release (1: before typed records)
RECORD_VERSION = 2

_FLAT = {"flatten": True}


def details_field() -> Any:
    """A ``details`` field: JSON-ready facts without a field of their own, stored flat."""
    return field(default_factory=dict, metadata=_FLAT)


def optional() -> Any:
    """A field that is ``None`` where undefined and then left out of the JSON."""
    return field(default=None, metadata={"omit_none": True})


def to_json(record: Any) -> Any:
    """A record (or a value inside one) as JSON-ready data."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(record):
            value = getattr(record, f.name)
            if f.metadata.get("flatten"):
                out.update(to_json(value))
            elif value is not None or not f.metadata.get("omit_none"):
                out[f.name] = to_json(value)
        return out
    if isinstance(record, (tuple, list)):
        return [to_json(v) for v in record]
    if isinstance(record, Mapping):
        return {str(k): to_json(v) for k, v in record.items()}
    if hasattr(record, "item") and callable(record.item):   # numpy scalars
        return record.item()
    return record


def from_json(cls: type, data: Mapping[str, Any]) -> Any:
    """The record ``cls`` from its JSON (see the module docstring for older layouts)."""
    hints = get_type_hints(cls)
    fields = dataclasses.fields(cls)
    named = {f.name for f in fields if not f.metadata.get("flatten")}
    values: dict[str, Any] = {}
    for f in fields:
        if f.metadata.get("flatten"):
            values[f.name] = {k: v for k, v in data.items() if k not in named}
        elif f.name in data:
            values[f.name] = _parse(hints[f.name], data[f.name])
    return cls(**values)


def _parse(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return _parse(next(a for a in args if a is not type(None)), value)
    if origin is tuple:
        return tuple(_parse(args[0], v) for v in value)
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        inner = args[1] if len(args) == 2 else Any
        return {str(k): _parse(inner, v) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return from_json(tp, value)
    if tp is float:
        return float(value)
    if tp is int:
        return int(value)
    return value


# -------------------------------------------------------------------------- stage records
@dataclass(frozen=True)
class Failure:
    """A reference calculation that did not give a label."""

    job: str
    status: str
    kind: str = ""
    reason: str = ""


@dataclass(frozen=True)
class LabelRecord:
    """Reference labels stored by a stage (iteration 0, label, the augmenter's gated copies)."""

    row_ids: tuple[int, ...] = ()
    labelled: int = 0
    failed: int = 0
    failures: tuple[Failure, ...] = ()
    reference_calculations: int = 0     # iteration 0 with reference MD: every step, kept or not
    imported: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class Calibration:
    """The exploring model's spread against its true error on held-out structures."""

    structures: int
    slope: float
    spearman: float | None
    suggested_lo: float | None


@dataclass(frozen=True)
class TrustRecord:
    """What an iteration records of its target-derived window and the fit behind it."""

    target_eV_A: float
    lo: float
    hi: float
    source: str                                  # "validation" or the fallback's reason
    frames: int = 0                              # validation frames fitted on
    scale: float = 1.0                           # pooled slope a (predicted = a × raw)
    per_element: Mapping[str, float] = field(default_factory=dict)
    spearman: float | None = None                # atomic raw measure vs true error
    frame_spearman: float | None = None          # frame predicted vs true force RMSE
    miscalibration_area: float | None = None     # 0 (perfect) … 0.5
    validation_force_rmse_eV_A: float | None = None   # of the exploring model on those frames
    predicted_force_rmse_eV_A: float | None = None    # what the calibration predicts for them


@dataclass(frozen=True)
class ExploreRecord:
    """An exploration: counts of the frames as the explorer classified them in its window."""

    walkers: int = 0
    frames: int = 0
    accurate: int = 0
    candidate: int = 0
    failed: int = 0
    temperature_K: float = 0.0
    stopped: dict[str, int] = field(default_factory=dict)
    lo: float | None = optional()
    hi: float | None = optional()
    calibration: Calibration | None = optional()
    trust: TrustRecord | None = optional()       # [select] target_force_error_eV_A
    details: Mapping[str, Any] = details_field()


@dataclass(frozen=True)
class ContactRecord:
    """One close-contact structure: its pinched pair and how far it was pushed."""

    pair: str
    distance_A: float
    target_A: float
    compression: float


@dataclass(frozen=True)
class SelectRecord:
    """A selection: what goes to the reference (candidates, then close contacts)."""

    selected: int = 0
    lo: float | None = None
    candidates_decorrelated: int = 0
    close_contacts: int = 0
    close_contact_data_min_A: dict[str, float] = field(default_factory=dict)
    close_contact_structures: tuple[ContactRecord, ...] = ()
    details: Mapping[str, Any] = details_field()


@dataclass(frozen=True)
class AugmentRecord:
    """Derived rows stored, and the labels of the structures the augmenter sent back."""

    row_ids: tuple[int, ...] = ()
    augmented: int = 0
    rejected: int = 0
    gated: LabelRecord | None = optional()
    details: Mapping[str, Any] = details_field()


@dataclass(frozen=True)
class TrainRecord:
    """A training: rows used (held-out test rows never among them) and the plugin's facts."""

    n_train: int = 0
    warm_start: bool = False
    fresh_reason: str | None = optional()
    train_rows: int = 0
    test_rows: int = 0
    details: Mapping[str, Any] = details_field()


@dataclass(frozen=True)
class Metrics:
    """Errors of a model on labelled rows (units in the names; absent: not defined there)."""

    structures: int = 0
    energy_mae_eV_atom: float | None = optional()
    energy_rmse_eV_atom: float | None = optional()
    force_mae_eV_A: float | None = optional()
    force_rmse_eV_A: float | None = optional()
    force_rmse_complete_eV_A: float | None = optional()
    force_angle_mean_deg: float | None = optional()
    stress_rmse_GPa: float | None = optional()
    calibration: dict[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = details_field()

    @property
    def calibration_spearman(self) -> float | None:
        value = self.calibration.get("spearman")
        return None if value is None else float(value)


@dataclass(frozen=True)
class FrameError:
    """One validation frame's error under an iteration's model (for learning curves on any
    prefix of the validation set: the RMSE over frames 1..N is
    sqrt(Σ atoms·force_rmse² / Σ atoms))."""

    row: int
    atoms: int
    force_rmse_eV_A: float | None = None
    energy_error_eV_atom: float | None = None


@dataclass(frozen=True)
class EvaluateRecord:
    """Errors of the iteration's model on the validation set so far (``validation``, with
    every frame's error in ``validation_frames``, in the order the frames were drawn), the
    held-out test rows, training rows and the user's fixed ``[evaluate] test_file``
    (``file``)."""

    test: Metrics | None = optional()
    train: Metrics | None = optional()
    file: Metrics | None = optional()
    validation: Metrics | None = optional()
    validation_frames: tuple[FrameError, ...] | None = optional()


# -------------------------------------------------------------------------- the manifest
@dataclass(frozen=True)
class Dataset:
    """The rows of an iteration: training and held-out ids and the content hash of both."""

    train_ids: tuple[int, ...] = ()
    test_ids: tuple[int, ...] = ()
    content_sha256: str = ""
    validation_ids: tuple[int, ...] | None = optional()   # in the order drawn (never trained on)

    def validation(self) -> tuple[int, ...]:
        return self.validation_ids or ()


@dataclass(frozen=True)
class Counts:
    """Counts of one iteration (frames by trust class, labels, rows)."""

    walkers: int = 0
    frames: int = 0
    accurate: int = 0
    candidate: int = 0
    failed: int = 0
    selected: int = 0
    labelled: int = 0
    label_failed: int = 0
    augmented: int = 0
    gated: int = 0
    train_rows: int = 0
    test_rows: int = 0
    close_contacts: int = 0
    invalid_labels: int | None = optional()   # of label_failed: refused as invalid (not in older manifests)
    validation: int | None = optional()        # validation frames labelled (not in labelled)
    validation_failed: int | None = optional() # validation frames whose reference call failed
    reference_total: int = 0

    def line(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in to_json(self).items() if v)


@dataclass(frozen=True)
class Window:
    """The trust window an iteration's frames were classified in."""

    lo: float
    hi: float


@dataclass(frozen=True)
class IterationManifest:
    """``manifest.json`` of a snapshot.  The last four fields are written by
    :func:`alearn.campaign.snapshot.commit` (file checksums and the self-checksum)."""

    iteration: int
    parent: int | None = None
    parent_manifest_sha256: str | None = None
    config_sha256: str = ""
    dataset: Dataset = Dataset()
    model: str = "model"
    metrics: EvaluateRecord = EvaluateRecord()
    counts: Counts = Counts()
    window: Window | None = optional()
    trust: TrustRecord | None = optional()        # how the window came from the target
    timings_s: dict[str, float] = field(default_factory=dict)
    seeds: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    stop_reason: str | None = None
    version: int = 1
    format: int | None = None
    created_utc: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    manifest_sha256: str | None = None

    def body(self) -> dict[str, Any]:
        """The JSON that :func:`~alearn.campaign.snapshot.commit` seals (its own keys left out)."""
        data = to_json(self)
        for key in ("format", "created_utc", "files", "manifest_sha256"):
            data.pop(key)
        return data

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> "IterationManifest":
        return from_json(cls, data)


def read_manifests(layout: Any) -> list[IterationManifest]:
    """The verified manifests of every committed iteration of the campaign ``layout``
    (:func:`alearn.campaign.snapshot.verify_all`), as typed records."""
    from alearn.campaign.snapshot import verify_all

    return [IterationManifest.read(m) for m in verify_all(layout)]


__all__ = ["AugmentRecord", "Calibration", "ContactRecord", "Counts", "Dataset", "EvaluateRecord",
           "ExploreRecord", "Failure", "FrameError", "IterationManifest", "LabelRecord", "Metrics",
           "RECORD_VERSION", "SelectRecord", "TrainRecord", "TrustRecord", "Window", "from_json", "read_manifests",
           "to_json"]
