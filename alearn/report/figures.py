"""The report's figures, each a function of plain numbers returning a :class:`Figure` (PNG).

No function here reads a campaign: :mod:`alearn.report.collect` gathers the inputs.  Every
figure has a legend where it has more than one series (placed outside the data), integer
iteration ticks, and units on its axes.
"""

from __future__ import annotations

import base64
import io
import textwrap
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

#: stage colours, in pipeline order
STAGE_COLOURS = {"initial": "#8c564b", "explore": "#1f77b4", "validate": "#bcbd22",
                 "select": "#17becf",
                 "label": "#d62728", "augment": "#ff7f0e", "train": "#2ca02c",
                 "evaluate": "#9467bd"}
SOURCE_COLOURS = {"reference": "#d62728", "imported": "#8c564b", "taylor": "#ff7f0e",
                  "gpr": "#9467bd", "close_contact": "#e377c2"}
CLASS_COLOURS = (("accurate", "#2ca02c"), ("candidate", "#ff7f0e"), ("failed", "#d62728"))


@dataclass(frozen=True)
class Figure:
    """One rendered figure: PNG bytes, alt text (also its caption's first words) and a caption."""

    key: str
    title: str
    png: bytes
    caption: str = ""

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _axes(ncols: int = 1, width: float = 6.4, height: float = 3.6, **kwargs: Any) -> tuple[Any, Any]:
    return _plt().subplots(1, ncols, figsize=(width, height), dpi=110, squeeze=False, **kwargs)


def _render(fig: Any, key: str, title: str, caption: str = "") -> Figure:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    _plt().close(fig)
    return Figure(key, title, buffer.getvalue(), caption)


def _integer_x(ax: Any, values: Sequence[int]) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(values):
        ax.set_xlim(min(values) - 0.6, max(values) + 0.6)


def _legend_above(ax: Any, ncol: int) -> None:
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.01), ncol=ncol, frameon=False, fontsize=8)


