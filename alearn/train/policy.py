"""The ``auto`` architecture policy: network capacity grows with the training-set size.

Seed 002 (BPNNs on QM9/3BPA): two hidden layers; the best number of weights per element network
grows from ≈600 at 1k structures to ≈4k at 75k.  We interpolate that as a power law
N_w(n) = 600 · (n / 1000)^0.44 (through both points), clipped to [min_weights, max_weights],
and pick the width h of two equal hidden layers with (F+1)·h + (h+1)·h + (h+1) ≈ N_w.
"""

from __future__ import annotations

import math

EXPONENT = math.log(4000 / 600) / math.log(75)


def target_weights(n_structures: int, min_weights: int = 120, max_weights: int = 20000) -> int:
    """Weights per element network for a training set of ``n_structures``."""
    raw = 600.0 * (max(n_structures, 1) / 1000.0) ** EXPONENT
    return int(min(max(raw, min_weights), max_weights))


def auto_hidden(n_structures: int, n_features: int) -> tuple[int, int]:
    """Two equal hidden layers sized for ``n_structures`` and ``n_features`` inputs."""
    n_w = target_weights(n_structures)
    # h² + (F + 3)·h + 1 − N_w = 0
    b = n_features + 3
    width = (-b + math.sqrt(b * b + 4 * (n_w - 1))) / 2
    width = max(2, int(round(width)))
    return (width, width)


def weights_of(n_features: int, hidden: tuple[int, ...]) -> int:
    widths = (n_features, *hidden, 1)
    return sum(i * o + o for i, o in zip(widths[:-1], widths[1:]))
