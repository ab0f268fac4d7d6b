"""Report sections from campaign records: the measure's distribution per iteration with its
trust limits, and the learning curve on the fixed validation set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from alearn.campaign.exploring import MEASURE_QUANTILES, measure_summary
from alearn.campaign.records import (Counts, Dataset, EvaluateRecord, FrameError, IterationManifest,
                                    Metrics)
from alearn.report import sections


def test_measure_summary_is_compact_and_skips_non_finite(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.lognormal(size=500), np.append(rng.lognormal(size=300), [np.nan, np.inf])
    np.savez(tmp_path / "walker_000.npz", measure=a)
    np.savez(tmp_path / "walker_001.npz", measure=b)
    summary = measure_summary(tmp_path)
    assert summary["measure_frames"] == 800 and len(summary["measure_quantiles"]) == len(MEASURE_QUANTILES)
    both = np.concatenate([a, b[:-2]])
    assert np.allclose(summary["measure_quantiles"], np.percentile(both, MEASURE_QUANTILES), rtol=1e-3)
    assert measure_summary(tmp_path / "nothing") == {}


def _manifest(it: int, calls: int, frames: list[FrameError], test_f: float) -> IterationManifest:
    val = Metrics(structures=len(frames), force_rmse_eV_A=float(np.mean([f.force_rmse_eV_A for f in frames]))) if frames else None
    return IterationManifest(iteration=it, dataset=Dataset(test_ids=(1, 2)),
                             counts=Counts(reference_total=calls, frames=10 if it else 0),
                             metrics=EvaluateRecord(test=Metrics(structures=2, force_rmse_eV_A=test_f,
                                                                 energy_mae_eV_atom=0.002),
                                                    validation=val, validation_frames=tuple(frames) or None))


def test_learning_curve_scores_every_model_on_the_same_first_frames() -> None:
    f = [FrameError(row=k, atoms=4, force_rmse_eV_A=0.1 * (k + 1), energy_error_eV_atom=0.001) for k in range(6)]
    manifests = [_manifest(0, 6, [], 0.5), _manifest(1, 12, f[:3], 0.4), _manifest(2, 18, f[:6], 0.3)]
    n, fixed = sections._fixed_validation(manifests)
    assert n == 3 and fixed["force"][0] is None
    first3 = float(np.sqrt(np.mean([0.01, 0.04, 0.09])))
    assert np.isclose(fixed["force"][1], first3) and np.isclose(fixed["force"][2], first3)
    assert np.isclose(fixed["energy"][2], 1.0)
    section = sections._learning_curve(manifests)
    assert section.figure is not None and "first 3 validation frames" in section.figure.caption


def test_uncertainty_section_uses_each_iterations_limits(tmp_path: Path) -> None:
    manifests = [_manifest(0, 6, [], 0.5), _manifest(1, 12, [], 0.4), _manifest(2, 18, [], 0.3)]
    for it, (lo, hi) in ((1, (0.05, 0.5)), (2, (0.08, 0.6))):
        folder = tmp_path / "iterations" / f"{it:04d}"
        folder.mkdir(parents=True)
        summary = {"lo": lo, "hi": hi, "measure_frames": 40,
                   "measure_quantiles": list(np.geomspace(0.01, 1.0, 21))}
        (folder / "progress.json").write_text(json.dumps({"stages": {"explore": {"summary": summary, "seconds": 1}}}))
    section = sections._uncertainty(tmp_path, manifests, "max_force_std")
    assert section.figure is not None and "trust limits" in section.figure.caption
    old = sections._uncertainty(tmp_path / "none", manifests, "max_force_std")
    assert old.figure is None and "only the counts" in old.missing


def test_status_table_of_the_page_shows_optional_columns_only_with_values() -> None:
    from alearn.report.html import render

    rows = [{"iteration": 0, "frames": 0, "test_force_rmse_eV_A": 0.5},
            {"iteration": 1, "frames": 10, "validation_force_rmse_eV_A": 0.4}]
    page = render("d", None, rows, [])
    assert "<th>validation F RMSE (eV/Å)</th>" in page
    assert "complete-atom" not in page and "calibration" not in page


def test_reference_calls_count_the_validation_calls(monkeypatch) -> None:
    """The running total of the figure is the campaign's cost: selected labels, failures and the
    validation frames' calls, i.e. every manifest's reference_total."""
    counts = [Counts(labelled=6, reference_total=6),
              Counts(selected=3, labelled=3, validation=3, reference_total=12),
              Counts(selected=3, labelled=2, label_failed=1, validation=2, validation_failed=1,
                     reference_total=18)]
    manifests = [IterationManifest(iteration=k, dataset=Dataset(), counts=c) for k, c in enumerate(counts)]
    seen = {}
    monkeypatch.setattr(sections.figures, "reference_calls",
                        lambda its, selected, labelled, failed, validation: seen.update(
                            total=np.cumsum(np.add(np.add(labelled, failed), validation))))
    sections._reference_calls(manifests)
    assert list(seen["total"]) == [c.reference_total for c in counts]
