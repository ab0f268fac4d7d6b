"""``manifest.json`` of a model directory: every surrogate writes one naming its ``kind``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alearn.errors import UserError

MANIFEST = "manifest.json"


def read_manifest(directory: Path) -> dict[str, Any]:
    """The parsed manifest of the model directory ``directory`` (a UserError when absent or damaged)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise UserError(f"{directory} is not a model directory: {MANIFEST} is missing")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); the model directory is damaged") from None
