"""Every command's ``--help`` has a description and at least one example."""

from __future__ import annotations

import argparse

import pytest

from alearn.cli import build_parser, main


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,), sub
                yield from _commands(sub, path + (name,))


COMMANDS = list(_commands(build_parser()))


def test_every_command_is_walked() -> None:
    names = {path[0] for path, _ in COMMANDS}
    assert {"run", "status", "report", "export", "import", "export-data", "lammps"} <= names


@pytest.mark.parametrize("path,parser", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_has_description_and_example(path, parser, capsys) -> None:
    assert parser.description and len(parser.description.split()) >= 8, path
    assert parser.formatter_class is argparse.RawDescriptionHelpFormatter, path
    epilog = parser.epilog or ""
    assert epilog.lstrip().startswith("example"), path
    example_lines = [line.strip() for line in epilog.splitlines()[1:] if line.strip()]
    assert any(line.startswith("alearn " + " ".join(path)) for line in example_lines), path
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert parser.description.split("\n")[0].strip() in out and "example" in out
