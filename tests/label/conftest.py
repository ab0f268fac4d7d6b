"""Fixtures of the label tests: the fakes folder on PYTHONPATH and PATH, stores, helpers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parents[1] / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))


@pytest.fixture(autouse=True)
def _fakes_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask workers and child processes import ``fakecalc`` too, and find the fake launchers."""
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", f"{FAKES}{os.pathsep}{path}" if path else str(FAKES))
    monkeypatch.setenv("PATH", f"{FAKES / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture
def store(tmp_path: Path):
    from alearn.data.store import Store

    with Store.open(tmp_path / "store.db") as opened:
        yield opened