def _series(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def errors_per_iteration(iterations: Sequence[int], series: Mapping[str, Mapping[str, Sequence[float | None]]],
                         units: Mapping[str, str], set_name: str = "held-out test set") -> Figure:
    """One panel per quantity (e.g. energy MAE, force RMSE); lines per data set (test, train)."""
    quantities = list(series)
    fig, axes = _axes(len(quantities), width=3.3 * len(quantities) + 0.4)
    for ax, quantity in zip(axes[0], quantities):
        for (name, values), style in zip(series[quantity].items(), ("o-", "s--", "^:")):
            ax.plot(iterations, _series(values), style, label=name, ms=4)
        ax.set_xlabel("iteration")
        ax.set_ylabel(f"{quantity} ({units[quantity]})")
        _integer_x(ax, iterations)
        ax.set_ylim(bottom=0)
        _legend_above(ax, 3)
    return _render(fig, "errors", "Errors per iteration",
                   f"Errors of each iteration's model; 'test' is the {set_name}, never trained on.")


def exploration_outcome(iterations: Sequence[int], counts: Mapping[str, Sequence[int]]) -> Figure:
    """Stacked bars of explored frames per trust class per iteration."""
    fig, axes = _axes()
    ax = axes[0, 0]
    bottom = np.zeros(len(iterations))
    for name, colour in CLASS_COLOURS:
        values = np.asarray(counts.get(name, [0] * len(iterations)), dtype=float)
        ax.bar(iterations, values, bottom=bottom, color=colour, label=name, width=0.7)
        bottom += values
    ax.set_xlabel("iteration")
    ax.set_ylabel("explored frames")
    _integer_x(ax, iterations)
    _legend_above(ax, 3)
    return _render(fig, "exploration", "Exploration outcome",
                   "Frames the walkers visited, by the committee's trust class: accurate (below "
                   "trust.lo), candidate (selectable), failed (at or above trust.hi, or insane).")


def parity(reference: np.ndarray, predicted: np.ndarray, quantity: str, unit: str,
           subset: str = "test set") -> Figure:
    """Predicted against reference with the diagonal, RMSE and MAE written on the panel."""
    reference, predicted = np.ravel(reference), np.ravel(predicted)
    fig, axes = _axes(width=4.2, height=4.0)
    ax = axes[0, 0]
    n = reference.size   # few points drawn large enough to see, many small and translucent
    ax.scatter(reference, predicted, s=28 if n <= 50 else 10 if n <= 2000 else 4,
               alpha=0.9 if n <= 50 else 0.5, color="#1f77b4", linewidths=0)
    lo = float(min(reference.min(), predicted.min()))
    hi = float(max(reference.max(), predicted.max()))
    pad = 0.03 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k-", lw=0.8)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    error = predicted - reference
    rmse, mae = float(np.sqrt(np.mean(error ** 2))), float(np.mean(np.abs(error)))
    ax.text(0.04, 0.96, f"RMSE {rmse:.3g} {unit}\nMAE {mae:.3g} {unit}\nn = {len(error)}",
            transform=ax.transAxes, va="top", fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    ax.set_xlabel(f"reference {quantity} ({unit})")
    ax.set_ylabel(f"predicted {quantity} ({unit})")
    return _render(fig, f"parity-{quantity.split()[0]}", f"{quantity.capitalize()} parity",
                   f"The last model on the {subset}.")


def per_element_errors(elements: Sequence[str], rmse: Sequence[float], mae: Sequence[float],
                       atoms: Sequence[int], unit: str = "eV/Å") -> Figure:
    """Force RMSE and MAE per element (number of atoms above the bars)."""
    fig, axes = _axes(width=max(3.6, 1.1 * len(elements) + 2.0))
    ax = axes[0, 0]
    x = np.arange(len(elements))
    ax.bar(x - 0.18, rmse, 0.36, label="RMSE", color="#1f77b4")
    ax.bar(x + 0.18, mae, 0.36, label="MAE", color="#aec7e8")
    for k, count in enumerate(atoms):
        ax.text(x[k], max(rmse[k], mae[k]), f"{count} atoms", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, list(elements))
    ax.set_ylabel(f"force component error ({unit})")
    ax.set_ylim(0, 1.2 * max(list(rmse) + [1e-12]))
    _legend_above(ax, 2)
    return _render(fig, "elements", "Force errors per element", "The last model on the test set.")


def calibration(predicted: np.ndarray, actual: np.ndarray, measure: str, unit: str,
                slope: float | None = None, spearman: float | None = None) -> Figure:
    """Per-structure predicted uncertainty against the true error (log-log), y = x, y = a·x."""
    predicted, actual = np.ravel(predicted), np.ravel(actual)
    keep = (predicted > 0) & (actual > 0)
    fig, axes = _axes(width=4.4, height=4.0)
    ax = axes[0, 0]
    ax.scatter(predicted[keep], actual[keep], s=10, alpha=0.6, color="#1f77b4", linewidths=0,
               label="test structures")
    if keep.any():
        lo = float(min(predicted[keep].min(), actual[keep].min())) / 1.5
        hi = float(max(predicted[keep].max(), actual[keep].max())) * 1.5
        grid = np.array([lo, hi])
        ax.plot(grid, grid, "k-", lw=0.8, label="error = spread")
        if slope is not None and np.isfinite(slope):
            ax.plot(grid, slope * grid, "r--", lw=1.0, label=f"calibrated: error = {slope:.3g}·spread")
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(f"predicted {measure} ({unit})")
    ax.set_ylabel(f"true error ({unit})")
    _legend_above(ax, 1)
    rho = f"; Spearman ρ = {spearman:.2f}" if spearman is not None else ""
    return _render(fig, "calibration", "Error calibration",
                   f"Does the committee's spread predict its error? Points above the diagonal "
                   f"are over-confident{rho}.")


def uncertainty_distributions(iterations: Sequence[int], quantiles: Sequence[Sequence[float]],
                              lo: Sequence[float | None], hi: Sequence[float | None],
                              frames: Sequence[int], measure: str, unit: str) -> Figure:
    """Per iteration, the distribution of the selection measure over the explored frames (box:
    25–75 %, line: median, whiskers: 5–95 %, dots: min and max; ``quantiles`` holds the 0, 5,
    …, 100 % quantiles) with that iteration's trust limits beside it."""
    fig, axes = _axes(width=7.0)
    ax = axes[0, 0]
    q = np.asarray(quantiles, dtype=float)
    x = np.asarray(iterations, dtype=float)
    floor = np.nanmin(np.where(q > 0, q, np.nan)) if np.any(q > 0) else 1e-6
    q = np.where(q > 0, q, floor)   # a log axis: zero measures drawn at the smallest positive
    for k, xi in enumerate(x):
        ax.add_patch(_plt().Rectangle((xi - 0.25, q[k, 5]), 0.5, q[k, 15] - q[k, 5],
                                      facecolor="#aec7e8", edgecolor="#1f77b4", lw=1.0,
                                      label="frames, 25–75 %" if k == 0 else None))
        ax.plot([xi - 0.25, xi + 0.25], [q[k, 10]] * 2, color="#1f77b4", lw=2.0,
                label="median" if k == 0 else None)
        ax.plot([xi, xi], [q[k, 1], q[k, 5]], color="#1f77b4", lw=1.0,
                label="5–95 %" if k == 0 else None)
        ax.plot([xi, xi], [q[k, 15], q[k, 19]], color="#1f77b4", lw=1.0)
        ax.plot([xi, xi], [q[k, 0], q[k, 20]], "o", color="#1f77b4", ms=2.5,
                label="min, max" if k == 0 else None)
        ax.annotate(f"{frames[k]}", (xi, q[k, 20]), textcoords="offset points", xytext=(0, 4),
                    ha="center", fontsize=7, color="#555555")
    for values, style, name in ((lo, "--", "trust.lo"), (hi, ":", "trust.hi")):
        for k, (xi, value) in enumerate(zip(x, values)):
            if value is not None and value > 0:
                ax.plot([xi - 0.42, xi + 0.42], [value, value], ls=style, color="black", lw=1.4,
                        label=name if k == next(j for j, v in enumerate(values) if v) else None)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"{measure}" + (f" ({unit})" if unit else ""))
    _integer_x(ax, iterations)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    return _render(fig, "uncertainty", "Uncertainty of the explored frames",
                   "Each iteration's explored frames (the number above each box) against that "
                   "iteration's trust limits: below trust.lo accurate, between candidates, above "
                   "trust.hi failed. A campaign converges when the boxes sink below trust.lo.")


def reference_calls(iterations: Sequence[int], selected: Sequence[int], labelled: Sequence[int],
                    failed: Sequence[int], validation: Sequence[int] | None = None) -> Figure:
    """Selected, labelled and failed reference calculations per iteration, the validation
    frames labelled beside them (calls of their own, never trained on), and their sum."""
    fig, axes = _axes(2, width=8.0)
    left, right = axes[0]
    x = np.asarray(iterations, dtype=float)
    validation = [0] * len(iterations) if validation is None else list(validation)
    bars = [(selected, "selected", "#1f77b4"), (labelled, "labelled", "#2ca02c"),
            (failed, "failed", "#d62728")]
    if any(validation):
        bars.append((validation, "validation", "#9467bd"))
    width = 0.8 / len(bars)
    for k, (values, name, colour) in enumerate(bars):
        left.bar(x + (k - (len(bars) - 1) / 2) * width, values, width, label=name, color=colour)
    left.set_xlabel("iteration")
    left.set_ylabel("reference calculations")
    _integer_x(left, iterations)
    _legend_above(left, len(bars))
    total = np.cumsum(np.asarray(labelled) + np.asarray(failed) + np.asarray(validation))
    right.plot(iterations, total, "o-", color="#d62728", label="all calculations")
    right.plot(iterations, np.cumsum(labelled), "s--", color="#2ca02c", label="labelled")
    right.set_xlabel("iteration")
    right.set_ylabel("cumulative reference calculations")
    right.set_ylim(bottom=0)
    _integer_x(right, iterations)
    _legend_above(right, 2)
    return _render(fig, "reference", "Reference calculations",
                   "What each iteration sent to the reference code (validation: frames drawn "
                   "at random for the fixed validation set, failed or not), and the running "
                   "total (the campaign's cost in reference calls).")


def stage_times(iterations: Sequence[int], seconds: Mapping[str, Sequence[float]]) -> Figure:
    """Stacked bars of wall-clock seconds per stage, stages in pipeline order."""
    fig, axes = _axes()
    ax = axes[0, 0]
    bottom = np.zeros(len(iterations))
    for stage in sorted(seconds, key=lambda s: list(STAGE_COLOURS).index(s) if s in STAGE_COLOURS else 99):
        values = np.nan_to_num(_series(seconds[stage]))
        ax.bar(iterations, values, bottom=bottom, width=0.7, label=stage,
               color=STAGE_COLOURS.get(stage, "#7f7f7f"))
        bottom += values
    ax.set_xlabel("iteration")
    ax.set_ylabel("wall-clock time (s)")
    _integer_x(ax, iterations)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    return _render(fig, "times", "Time per stage", "Where the wall-clock time went.")


def failures(reasons: Mapping[str, int]) -> Figure:
    """Failed reference calculations by reason (horizontal bars)."""
    items = sorted(reasons.items(), key=lambda kv: kv[1])
    fig, axes = _axes(height=max(1.6, 0.45 * len(items) + 0.9))
    ax = axes[0, 0]
    labels = [textwrap.shorten(reason, 70, placeholder=" …") for reason, _ in items]
    ax.barh(range(len(items)), [n for _, n in items], color="#d62728")
    ax.set_yticks(range(len(items)), labels, fontsize=8)
    ax.set_xlabel("failed calculations")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _render(fig, "failures", "Failed reference calculations",
                   "Reasons as the reference calculator reported them (table below).")


def rdf_halves(r: np.ndarray, first: Mapping[str, np.ndarray], second: Mapping[str, np.ndarray],
               difference: Mapping[str, float], ylabel: str) -> Figure:
    """g(r) per element pair of the first and second half of the training data."""
    pairs = list(first)
    fig, axes = _axes(len(pairs), width=3.0 * len(pairs) + 0.6, height=3.2)
    for ax, pair in zip(axes[0], pairs):
        ax.plot(r, first[pair], "-", color="#1f77b4", label="first half")
        ax.plot(r, second[pair], "--", color="#d62728", label="second half")
        ax.set_title(f"{pair}: difference {100 * difference[pair]:.0f} %", fontsize=9)
        ax.set_xlabel("r (Å)")
    axes[0][0].set_ylabel(ylabel)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2,
               frameon=False, fontsize=8)
    return _render(fig, "rdf", "Radial distribution of the training data",
                   "Seed 001's data-sufficiency check: the reference structures in the order they "
                   "were labelled, split in halves. Converged data give the same curves; the "
                   "difference is ∫|g₁−g₂|dr / ∫½(g₁+g₂)dr.")


