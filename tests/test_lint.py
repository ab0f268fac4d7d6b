"""The code base stays free of undefined names, unused imports/variables and syntax errors
(ruff rules F and E9; ruff comes with the ``dev`` extra)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_no_errors() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--select", "F,E9", "--no-cache",
                             "alearn", "calculators", "tests", "benchmarks"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
