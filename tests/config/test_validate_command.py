"""``alearn validate``: a summary on success, exit 2 and one clear line on error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alearn.cli import main


def test_validate_prints_summary(campaign_file, capsys: pytest.CaptureFixture[str]) -> None:
    path = campaign_file("[model]\nkind = \"gpr\"\n")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: valid campaign 'test'" in out
    assert "reference:  fake" in out
    assert "model:      gpr" in out
    assert "structures: 2 in 1 file(s); elements H, O" in out
    assert "initial:    rattle" in out


def test_validate_reads_the_select_keys_of_earlier_releases(campaign_file, capsys) -> None:
    path = campaign_file('[select]\nmeasure = "relative_force_std"\nforce_floor_eV_A = 0.5\n'
                         'diversity = "kmeans"\n')
    assert main(["validate", str(path)]) == 0
    from alearn.config.campaign import load_campaign

    select = load_campaign(path).select
    assert select.measure.floor_eV_A == 0.5 and select.selector.kind == "kmeans"


def test_validate_error_exits_2_without_traceback(campaign_file,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = campaign_file("[select.trust]\nlo = 0.5\nhi = 0.1\n")
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"alearn: error: {path}: [select.trust.hi] found 0.1")
    assert "Traceback" not in captured.err


def test_validate_in_a_fresh_process_has_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[campaign]\nname = \n")
    result = subprocess.run([sys.executable, "-m", "alearn", "validate", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "is not valid TOML" in result.stderr and "line 2" in result.stderr
    assert "Traceback" not in result.stderr
