"""alearn: active learning of machine-learning interatomic potentials.

Explore with MD on a committee of atomic neural networks or local GPR surrogates, select the
uncertain structures, label them with a reference code, augment forces into energies, retrain,
and keep every iteration as an immutable snapshot.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ase.calculators.calculator import Calculator

try:
    __version__ = version("alearn")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "label_structures", "load_calculator", "load_campaign", "open_store",
           "run_campaign"]


def load_calculator(path: "str | os.PathLike[str]", **kwargs: "Any") -> "Calculator":
    """The ASE calculator of a saved surrogate (any kind ``alearn.models.load`` knows)."""
    from alearn.models import load

    return load(path).as_calculator(**kwargs)


def label_structures(*args: "Any", **kwargs: "Any") -> "Any":
    """Label structures with a reference calculator into a store (see
    :func:`alearn.label.dispatcher.label_structures`)."""
    from alearn.label.dispatcher import label_structures as run

    return run(*args, **kwargs)


def load_campaign(path: "str | os.PathLike[str]") -> "Any":
    """Read and validate a campaign TOML file (see :func:`alearn.config.campaign.load_campaign`)."""
    from alearn.config.campaign import load_campaign as load

    return load(path)


def open_store(url: "str | os.PathLike[str]", *, min_distance_A: float = 0.5) -> "Any":
    """Open (creating when needed) a labelled-structure store: an SQLite path or a
    ``postgresql://`` URL (see :class:`alearn.data.store.Store`)."""
    from alearn.data.store import Store

    return Store.open(url, min_distance_A=min_distance_A)


def run_campaign(source: "str | os.PathLike[str]", **kwargs: "Any") -> "Any":
    """Run or resume a campaign (a TOML file or a campaign directory), as ``alearn run`` does;
    returns an ``Outcome`` (directory, iterations, stop reason).  See
    :func:`alearn.campaign.loop.run_campaign` for the keyword arguments."""
    from pathlib import Path

    from alearn.campaign.loop import run_campaign as run

    return run(Path(source), **kwargs)

