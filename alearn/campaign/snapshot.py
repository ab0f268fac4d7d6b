"""Immutable iteration snapshots: built in staging, checksummed, renamed into place.

``manifest.json`` is written last; it lists every other file of the snapshot with its
sha256 and carries a checksum of itself (``manifest_sha256``), so a tampered, truncated or
half-copied snapshot is detected by :func:`verify` and never silently used.
"""

from __future__ import annotations

import os
import shutil
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from alearn.files import (canonical_json, fsync_dir, read_json, sha256_file,
                                   sha256_text, write_json_atomic)
from alearn.campaign.layout import CampaignDir
from alearn.errors import UserError

MANIFEST = "manifest.json"
FORMAT = 1


class SnapshotError(UserError):
    """A snapshot that fails verification."""


def file_checksums(directory: Path) -> dict[str, str]:
    """sha256 of every file below ``directory`` except the manifest, by relative POSIX path."""
    sums = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != MANIFEST:
            sums[path.relative_to(directory).as_posix()] = sha256_file(path)
    return sums


def seal(body: dict[str, Any]) -> dict[str, Any]:
    """The manifest with its own checksum added."""
    body = {k: v for k, v in body.items() if k != "manifest_sha256"}
    return {**body, "manifest_sha256": sha256_text(canonical_json(body))}


def commit(layout: CampaignDir, iteration: int, body: dict[str, Any]) -> dict[str, Any]:
    """Seal the staging directory of ``iteration`` and rename it into ``iterations/NNNN``."""
    staging, final = layout.staging(iteration), layout.snapshot(iteration)
    if final.exists():
        raise SnapshotError(f"snapshot {final} exists already; snapshots are never overwritten")
    manifest = seal({**body, "format": FORMAT, "iteration": iteration,
                     "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "files": file_checksums(staging)})
    write_json_atomic(staging / MANIFEST, manifest)
    _read_only(staging)
    os.rename(staging, final)
    fsync_dir(final.parent)
    return manifest


def _read_only(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def verify(path: Path) -> dict[str, Any]:
    """Check a snapshot against its manifest; return the manifest or raise :class:`SnapshotError`."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise SnapshotError(f"snapshot {path} has no {MANIFEST}: it is incomplete or truncated; "
                            "restore it from a backup or delete it (and every later snapshot) to redo that iteration")
    try:
        manifest = read_json(manifest_path)
    except ValueError as exc:
        raise SnapshotError(f"{manifest_path} is not valid JSON ({exc}): the snapshot is damaged") from None
    if seal(manifest).get("manifest_sha256") != manifest.get("manifest_sha256"):
        raise SnapshotError(f"{manifest_path} was modified after it was written (checksum mismatch)")
    _check_files(path, manifest.get("files", {}))
    return manifest


def _check_files(path: Path, expected: dict[str, str]) -> None:
    present = file_checksums(path)
    missing = sorted(set(expected) - set(present))
    extra = sorted(set(present) - set(expected))
    changed = sorted(k for k in set(expected) & set(present) if expected[k] != present[k])
    problems = ([f"missing {', '.join(missing)}"] if missing else []) + \
               ([f"modified {', '.join(changed)}"] if changed else []) + \
               ([f"unexpected {', '.join(extra)}"] if extra else [])
    if problems:
        raise SnapshotError(f"snapshot {path} does not match its manifest: " + "; ".join(problems)
                            + "; it was tampered with or truncated and will not be used")


def verify_all(layout: CampaignDir) -> list[dict[str, Any]]:
    """Verify every snapshot and the parent chain; the manifests in iteration order."""
    manifests: list[dict[str, Any]] = []
    for expected, iteration in enumerate(layout.snapshots()):
        if iteration != expected:
            raise SnapshotError(f"snapshot {layout.snapshot(expected)} is missing "
                                f"(found {layout.snapshot(iteration).name} after it)")
        manifest = verify(layout.snapshot(iteration))
        parent = manifests[-1]["manifest_sha256"] if manifests else None
        if manifest.get("parent_manifest_sha256") != parent:
            raise SnapshotError(f"snapshot {layout.snapshot(iteration)} does not belong to the "
                                "snapshot before it (parent checksum mismatch)")
        manifests.append(manifest)
    return manifests


def clear_stale_staging(layout: CampaignDir, keep: int | None) -> list[Path]:
    """Delete staging directories other than the one of iteration ``keep``."""
    removed = []
    for path in layout.stagings():
        if keep is None or path != layout.staging(keep):
            shutil.rmtree(path)
            removed.append(path)
    return removed
