"""Surrogate models: committee ANN (``committee``), local GPR (``gpr``), and ``load(path)``.

Surrogates are plugins of the ``alearn.surrogates`` entry-point group
(:mod:`alearn.models.protocol`); ``load`` reads ``manifest.json`` in a model directory and asks
the plugin registered under its ``kind`` to load it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alearn.errors import UserError


def load(path: str | Path, **kwargs: Any) -> Any:
    """Load any saved surrogate from its model directory."""
    from alearn import registry
    from alearn.models.manifest import read_manifest

    kind = read_manifest(Path(path)).get("kind")
    plugins = registry.plugins(registry.SURROGATES)
    if not isinstance(kind, str) or kind not in plugins:
        raise UserError(f"{path}: unknown model kind {kind!r}; known kinds: {', '.join(plugins)}")
    return plugins[kind].load(Path(path), **kwargs)
