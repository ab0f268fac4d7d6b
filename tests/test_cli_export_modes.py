"""Exported files get the umask's mode (0644 under the usual 022), never a temp file's 0600."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from alearn.files import current_umask, honour_umask, write_json_atomic

sys.path.insert(0, str(Path(__file__).parent / "campaign"))
from conftest import write_tiny  # noqa: E402
from fakeparts import make  # noqa: E402


def _modes(root: Path) -> set[int]:
    return {stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*") if p.is_file()}


def test_umask_is_read_without_changing_it() -> None:
    before = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert current_umask() == 0o027
    finally:
        os.umask(before)


def test_atomic_write_then_honour_umask(tmp_path: Path) -> None:
    path = tmp_path / "provenance.json"
    write_json_atomic(path, {"a": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600   # mkstemp's mode: why exports need this
    before = os.umask(0o027)
    try:
        honour_umask(path)
    finally:
        os.umask(before)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_export_follows_the_umask(tmp_path: Path) -> None:
    from alearn.campaign.export import export_model
    from alearn.campaign.loop import run_campaign

    toml = write_tiny(tmp_path)
    toml.write_text(toml.read_text().replace("max_iterations = 3", "max_iterations = 1"))
    run_campaign(toml, directory=tmp_path / "run", parts_factory=make)
    before = os.umask(0o022)
    try:
        out = export_model(tmp_path / "run", tmp_path / "model")
        assert (out / "provenance.json").is_file() and _modes(out) == {0o644}
        os.umask(0o027)
        out = export_model(tmp_path / "run", tmp_path / "model-027")
        assert _modes(out) == {0o640}
    finally:
        os.umask(before)
