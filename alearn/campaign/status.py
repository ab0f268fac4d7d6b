"""``alearn status``: one row per iteration, from the verified snapshots and the running staging.

Besides the table it says whether a run is working on the campaign now (an ``alearn run``
holds an ``flock`` on ``.lock``; the kernel drops it when that process dies, so a held lock
means a live run), which stages of the iteration in progress are done (in the order the loop
runs them), the failed reference calculations with their reasons (``--failures``) and the
configuration changes accepted with ``--allow-changes`` (``logs/changes.jsonl``).
"""

from __future__ import annotations

import errno
import fcntl
import json
from pathlib import Path
from typing import Any, Mapping

from alearn.campaign.layout import CampaignDir
from alearn.campaign.progress import PROGRESS, Stage
from alearn.campaign.records import IterationManifest, Metrics, read_manifests
from alearn.files import read_json

#: stages in the order the loop runs them, with their column names in the timing table
STAGE_ABBREVIATIONS = {"initial": "init", "explore": "exp", "validate": "val", "select": "sel",
                       "label": "lab", "augment": "aug", "train": "train", "evaluate": "eval"}
#: ``logs/changes.jsonl``: one JSON line per accepted ``--allow-changes``
CHANGES_LOG = "changes.jsonl"
#: stages whose records list failed reference calculations
LABELLING_STAGES = ("initial", "validate", "label")

LEGEND = {
    "it": "iteration", "walk": "MD walkers", "frm": "explored frames",
    "acc%": "explored frames per trust class (accurate / candidate / failed)",
    "lab": "reference labels", "aug": "augmented rows",
    "cc": "close-contact structures labelled",
    "fcalc": "failed reference calculations (alearn status --failures for the reasons)",
    "inv": "of those, labels refused as invalid (implausible or malformed)",
    "E": "test energy MAE (meV/atom; fragments after their type's energy offset)",
    "F": "test force RMSE (eV/Å)",
    "Fc": "the same over fragment atoms with complete environments (bulk-like)",
    "S": "test stress RMSE (GPa; periodic structures with stress labels, stress in the loss)",
    "Fv": "force RMSE (eV/Å) on the fixed validation set so far",
}


def iteration_row(manifest: IterationManifest | Mapping[str, Any]) -> dict[str, Any]:
    """The status facts of one committed iteration (its manifest, typed or as read from JSON)."""
    if not isinstance(manifest, IterationManifest):
        manifest = IterationManifest.read(manifest)
    counts = manifest.counts
    test = manifest.metrics.test or Metrics()
    validation = manifest.metrics.validation or Metrics()
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
            "test_stress_rmse_GPa": test.stress_rmse_GPa,
            "validation_force_rmse_eV_A": validation.force_rmse_eV_A,
            "calibration_spearman": test.calibration_spearman,
            "seconds": dict(manifest.timings_s), "stop_reason": manifest.stop_reason}


def _milli(value: float | None) -> float | None:
    return None if value is None else 1000.0 * value


def run_state(layout: CampaignDir) -> dict[str, Any]:
    """Whether an ``alearn run`` holds the campaign's lock now, and the pid the last one wrote."""
    path = layout.lock_file
    if not path.is_file():
        return {"alive": False, "pid": None}
    with path.open("r") as handle:
        text = handle.read().strip()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            alive = True
        else:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            alive = False
    return {"alive": alive, "pid": int(text) if text.isdigit() else None}


def _stage_entries(path: Path) -> dict[str, Any]:
    return read_json(path)["stages"] if path.is_file() else {}


def in_pipeline_order(names: Any) -> list[str]:
    """Stage names in the order the loop runs them (unknown names last, as given)."""
    names = list(names)
    known = [s.value for s in Stage if s.value in names]
    return known + [n for n in names if n not in known]


