"""``alearn status``: one row per iteration, from the verified snapshots and the running staging."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from alearn.campaign.layout import CampaignDir
from alearn.campaign.progress import PROGRESS
from alearn.campaign.records import IterationManifest, Metrics, read_manifests
from alearn.files import read_json

STAGE_ABBREVIATIONS = {"initial": "init", "explore": "exp", "select": "sel", "label": "lab",
                       "augment": "aug", "train": "train", "evaluate": "eval"}


def iteration_row(manifest: IterationManifest | Mapping[str, Any]) -> dict[str, Any]:
    """The status facts of one committed iteration (its manifest, typed or as read from JSON)."""
    if not isinstance(manifest, IterationManifest):
        manifest = IterationManifest.read(manifest)
    counts = manifest.counts
    test = manifest.metrics.test or Metrics()
    frames = counts.frames
    pct = {k: (100.0 * getattr(counts, k) / frames if frames else None)
           for k in ("accurate", "candidate", "failed")}
    return {"iteration": manifest.iteration, "committed": True,
            "walkers": counts.walkers, "frames": frames,
            "accurate_pct": pct["accurate"], "candidate_pct": pct["candidate"],
            "failed_pct": pct["failed"], "labelled": counts.labelled,
            "augmented": counts.augmented,
            "close_contacts": counts.close_contacts, "failed_calculations": counts.label_failed,
            "invalid_labels": counts.invalid_labels or 0,
            "reference_total": counts.reference_total,
            "train_rows": counts.train_rows, "test_rows": counts.test_rows,
            "test_energy_mae_meV_atom": _milli(test.energy_mae_eV_atom),
            "test_force_rmse_eV_A": test.force_rmse_eV_A,
            "test_force_rmse_complete_eV_A": test.force_rmse_complete_eV_A,
            "test_force_angle_deg": test.force_angle_mean_deg,
            "calibration_spearman": test.calibration_spearman,
            "seconds": dict(manifest.timings_s), "stop_reason": manifest.stop_reason}


def _milli(value: float | None) -> float | None:
    return None if value is None else 1000.0 * value


def collect(directory: Path) -> dict[str, Any]:
    """Everything ``alearn status`` shows, as JSON-ready data."""
    layout = CampaignDir(Path(directory))
    layout.require()
    manifests = read_manifests(layout)
    rows = [iteration_row(m) for m in manifests]
    running = None
    staging = layout.staging(len(manifests))
    if (staging / PROGRESS).is_file():
        done = read_json(staging / PROGRESS)["stages"]
        running = {"iteration": len(manifests), "stages_done": list(done),
                   "seconds": {k: v["seconds"] for k, v in done.items()}}
    stop = manifests[-1].stop_reason if manifests else None
    return {"directory": str(layout.root), "iterations": rows, "in_progress": running,
            "stop_reason": stop}


def render(data: dict[str, Any], console: Any) -> None:
    """The status as rich tables: outcomes per iteration, then seconds per stage."""
    from rich import box
    from rich.table import Table

    table = Table(title=f"campaign {data['directory']}", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    rows = data["iterations"]
    optional = {"cc": any(r.get("close_contacts") for r in rows),
                "inv": any(r.get("invalid_labels") for r in rows),
                "Fc": any(r.get("test_force_rmse_complete_eV_A") is not None for r in rows)}
    names = ["it", "walk", "frm", "acc%", "cand%", "fail%", "lab", "aug", "cc", "fcalc", "inv", "E", "F", "Fc"]
    names = [n for n in names if optional.get(n, True)]
    for name in names:
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    for row in rows:
        cells = {"it": str(row["iteration"]), "walk": str(row["walkers"]), "frm": str(row["frames"]),
                 "acc%": _fmt(row["accurate_pct"], 0), "cand%": _fmt(row["candidate_pct"], 0),
                 "fail%": _fmt(row["failed_pct"], 0), "lab": str(row["labelled"]),
                 "aug": str(row["augmented"]), "cc": str(row.get("close_contacts", 0)),
                 "fcalc": str(row["failed_calculations"]), "inv": str(row.get("invalid_labels", 0)),
                 "E": _fmt(row["test_energy_mae_meV_atom"], 2),
                 "F": _fmt(row["test_force_rmse_eV_A"], 3),
                 "Fc": _fmt(row.get("test_force_rmse_complete_eV_A"), 3)}
        table.add_row(*(cells[n] for n in names))
    console.print(table)
    console.print("acc/cand/fail: explored frames per trust class; lab: reference labels; aug: "
                  "augmented rows; cc: close-contact structures labelled (when any); fcalc: failed reference calculations; inv: of those, "
                  "labels refused as invalid (implausible or malformed; when any); E: test energy MAE "
                  "(meV/atom; fragments after their type's energy offset); F: test force RMSE (eV/Å); "
                  "Fc: the same over fragment atoms with complete environments (bulk-like; fragment campaigns)")
    console.print(_timings(data["iterations"]))
    if data["in_progress"]:
        running = data["in_progress"]
        console.print(f"iteration {running['iteration']} in progress; done: "
                      + (", ".join(running["stages_done"]) or "nothing yet"))
    if data["stop_reason"]:
        console.print(f"stopped: {data['stop_reason']}")


def _timings(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    from rich import box

    table = Table(title="seconds per stage", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("it", justify="right")
    for name in STAGE_ABBREVIATIONS.values():
        table.add_column(name, justify="right")
    table.add_column("total", justify="right")
    for row in rows:
        seconds = row["seconds"]
        cells = [_fmt(seconds.get(stage), 1) for stage in STAGE_ABBREVIATIONS]
        table.add_row(str(row["iteration"]), *cells, f"{sum(seconds.values()):.1f}")
    return table


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
