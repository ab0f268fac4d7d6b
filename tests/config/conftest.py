"""Fixtures of the config tests: a fake reference plugin and a writer of campaign files."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from ase.build import molecule
from ase.io import write

from alearn.config.schema import option
from alearn.errors import UserError


@dataclass(frozen=True)
class FakeParams:
    """[reference] kind = "fake" — a reference plugin that exists only in these tests."""

    kind: Literal["fake"] = option("fake", doc="reference code")
    method: Literal["GFN1-xTB", "GFN2-xTB"] = option("GFN2-xTB", doc="method")
    accuracy: float = option(1.0, doc="numerical accuracy", gt=0.0)
    elements: tuple[str, ...] = option((), doc="elements the method is parametrised for")


class _Kinds(Mapping[str, type]):
    """Like the real registry: one broken plugin raises a UserError when it is asked for."""

    def __init__(self) -> None:
        self._names = ("broken", "fake")

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __getitem__(self, name: str) -> type:
        if name == "broken":
            raise UserError("reference calculator 'broken' cannot be loaded: ModuleNotFoundError")
        if name == "fake":
            return FakeParams
        raise KeyError(name)


@pytest.fixture()
def fake_reference_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """[reference] offers the kinds 'fake' and 'broken' in these tests, whatever is installed."""
    import alearn.registry as registry

    real = registry.schemas
    monkeypatch.setattr(registry, "schemas",
                        lambda role: _Kinds() if role is registry.CALCULATORS else real(role))


@pytest.fixture()
def water_file(tmp_path: Path) -> Path:
    """Two water molecules in an extended XYZ file."""
    path = tmp_path / "water.xyz"
    first, second = molecule("H2O"), molecule("H2O")
    second.positions += 0.05
    write(path, [first, second], format="extxyz")
    return path


BASE = """\
[campaign]
name = "test"
structures = ["water.xyz"]

[reference]
kind = "fake"
"""


@pytest.fixture()
def campaign_file(tmp_path: Path, water_file: Path,
                  fake_reference_plugins: None) -> Callable[[str], Path]:
    """Write a campaign file: ``make(extra)`` appends TOML to a valid base (``base=False``: only
    the given text)."""

    def make(text: str = "", base: bool = True) -> Path:
        path = tmp_path / "campaign.toml"
        body = (BASE + "\n" if base else "") + textwrap.dedent(text)
        path.write_text(body, encoding="utf-8")
        return path

    return make
