"""Configuration changes between runs of one campaign: a readable diff and the safety rule."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alearn.config.schema import to_dict


@dataclass(frozen=True)
class Change:
    """One changed key (dotted path) with its old and new value."""

    key: str
    old: Any
    new: Any
    safe: bool
    note: str = ""

    def line(self) -> str:
        note = self.note or ("safe to change" if self.safe else "not safe to change mid-campaign")
        return f"  {self.key}: {_show(self.old)} -> {_show(self.new)}   ({note})"


_MISSING = "<absent>"


def _show(value: Any) -> str:
    return value if value is _MISSING else repr(value)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested TOML data as dotted keys; lists stay whole values."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def is_safe(config: Any, key: str) -> bool:
    """Whether the field at dotted ``key`` of ``config`` is declared ``safe_to_change``."""
    node = config
    meta: Any = {}
    for part in key.split("."):
        if not dataclasses.is_dataclass(node):
            return bool(meta.get("safe_to_change"))
        fields = {f.name: f for f in dataclasses.fields(node)}
        if part not in fields:
            return False
        meta = fields[part].metadata
        if meta.get("safe_to_change"):
            return True
        node = getattr(node, part)
    return bool(meta.get("safe_to_change"))


def normalised(old: dict[str, Any]) -> dict[str, Any]:
    """Resolved TOML data in today's shape: validated again (keys of earlier releases mapped,
    :mod:`alearn.config.legacy`; defaults added since filled in); as it is when it no longer
    validates (the diff then shows why)."""
    from alearn.config.campaign import parse_campaign
    from alearn.errors import UserError

    try:
        return to_dict(parse_campaign(old))
    except UserError:
        return old


def diff(old: dict[str, Any], new: Any) -> list[Change]:
    """Changed keys between resolved TOML data ``old`` and the configuration ``new``."""
    a, b = flatten(normalised(old)), flatten(to_dict(new))
    changes = []
    for key in sorted(set(a) | set(b)):
        before, after = a.get(key, _MISSING), b.get(key, _MISSING)
        if before != after:
            changes.append(Change(key, before, after, is_safe(new, key)))
    return changes


JOBS_DIR_KEY = "dispatch.jobs_dir"


def _jobs_folder(value: Any, root: Path) -> Path:
    return root / "jobs" if value is _MISSING else Path(value)


def _job_names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()


def judge_jobs_dir(change: Change, root: Path) -> Change:
    """A change of ``[dispatch] jobs_dir`` is safe only when the new folder already holds every
    job directory of the old one (the user moved them): otherwise finished calculations would
    not be found and would run again."""
    if change.key != JOBS_DIR_KEY:
        return change
    old, new = _jobs_folder(change.old, root), _jobs_folder(change.new, root)
    missing = _job_names(old) - _job_names(new)
    if not missing:
        return dataclasses.replace(change, safe=True,
                                   note=f"safe: {new} holds every job directory of {old}")
    return dataclasses.replace(change, safe=False, note=(
        f"not safe: {len(missing)} job directories of {old} are not in {new}; move them there "
        "first, or finished calculations would run again"))


def describe(changes: list[Change]) -> str:
    """The diff as lines for an error message."""
    return "\n".join(change.line() for change in changes)
