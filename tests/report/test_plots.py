"""Report plots: valid PNG images from status rows and parity data."""

from __future__ import annotations

import numpy as np

from alearn.report import plots
from alearn.report.html import _page, _table

PNG = b"\x89PNG\r\n\x1a\n"


def rows() -> list[dict]:
    return [{"iteration": i, "frames": 0 if i == 0 else 20, "accurate_pct": None if i == 0 else 10.0 * i,
             "candidate_pct": None if i == 0 else 90.0 - 10 * i, "failed_pct": None if i == 0 else 10.0,
             "test_energy_mae_meV_atom": 5.0 / (i + 1), "test_force_rmse_eV_A": None if i == 1 else 0.5 / (i + 1),
             "labelled": 4, "augmented": 16, "reference_total": 4 * (i + 1), "calibration_spearman": 0.5}
            for i in range(4)]


def test_plots_are_png_images() -> None:
    assert plots.errors_per_iteration(rows()).startswith(PNG)
    assert plots.frame_classes(rows()).startswith(PNG)
    ref = np.linspace(-1, 1, 50)
    assert plots.parity(ref, ref + 0.01, "force component", "eV/Å").startswith(PNG)


def test_table_and_page() -> None:
    html = _page(_table(rows()))
    assert html.startswith("<!DOCTYPE html>") and html.count("<tr>") == 5 and "–" in html
