"""``alearn report``: a self-contained HTML page (plots embedded as PNG) of a campaign."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np

from alearn.report import plots


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def test_parity(directory: Path, manifest: Any, store_url: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Reference and predicted force components of the model of ``manifest`` (an
    :class:`~alearn.campaign.records.IterationManifest`) on its test set."""
    from alearn.data.store import Store
    from alearn.models import load

    ids = list(manifest.dataset.test_ids)
    if not ids:
        return None
    with Store.open(store_url) as store:
        rows = [r for r in store.rows(ids=ids) if r.labels.forces is not None]
    if not rows:
        return None
    model = load(directory / "iterations" / f"{manifest.iteration:04d}" / manifest.model)
    prediction = model.predict([r.atoms for r in rows])
    reference = np.concatenate([r.labels.forces.ravel() for r in rows])
    predicted = np.concatenate([np.asarray(f).ravel() for f in prediction.forces])
    return reference, predicted


def build_report(directory: Path, out: Path | None = None) -> Path:
    """Write ``report.html`` for the campaign in ``directory``; returns its path."""
    from alearn.campaign.layout import CampaignDir
    from alearn.campaign.records import read_manifests
    from alearn.campaign.status import collect
    from alearn.config.campaign import load_campaign

    layout = CampaignDir(Path(directory))
    data = collect(layout.root)
    rows = data["iterations"]
    parts = [f"<h1>alearn campaign report</h1><p>{html.escape(str(layout.root))}</p>"]
    if data["stop_reason"]:
        parts.append(f"<p><b>stop reason:</b> {html.escape(data['stop_reason'])}</p>")
    parts.append(_table(rows))
    if rows:
        parts.append(_img(plots.errors_per_iteration(rows), "test errors per iteration"))
        if any(r["frames"] for r in rows):
            parts.append(_img(plots.frame_classes(rows), "explored frames per iteration"))
        config = load_campaign(layout.resolved)
        url = config.store.url if "://" in config.store.url else str(layout.root / config.store.url)
        pair = test_parity(layout.root, read_manifests(layout)[-1], url)
        if pair is not None:
            parts.append(_img(plots.parity(*pair, "force component", "eV/Å"), "force parity"))
    out = Path(out) if out is not None else layout.root / "report.html"
    out.write_text(_page("\n".join(parts)), encoding="utf-8")
    return out


def _table(rows: list[dict[str, Any]]) -> str:
    head = ("iteration", "frames", "accurate %", "labelled", "augmented", "reference total",
            "test E MAE (meV/atom)", "test F RMSE (eV/Å)", "complete-atom F RMSE (eV/Å)",
            "calibration ρ")
    keys = ("iteration", "frames", "accurate_pct", "labelled", "augmented", "reference_total",
            "test_energy_mae_meV_atom", "test_force_rmse_eV_A", "test_force_rmse_complete_eV_A",
            "calibration_spearman")
    lines = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for row in rows:
        cells = "".join(f"<td>{_cell(row.get(k))}</td>" for k in keys)
        lines.append(f"<tr>{cells}</tr>")
    return "\n".join(lines + ["</table>"])


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}"
    return html.escape(str(value))


def _page(body: str) -> str:
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
             "img{max-width:100%}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>alearn report</title>"
            f"<style>{style}</style></head><body>{body}</body></html>\n")