def failures(layout: CampaignDir, iterations: int) -> list[dict[str, Any]]:
    """Every failed reference calculation recorded by a labelling stage: committed iterations
    ``0..iterations-1`` and the one in progress."""
    out = []
    for it in range(iterations + 1):
        folder = layout.snapshot(it) if it < iterations else layout.staging(it)
        stages = _stage_entries(folder / PROGRESS)
        for stage in in_pipeline_order(stages):
            if stage not in LABELLING_STAGES:
                continue
            for failure in stages[stage].get("summary", {}).get("failures", []):
                out.append({"iteration": it, "stage": stage, "job": failure.get("job", ""),
                            "status": failure.get("status", ""), "kind": failure.get("kind", ""),
                            "reason": failure.get("reason", "")})
    return out


def accepted_changes(layout: CampaignDir) -> list[dict[str, Any]]:
    """The configuration changes accepted with ``--allow-changes``, oldest first."""
    path = layout.logs / CHANGES_LOG
    entries = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn by a crash while it was appended
    logged = {e.get("archived") for e in entries}
    for old in sorted(layout.logs.glob("resolved-before-*.toml")) if layout.logs.is_dir() else []:
        if old.name not in logged:  # archived by a version that did not log the diff
            entries.append({"archived": old.name, "changes": None})
    return entries


def _stress_trained(layout: CampaignDir) -> bool:
    """Whether the campaign's training puts stress in the loss (``[train] stress_weight > 0``):
    only then is a stress error worth a column (an untrained stress is off by GPa)."""
    from alearn.config.campaign import load_campaign
    from alearn.errors import UserError

    try:
        return float(load_campaign(layout.resolved).train.stress_weight) > 0
    except UserError:  # an unreadable resolved.toml: status still shows the rest
        return False


def collect(directory: Path, *, with_failures: bool = False) -> dict[str, Any]:
    """Everything ``alearn status`` shows, as JSON-ready data."""
    layout = CampaignDir(Path(directory))
    layout.require()
    manifests = read_manifests(layout)
    rows = [iteration_row(m) for m in manifests]
    running = None
    done = _stage_entries(layout.staging(len(manifests)) / PROGRESS)
    if (layout.staging(len(manifests)) / PROGRESS).is_file():
        order = in_pipeline_order(done)
        running = {"iteration": len(manifests), "stages_done": order,
                   "seconds": {k: done[k]["seconds"] for k in order}}
    state = run_state(layout)
    stop = manifests[-1].stop_reason if manifests else None
    data = {"directory": str(layout.root), "iterations": rows, "in_progress": running,
            "stop_reason": None if running or state["alive"] else stop,
            "run": state, "changes": accepted_changes(layout),
            "stress_trained": _stress_trained(layout)}
    if with_failures:
        data["failures"] = failures(layout, len(manifests))
    return data


def render(data: dict[str, Any], console: Any) -> None:
    """The status as rich tables: outcomes per iteration, then seconds per stage, then the
    state of the run, the accepted changes and (with ``--failures``) the failed calculations."""
    names = _columns(data["iterations"], bool(data.get("stress_trained")))
    console.print(_outcomes(data, names))
    console.print("; ".join(f"{_legend_name(n)}: {LEGEND[n]}" for n in names
                            if n not in ("cand%", "fail%", "it")))
    console.print(_timings(data["iterations"], data.get("in_progress")))
    for line in _state_lines(data):
        console.print(line)
    for line in _change_lines(data.get("changes", [])):
        console.print(line)
    if "failures" in data:
        console.print(_failure_table(data["failures"]))


def _legend_name(name: str) -> str:
    return "acc/cand/fail%" if name == "acc%" else name


def _columns(rows: list[dict[str, Any]], stress_trained: bool) -> list[str]:
    optional = {"cc": any(r.get("close_contacts") for r in rows),
                "inv": any(r.get("invalid_labels") for r in rows),
                "Fc": any(r.get("test_force_rmse_complete_eV_A") is not None for r in rows),
                "S": stress_trained and any(r.get("test_stress_rmse_GPa") is not None for r in rows),
                "Fv": any(r.get("validation_force_rmse_eV_A") is not None for r in rows)}
    names = ["it", "walk", "frm", "acc%", "cand%", "fail%", "lab", "aug", "cc", "fcalc", "inv",
             "E", "F", "Fc", "S", "Fv"]
    return [n for n in names if optional.get(n, True)]


