"""Package-level contracts: the public API, the console entry points and the CLI's promises."""

from __future__ import annotations

import subprocess
import sys

import pytest

import alearn
from alearn.cli import COMMAND_MODULES, build_parser, main


def test_public_api_is_sorted_and_importable() -> None:
    assert list(alearn.__all__) == sorted(alearn.__all__)
    for name in alearn.__all__:
        assert getattr(alearn, name) is not None, name


def test_version_flag_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"alearn {alearn.__version__}"


def test_every_command_module_registers_a_handler() -> None:
    parser = build_parser()
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    assert actions, "no sub-commands registered"
    commands = actions[0].choices
    assert len(commands) >= len(COMMAND_MODULES)
    for name, sub in commands.items():
        assert sub.get_default("handler") is not None, name
        assert sub.description or sub.format_help(), name


def test_python_dash_m_matches_console_script() -> None:
    result = subprocess.run([sys.executable, "-m", "alearn", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0
    assert "alearn grows a machine-learning interatomic potential" in result.stdout
