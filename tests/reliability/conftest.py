"""Fixtures of the reliability tests: size-limited and read-only file systems, fake codes.

A size-limited file system is a tmpfs mounted for the test (root only: anyone else gets the
test skipped with the reason); a read-only directory is that tmpfs remounted read-only
(permission bits mean nothing to root, so a read-only mount is the honest test).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parents[1] / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))


@pytest.fixture(autouse=True)
def _fakes_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Child processes (workers, the isolation helper, alearn itself) import the fakes too."""
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", f"{FAKES}{os.pathsep}{path}" if path else str(FAKES))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


class SmallDisk:
    """A tmpfs of a given size; :meth:`fill` leaves a chosen number of bytes free."""

    def __init__(self, root: Path, size: int) -> None:
        self.root, self.size = root, size
        self.filler = root / ".filler"

    def free(self) -> int:
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave: int) -> None:
        """Write a filler file so that about ``leave`` bytes stay free."""
        self.filler.unlink(missing_ok=True)
        with open(self.filler, "wb") as handle:
            block = b"\0" * 4096
            while self.free() > leave + len(block):
                try:
                    handle.write(block)
                    handle.flush()
                except OSError:
                    break

    def release(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self, on: bool = True) -> None:
        _mount(["-o", f"remount,{'ro' if on else 'rw'}", str(self.root)])


def _mount(args: list[str]) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise OSError(result.stderr.strip() or f"mount {' '.join(args)} failed")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], SmallDisk]]:
    """``small_disk(bytes)`` mounts a tmpfs of that size under ``tmp_path``."""
    if os.geteuid() != 0:
        pytest.skip(f"a size-limited file system needs root to mount a tmpfs (uid {os.geteuid()})")
    mounted: list[Path] = []

    def make(size: int) -> SmallDisk:
        root = tmp_path / f"disk{len(mounted)}"
        root.mkdir()
        try:
            _mount(["-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(root)])
        except OSError as exc:
            pytest.skip(f"cannot mount a tmpfs here: {exc}")
        mounted.append(root)
        return SmallDisk(root, size)

    yield make
    for root in reversed(mounted):
        subprocess.run(["umount", "-l", str(root)], capture_output=True, timeout=30)
