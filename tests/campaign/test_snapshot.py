"""Snapshots: commit, verification, tamper and truncation detection, the parent chain."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from alearn.files import read_json, write_json_atomic
from alearn.campaign.layout import CampaignDir, CampaignLock
from alearn.campaign.snapshot import (SnapshotError, clear_stale_staging, commit, verify,
                                      verify_all)
from alearn.errors import UserError


def _make(layout: CampaignDir, iteration: int, parent: dict | None = None) -> dict:
    staging = layout.staging(iteration)
    (staging / "model").mkdir(parents=True)
    (staging / "model" / "weights.bin").write_bytes(bytes(range(256)) * 4)
    write_json_atomic(staging / "progress.json", {"stages": {}})
    body = {"parent": parent["iteration"] if parent else None,
            "parent_manifest_sha256": parent["manifest_sha256"] if parent else None}
    return commit(layout, iteration, body)


@pytest.fixture
def layout(tmp_path: Path) -> CampaignDir:
    layout = CampaignDir(tmp_path / "c")
    layout.create()
    return layout


def test_commit_renames_staging_and_lists_every_file(layout: CampaignDir) -> None:
    manifest = _make(layout, 0)
    assert not layout.staging(0).exists() and layout.snapshot(0).is_dir()
    assert set(manifest["files"]) == {"model/weights.bin", "progress.json"}
    assert verify(layout.snapshot(0)) == manifest
    mode = (layout.snapshot(0) / "model" / "weights.bin").stat().st_mode
    assert not mode & stat.S_IWUSR


def test_snapshot_is_never_overwritten(layout: CampaignDir) -> None:
    _make(layout, 0)
    layout.staging(0).mkdir()
    with pytest.raises(SnapshotError, match="never overwritten"):
        commit(layout, 0, {})


def _tamper(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(data)


def test_modified_model_file_is_detected(layout: CampaignDir) -> None:
    _make(layout, 0)
    _tamper(layout.snapshot(0) / "model" / "weights.bin", b"\0" * 1024)
    with pytest.raises(SnapshotError, match="modified model/weights.bin"):
        verify(layout.snapshot(0))


def test_truncated_file_is_detected(layout: CampaignDir) -> None:
    _make(layout, 0)
    path = layout.snapshot(0) / "model" / "weights.bin"
    _tamper(path, path.read_bytes()[:100])
    with pytest.raises(SnapshotError, match="tampered with or truncated"):
        verify(layout.snapshot(0))


def test_missing_and_extra_files_are_detected(layout: CampaignDir) -> None:
    _make(layout, 0)
    (layout.snapshot(0) / "progress.json").unlink()
    (layout.snapshot(0) / "intruder.txt").write_text("x")
    with pytest.raises(SnapshotError) as info:
        verify(layout.snapshot(0))
    assert "missing progress.json" in str(info.value) and "unexpected intruder.txt" in str(info.value)


def test_edited_manifest_is_detected(layout: CampaignDir) -> None:
    _make(layout, 0)
    path = layout.snapshot(0) / "manifest.json"
    manifest = read_json(path)
    manifest["metrics"] = {"test": {"force_rmse_eV_A": 0.0}}
    os.chmod(path, 0o644)
    write_json_atomic(path, manifest)
    with pytest.raises(SnapshotError, match="modified after it was written"):
        verify(layout.snapshot(0))


def test_snapshot_without_manifest_is_reported(layout: CampaignDir) -> None:
    _make(layout, 0)
    (layout.snapshot(0) / "manifest.json").unlink()
    with pytest.raises(SnapshotError, match="incomplete or truncated"):
        verify_all(layout)


def test_chain_verification_and_gaps(layout: CampaignDir) -> None:
    first = _make(layout, 0)
    second = _make(layout, 1, first)
    assert [m["iteration"] for m in verify_all(layout)] == [0, 1]
    _make(layout, 3, second)
    with pytest.raises(SnapshotError, match="0002 is missing"):
        verify_all(layout)


def test_wrong_parent_is_detected(layout: CampaignDir) -> None:
    _make(layout, 0)
    _make(layout, 1, {"iteration": 0, "manifest_sha256": "0" * 64})
    with pytest.raises(SnapshotError, match="parent checksum mismatch"):
        verify_all(layout)


def test_stale_staging_is_cleared_but_current_kept(layout: CampaignDir) -> None:
    layout.staging(1).mkdir()
    layout.staging(4).mkdir()
    removed = clear_stale_staging(layout, keep=1)
    assert removed == [layout.staging(4)] and layout.staging(1).is_dir()


def test_lock_refuses_a_second_run(layout: CampaignDir) -> None:
    with CampaignLock(layout.lock_file):
        with pytest.raises(UserError, match="another 'alearn run'"):
            with CampaignLock(layout.lock_file):
                pass
    with CampaignLock(layout.lock_file):
        pass
