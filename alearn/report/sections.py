"""The report's sections: each a title, a figure or a plain statement of what is missing.

:func:`build_sections` reads a campaign (manifests, per-stage records, the store, the final
model) and turns it into plain numbers for :mod:`alearn.report.figures`.  A section whose data
does not exist says so in words instead of showing an empty plot.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from alearn.report import figures
from alearn.report.figures import Figure

#: units of the measures whose values carry one (the rest are dimensionless)
MEASURE_UNITS = {"max_force_std": "eV/Å", "energy_std_per_atom": "eV/atom", "gpr_std": "eV"}
#: steps of the report's NVE run of the final potential
DRIFT_STEPS = 200


@dataclass(frozen=True)
class Section:
    """One section of the report: a figure, or ``missing`` saying why there is none."""

    title: str
    figure: Figure | None = None
    missing: str = ""
    note: str = ""


def _stage_records(root: Path, iteration: int) -> dict[str, Any]:
    from alearn.campaign.progress import PROGRESS
    from alearn.files import read_json

    path = root / "iterations" / f"{iteration:04d}" / PROGRESS
    if not path.is_file():
        return {}
    return {name: entry.get("summary", {}) for name, entry in read_json(path)["stages"].items()}


def _metric(manifest: Any, subset: str, name: str, scale: float = 1.0) -> float | None:
    metrics = getattr(manifest.metrics, subset)
    value = None if metrics is None else getattr(metrics, name)
    return None if value is None else scale * value


def _errors(manifests: Sequence[Any]) -> Section:
    its = [m.iteration for m in manifests]
    series = {"energy MAE": {s: [_metric(m, s, "energy_mae_eV_atom", 1000.0) for m in manifests]
                             for s in ("test", "train")},
              "force RMSE": {s: [_metric(m, s, "force_rmse_eV_A") for m in manifests]
                             for s in ("test", "train")}}
    if all(v is None for q in series.values() for vals in q.values() for v in vals):
        return Section("Errors per iteration", missing="no iteration has been evaluated yet")
    return Section("Errors per iteration", figures.errors_per_iteration(
        its, series, {"energy MAE": "meV/atom", "force RMSE": "eV/Å"}))


def _exploration(manifests: Sequence[Any]) -> Section:
    explored = [m for m in manifests if m.counts.frames]
    if not explored:
        return Section("Exploration outcome", missing="no iteration has explored yet (iteration 0 builds the initial data)")
    counts = {k: [getattr(m.counts, k) for m in explored] for k in ("accurate", "candidate", "failed")}
    return Section("Exploration outcome", figures.exploration_outcome([m.iteration for m in explored], counts))


def _reference_calls(manifests: Sequence[Any]) -> Section:
    its = [m.iteration for m in manifests]
    return Section("Reference calculations", figures.reference_calls(
        its, [m.counts.selected for m in manifests], [m.counts.labelled for m in manifests],
        [m.counts.label_failed for m in manifests],
        [(m.counts.validation or 0) + (m.counts.validation_failed or 0) for m in manifests]))


def _stage_times(manifests: Sequence[Any]) -> Section:
    stages = [s for s in figures.STAGE_COLOURS if any(s in m.timings_s for m in manifests)]
    if not stages:
        return Section("Time per stage", missing="no stage timings were recorded")
    seconds = {s: [float(m.timings_s.get(s, 0.0)) for m in manifests] for s in stages}
    return Section("Time per stage", figures.stage_times([m.iteration for m in manifests], seconds))


def _failures(root: Path, manifests: Sequence[Any]) -> Section:
    reasons: Counter[str] = Counter()
    for m in manifests:
        records = _stage_records(root, m.iteration)
        for stage in ("initial", "label"):
            for failure in records.get(stage, {}).get("failures", []):
                reasons[failure.get("reason") or failure.get("status") or "unknown"] += 1
    total = sum(m.counts.label_failed for m in manifests)
    if not total:
        return Section("Failed reference calculations", missing="none: every reference calculation succeeded")
    if not reasons:
        return Section("Failed reference calculations",
                       missing=f"{total} failed, but their reasons were not recorded in the stage records")
    return Section("Failed reference calculations", figures.failures(dict(reasons)))


def _learning_curve(manifests: Sequence[Any]) -> Section:
    calls = [m.counts.reference_total for m in manifests]
    fixed_n, fixed = _fixed_validation(manifests)
    test_f = [_metric(m, "test", "force_rmse_eV_A") for m in manifests]
    test_e = [_metric(m, "test", "energy_mae_eV_atom", 1000.0) for m in manifests]
    series: dict[str, dict[str, list[float | None]]] = {"force RMSE": {}, "energy MAE": {}}
    if fixed_n:
        name = f"fixed validation set ({fixed_n} frames)"
        series["force RMSE"][name] = fixed["force"]
        series["energy MAE"][name] = fixed["energy"]
        series["force RMSE"]["validation set so far"] = [_metric(m, "validation", "force_rmse_eV_A")
                                                         for m in manifests]
    series["force RMSE"]["held-out test set"] = test_f
    series["energy MAE"]["held-out test set"] = test_e
    if all(v is None for sets in series.values() for vals in sets.values() for v in vals):
        return Section("Learning curve", missing="no evaluated iteration")
    grew = len({m.dataset.test_ids for m in manifests}) > 1
    caption = ("Accuracy bought per reference calculation. "
               + (f"The fixed validation set is the first {fixed_n} validation frames (drawn at "
                  "random from explored frames, never trained on); every model from the iteration "
                  "that drew them on is scored on the same frames. " if fixed_n else
                  "The campaign has no validation set ([evaluate] validation_per_iteration = 0), "
                  "so only the held-out test set is shown. ")
               + ("The held-out test set grew during the campaign, so its early and late points "
                  "are measured on different sets." if grew else ""))
    return Section("Learning curve", figures.learning_curve(
        calls, series, {"energy MAE": "meV/atom", "force RMSE": "eV/Å"}, caption))


def _fixed_validation(manifests: Sequence[Any]) -> tuple[int, dict[str, list[float | None]]]:
    """Every iteration's errors on the same first N validation frames (N: the set of the first
    iteration that has one); ``None`` for iterations scored before those frames existed."""
    scored = [m.metrics.validation_frames or () for m in manifests]
    sizes = [len(f) for f in scored if f]
    if not sizes:
        return 0, {}
    n = sizes[0]
    out: dict[str, list[float | None]] = {"force": [], "energy": []}
    for frames in scored:
        head = list(frames[:n]) if len(frames) >= n else []
        with_f = [e for e in head if e.force_rmse_eV_A is not None]
        atoms = sum(e.atoms for e in with_f)
        out["force"].append(float(np.sqrt(sum(e.atoms * e.force_rmse_eV_A ** 2 for e in with_f) / atoms))
                            if atoms else None)
        with_e = [e.energy_error_eV_atom for e in head if e.energy_error_eV_atom is not None]
        out["energy"].append(1000.0 * float(np.mean(np.abs(with_e))) if with_e else None)
    return n, out


def _composition(training: Sequence[Any], manifests: Sequence[Any]) -> Section:
    if not training:
        return Section("Dataset composition", missing="the final training set is empty or unreadable")
    sources = sorted({r.provenance.source.value for r in training})
    its = [m.iteration for m in manifests]
    rows = {s: [sum(1 for r in training if r.provenance.source.value == s and r.provenance.iteration <= it)
                for it in its] for s in sources}
    return Section("Dataset composition", figures.dataset_composition(its, rows),
                   note="Rows of the final training set by source, counted by the iteration that added them.")


def _rdf(training: Sequence[Any]) -> Section:
    from alearn.report.rdf import MIN_STRUCTURES, rdf_halves

    references = [r.atoms for r in training if r.provenance.source.value == "reference"]
    check = rdf_halves(references)
    if check is None:
        return Section("g(r) of the training data",
                       missing=f"{len(references)} reference structures; the halves check needs {MIN_STRUCTURES}")
    return Section("g(r) of the training data", figures.rdf_halves(check.r, check.first, check.second,
                                                                   check.difference, check.ylabel))


def _model_sections(model: Any, test: Sequence[Any]) -> list[Section]:
    titles = ("Energy parity", "Force parity", "Per-element force errors", "Predicted against true error")
    if not test:
        return [Section(t, missing="the held-out test set is empty") for t in titles]
    prediction = model.predict([r.atoms for r in test])
    natoms = np.array([len(r.atoms) for r in test], dtype=float)
    e_ref = np.array([r.labels.energy for r in test]) / natoms
    e_pred = np.asarray(prediction.energy) / natoms
    out = [Section(titles[0], figures.parity(e_ref, e_pred, "energy", "eV/atom"))]
    with_forces = [(i, r) for i, r in enumerate(test) if r.labels.forces is not None]
    if not with_forces:
        out += [Section(t, missing="no test structure has reference forces") for t in titles[1:3]]
    else:
        f_ref = np.concatenate([r.labels.forces for _, r in with_forces])
        f_pred = np.concatenate([np.asarray(prediction.forces[i]) for i, _ in with_forces])
        symbols = np.concatenate([r.atoms.get_chemical_symbols() for _, r in with_forces])
        out.append(Section(titles[1], figures.parity(f_ref, f_pred, "force component", "eV/Å")))
        elements = sorted(set(symbols))
        err = {e: (f_pred - f_ref)[symbols == e] for e in elements}
        out.append(Section(titles[2], figures.per_element_errors(
            elements, [float(np.sqrt(np.mean(err[e] ** 2))) for e in elements],
            [float(np.mean(np.abs(err[e]))) for e in elements], [int(np.sum(symbols == e)) for e in elements])))
    std = np.asarray(prediction.energy_std) / natoms
    if len(test) < 3 or not np.any(std > 0):
        out.append(Section(titles[3], missing="fewer than 3 test structures or no spread of the model"))
    else:
        actual = np.abs(e_pred - e_ref)
        out.append(Section(titles[3], figures.calibration(std, actual, "committee energy std", "eV/atom")))
    return out


def _drift(model: Any, start: Any, temperature_K: float) -> Section:
    from alearn.report.drift import nve_drift

    if not hasattr(model, "as_calculator"):
        return Section("NVE energy drift of the final potential", missing="the model has no ASE calculator")
    calculator = model.as_calculator()
    drift = nve_drift(calculator, start.copy(), temperature_K=temperature_K, timestep_fs=1.0,
                      steps=DRIFT_STEPS, seed=0)
    note = "" if drift.completed else "The run stopped early on non-finite energies."
    return Section("NVE energy drift of the final potential", figures.energy_drift(
        drift.time_ps, drift.energy_meV_atom, drift.slope_meV_atom_ps, drift.conditions), note=note)


def _uncertainty(root: Path, manifests: Sequence[Any], measure: str) -> Section:
    title = "Uncertainty of the explored frames"
    rows = []
    for m in manifests:
        record = _stage_records(root, m.iteration).get("explore", {})
        if record.get("measure_quantiles"):
            rows.append((m.iteration, record["measure_quantiles"], record.get("lo"), record.get("hi"),
                         int(record.get("measure_frames", 0)), bool(record.get("trust"))))
    if not rows:
        explored = any(m.counts.frames for m in manifests)
        return Section(title, missing=(
            "the explore records hold only the counts per trust class (a campaign run before "
            "alearn recorded the measure's distribution)" if explored else
            "no iteration has explored yet (iteration 0 builds the initial data)"))
    calibrated = all(r[5] for r in rows)
    unit = "predicted force error, eV/Å" if calibrated else MEASURE_UNITS.get(measure, "")
    its, quantiles, lo, hi, frames, _ = zip(*rows)
    return Section(title, figures.uncertainty_distributions(
        list(its), list(quantiles), list(lo), list(hi), list(frames), f"selection measure: {measure}", unit))


def build_sections(root: Path, *, drift: bool = True) -> list[Section]:
    """Every section of the report of the campaign in ``root``, in reading order."""
    from alearn.campaign.layout import CampaignDir
    from alearn.campaign.records import read_manifests
    from alearn.config.campaign import load_campaign
    from alearn.data.store import Store

    layout = CampaignDir(Path(root))
    manifests = read_manifests(layout)
    if not manifests:
        return [Section("Campaign", missing="no iteration has been committed yet")]
    last = manifests[-1]
    config = load_campaign(layout.resolved)
    url = config.store.url if "://" in config.store.url else str(layout.root / config.store.url)
    with Store.open(url) as store:
        training = list(store.rows(ids=list(last.dataset.train_ids))) if last.dataset.train_ids else []
        test = list(store.rows(ids=list(last.dataset.test_ids))) if last.dataset.test_ids else []
    sections = [_errors(manifests), _learning_curve(manifests), _exploration(manifests),
                _uncertainty(layout.root, manifests, str(getattr(config.select.measure, "kind", "measure"))),
                _reference_calls(manifests),
                _failures(layout.root, manifests), _stage_times(manifests),
                _composition(training, manifests), _rdf(training)]
    from alearn.models import load

    model = load(layout.root / "iterations" / f"{last.iteration:04d}" / last.model)
    sections += _model_sections(model, test)
    title = "NVE energy drift of the final potential"
    if not drift:
        sections.append(Section(title, missing="skipped (--no-drift)"))
    elif not training:
        sections.append(Section(title, missing="no training structure to start from"))
    else:
        sections.append(_drift(model, training[-1].atoms, 300.0))
    return sections
