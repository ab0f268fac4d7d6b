"""Fixtures of the LAMMPS tests (helpers in lammpshelp.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:      # appended: other test folders import their own 'conftest'
    sys.path.append(str(HERE))

from lammpshelp import save_committee  # noqa: E402


@pytest.fixture
def committee_dir(tmp_path: Path) -> Path:
    return save_committee(tmp_path / "model")
