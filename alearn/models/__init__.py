"""Surrogate models: committee ANN (``committee``), local GPR (``gpr``), and ``load(path)``.

``load`` reads ``manifest.json`` in a model directory and dispatches on its ``kind`` through
:data:`LOADERS` (kind → "module:function", imported lazily).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from alearn.errors import UserError

#: kind in manifest.json → "module:function" that loads such a model directory
LOADERS: dict[str, str] = {
    "committee": "alearn.models.io:load_committee",
    "gpr": "alearn.models.gpr_io:load_gpr",
}


def load(path: str | Path, **kwargs: Any) -> Any:
    """Load any saved surrogate from its model directory."""
    from alearn.models.io import read_manifest

    kind = read_manifest(Path(path)).get("kind")
    if kind not in LOADERS:
        raise UserError(f"{path}: unknown model kind {kind!r}; known kinds: {', '.join(sorted(LOADERS))}")
    module, function = LOADERS[kind].split(":")
    return getattr(importlib.import_module(module), function)(Path(path), **kwargs)
