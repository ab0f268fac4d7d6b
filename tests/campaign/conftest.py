"""Fixtures of the campaign tests: a tiny campaign file driven by fake stage parts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

TINY = """\
[campaign]
name = "tiny"
seed = 7

[reference]
kind = "emt"

[select]
budget = 3

[initial]
copies = 6

[evaluate]
test_fraction = 0.25

[stop]
max_iterations = 3
"""


@pytest.fixture
def tiny_toml(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path
