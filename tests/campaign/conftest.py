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
structures = ["cu.xyz"]

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


def write_tiny(directory: Path) -> Path:
    """The tiny campaign file and its initial geometry (bulk fcc Cu, 4 atoms) in ``directory``."""
    from ase.build import bulk
    from ase.io import write

    write(directory / "cu.xyz", bulk("Cu", "fcc", a=3.6, cubic=True))
    path = directory / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture
def tiny_toml(tmp_path: Path) -> Path:
    return write_tiny(tmp_path)