def _outcomes(data: dict[str, Any], names: list[str]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=f"campaign {data['directory']}", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    for name in names:
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    for row in data["iterations"]:
        cells = {"it": str(row["iteration"]), "walk": str(row["walkers"]), "frm": str(row["frames"]),
                 "acc%": _fmt(row["accurate_pct"], 0), "cand%": _fmt(row["candidate_pct"], 0),
                 "fail%": _fmt(row["failed_pct"], 0), "lab": str(row["labelled"]),
                 "aug": str(row["augmented"]), "cc": str(row.get("close_contacts", 0)),
                 "fcalc": str(row["failed_calculations"]), "inv": str(row.get("invalid_labels", 0)),
                 "E": _fmt(row["test_energy_mae_meV_atom"], 2),
                 "F": _fmt(row["test_force_rmse_eV_A"], 3),
                 "Fc": _fmt(row.get("test_force_rmse_complete_eV_A"), 3),
                 "S": _fmt(row.get("test_stress_rmse_GPa"), 3),
                 "Fv": _fmt(row.get("validation_force_rmse_eV_A"), 3)}
        table.add_row(*(cells[n] for n in names))
    return table


def _state_lines(data: dict[str, Any]) -> list[str]:
    state = data.get("run", {"alive": False, "pid": None})
    running = data["in_progress"]
    pid = f" (pid {state['pid']})" if state.get("pid") else ""
    lines = []
    if running:
        done = ", ".join(running["stages_done"]) or "nothing yet"
        lines.append(f"iteration {running['iteration']} in progress; done: {done}")
    if state["alive"]:
        lines.append(f"alive: an 'alearn run'{pid} holds the campaign lock now")
    elif running:
        last = f", pid {state['pid']}," if state.get("pid") else ""
        lines.append(f"stale: no run holds the campaign lock (the last run{last} has ended); "
                     f"'alearn run {data['directory']}' resumes at the first unfinished stage")
    if data["stop_reason"]:
        lines.append(f"stopped: {data['stop_reason']}")
    return lines


def _change_lines(changes: list[dict[str, Any]]) -> list[str]:
    lines = []
    for entry in changes:
        when = entry.get("time_utc", "time not recorded")
        at = entry.get("before_iteration")
        where = "" if at is None else f", before iteration {at}"
        lines.append(f"accepted changes ({when}{where}; old configuration: logs/{entry['archived']}):")
        if entry.get("changes") is None:
            lines.append("  (the diff was not recorded)")
        for change in entry.get("changes") or []:
            lines.append(f"  {change['key']}: {change['old']} -> {change['new']}")
    return lines


def _failure_table(rows: list[dict[str, Any]]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title="failed reference calculations" + ("" if rows else ": none"),
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("it", "stage", "job", "status", "kind", "reason"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(str(row["iteration"]), row["stage"], row["job"], row["status"], row["kind"],
                      row["reason"])
    return table


def _timings(rows: list[dict[str, Any]], running: dict[str, Any] | None) -> Any:
    from rich import box
    from rich.table import Table

    lines = [(str(r["iteration"]), r["seconds"], True) for r in rows]
    if running:
        lines.append((f"{running['iteration']}…", running["seconds"], False))
    stages = [s for s in STAGE_ABBREVIATIONS if any(s in seconds for _, seconds, _ in lines)]
    table = Table(title="seconds per stage", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("it", justify="right")
    for stage in stages:
        table.add_column(STAGE_ABBREVIATIONS[stage], justify="right")
    table.add_column("total", justify="right")
    for label, seconds, _ in lines:
        cells = [_fmt(seconds.get(stage), 1) for stage in stages]
        table.add_row(label, *cells, f"{sum(seconds.values()):.1f}")
    return table


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
