"""Matplotlib figures of a campaign (Agg backend, returned as PNG bytes)."""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np


def _figure(width: float = 6.0, height: float = 3.6) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=110)


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def errors_per_iteration(rows: Sequence[dict[str, Any]]) -> bytes:
    """Test energy MAE (meV/atom) and force RMSE (eV/Å) against the iteration."""
    fig, left = _figure()
    its = [r["iteration"] for r in rows]
    energy = [np.nan if r["test_energy_mae_meV_atom"] is None else r["test_energy_mae_meV_atom"] for r in rows]
    force = [np.nan if r["test_force_rmse_eV_A"] is None else r["test_force_rmse_eV_A"] for r in rows]
    left.plot(its, energy, "o-", color="tab:blue", label="energy MAE")
    left.set_xlabel("iteration")
    left.set_ylabel("test energy MAE (meV/atom)", color="tab:blue")
    right = left.twinx()
    right.plot(its, force, "s--", color="tab:red", label="force RMSE")
    right.set_ylabel("test force RMSE (eV/Å)", color="tab:red")
    left.set_title("held-out test errors")
    return _png(fig)


def frame_classes(rows: Sequence[dict[str, Any]]) -> bytes:
    """Accurate / candidate / failed fractions of the explored frames per iteration."""
    fig, ax = _figure()
    explored = [r for r in rows if r["frames"]]
    its = np.array([r["iteration"] for r in explored])
    bottom = np.zeros(len(explored))
    for key, color in (("accurate_pct", "tab:green"), ("candidate_pct", "tab:orange"),
                       ("failed_pct", "tab:red")):
        values = np.array([r[key] or 0.0 for r in explored])
        ax.bar(its, values, bottom=bottom, color=color, label=key.replace("_pct", ""))
        bottom += values
    ax.set_xlabel("iteration")
    ax.set_ylabel("explored frames (%)")
    ax.set_ylim(0, 100)
    ax.legend(loc="lower right")
    ax.set_title("exploration outcome")
    return _png(fig)


def parity(reference: np.ndarray, predicted: np.ndarray, label: str, unit: str) -> bytes:
    """Predicted against reference values with the diagonal."""
    fig, ax = _figure(4.2, 4.0)
    ax.scatter(reference, predicted, s=6, alpha=0.6)
    lo = float(min(np.min(reference), np.min(predicted))) if len(reference) else 0.0
    hi = float(max(np.max(reference), np.max(predicted))) if len(reference) else 1.0
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    ax.set_xlabel(f"reference {label} ({unit})")
    ax.set_ylabel(f"predicted {label} ({unit})")
    ax.set_title(f"{label} parity (test set)")
    return _png(fig)