def energy_drift(time_ps: np.ndarray, energy_meV_atom: np.ndarray, slope_meV_atom_ps: float,
                 conditions: str) -> Figure:
    """Total energy per atom (relative to the start) of an NVE run, with its linear drift."""
    fig, axes = _axes()
    ax = axes[0, 0]
    ax.plot(time_ps, energy_meV_atom, "-", color="#1f77b4", lw=1.0, label="total energy")
    fit = np.polyval(np.polyfit(time_ps, energy_meV_atom, 1), time_ps) if len(time_ps) > 1 else energy_meV_atom
    ax.plot(time_ps, fit, "--", color="#d62728", label=f"drift {slope_meV_atom_ps:.3g} meV/atom/ps")
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("E_total − E_total(0) (meV/atom)")
    _legend_above(ax, 2)
    return _render(fig, "drift", "Energy conservation of the final potential (NVE)",
                   f"Velocity-Verlet MD on the last model: {conditions}.")


def learning_curve(calls: Sequence[int], series: Mapping[str, Mapping[str, Sequence[float | None]]],
                   units: Mapping[str, str], caption: str) -> Figure:
    """Errors against the cumulative number of reference calculations: one panel per quantity,
    one line per data set (``series[quantity][set name]``)."""
    fig, axes = _axes(len(series), width=3.6 * len(series) + 0.4)
    styles = ("o-", "s--", "^:")
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c")
    names = list(dict.fromkeys(name for sets in series.values() for name in sets))
    for ax, (quantity, sets) in zip(axes[0], series.items()):
        for name, values in sets.items():
            k = names.index(name)   # one style per data set across the panels
            ax.plot(calls, _series(values), styles[k % 3], color=colours[k % 3], label=name, ms=4)
        ax.set_xlabel("cumulative reference calculations")
        ax.set_ylabel(f"{quantity} ({units[quantity]})")
        ax.set_ylim(bottom=0)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.01), ncol=1, frameon=False, fontsize=8)
    return _render(fig, "learning", "Learning curve", caption)


def dataset_composition(iterations: Sequence[int], rows: Mapping[str, Sequence[int]]) -> Figure:
    """Stacked bars of the training set's rows by source per iteration."""
    fig, axes = _axes()
    ax = axes[0, 0]
    bottom = np.zeros(len(iterations))
    for source, values in rows.items():
        values = np.asarray(values, dtype=float)
        ax.bar(iterations, values, bottom=bottom, width=0.7, label=source,
               color=SOURCE_COLOURS.get(source, "#7f7f7f"))
        bottom += values
    ax.set_xlabel("iteration")
    ax.set_ylabel("training rows")
    _integer_x(ax, iterations)
    _legend_above(ax, len(rows))
    return _render(fig, "composition", "Training data by source",
                   "Rows each iteration's model was trained on: reference labels, imported data, "
                   "and synthetic rows from augmentation.")
