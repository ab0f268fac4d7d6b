"""Generated malformed campaign files and structure files: every one is a clear answer (exit 0,
1 or 2, a message naming the file), never a traceback, never a damaged store.

Configs are a valid campaign with random damage (keys removed, leaves replaced by values of
the wrong type, empty or huge, injection strings, unknown keys, broken TOML); structure files
are labelled extended XYZ with random damage (bad counts, unknown elements, NaN, absurd
energies, truncation, binary junk).  The default suite draws 150 of each, the slow suite 600.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import tomli_w
from ase.build import molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alearn.cli import main

VALID = {
    "campaign": {"name": "m", "seed": 1, "structures": ["w.xyz"]},
    "reference": {"kind": "emt", "profile": {"modules": ["qe/7.2"], "env": {"A": "1"}}},
    "dispatch": {"engine": "local", "workers": 2, "walltime": "01:00:00", "memory": "4GB"},
    "explore": {"walkers": 2, "stages": [{"temperature_K": 300.0, "steps": 50}]},
    "initial": {"copies": 4, "rattle_std_A": 0.05},
    "select": {"budget": 3},
    "store": {"max_force_eV_A": 500.0},
    "stop": {"max_iterations": 2},
}
NASTY = st.one_of(
    st.just(""), st.just(" "), st.just("foo; touch MARKER; #"), st.just("$(reboot)"),
    st.just("08:00:00x"), st.just("\n#SBATCH --evil"), st.just("Xx"), st.just("../../etc"),
    st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1), st.just(10 ** 18), st.just(-1),
    st.floats(allow_nan=False, allow_infinity=False), st.just(1e300), st.just(-0.0),
    st.booleans(), st.text(max_size=20), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=2))


def _paths(table: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for key, value in table.items():
        out.append(prefix + (key,))
        if isinstance(value, dict):
            out += _paths(value, prefix + (key,))
    return out


@st.composite
def damaged_configs(draw: st.DrawFn) -> str:
    import copy

    config = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(config)
        path = draw(st.sampled_from(paths))
        parent = config
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "remove", "unknown"]))
        if action == "remove":
            parent.pop(path[-1], None)
        elif action == "unknown":
            parent[draw(st.text(alphabet="abcdefxyz_", min_size=1, max_size=8))] = 1
        else:
            parent[path[-1]] = draw(NASTY)
    text = tomli_w.dumps(config)
    if draw(st.integers(0, 9)) == 0:  # sometimes not even TOML
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["[[[", "= =", "\x00", "\"unterminated"]))
    return text


@st.composite
def damaged_structures(draw: st.DrawFn, clean: str) -> str:
    lines = clean.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["count", "element", "number", "energy", "drop",
                                       "truncate", "junk"]))
        words = lines[index].split()
        if action == "count":
            lines[index] = str(draw(st.integers(-3, 50)))
        elif action == "element" and words:
            lines[index] = " ".join([draw(st.sampled_from(["Xx", "h", "Q", "", "Ooo"])), *words[1:]])
        elif action == "number" and len(words) > 1:
            words[draw(st.integers(1, len(words) - 1))] = draw(
                st.sampled_from(["nan", "inf", "-inf", "1e999", "x", "1e6", "--1"]))
            lines[index] = " ".join(words)
        elif action == "energy":
            lines[index] = lines[index].replace("energy=", f"energy={draw(st.sampled_from(['1e6', 'nan', 'x', '']))}#")
        elif action == "drop":
            lines.pop(index)
        elif action == "truncate":
            lines = lines[:index]
        else:
            lines.insert(index, draw(st.text(max_size=30)))
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("malformed")
    write(root / "w.xyz", molecule("H2O"))
    return root


def clean_extxyz(root: Path) -> str:
    frames = []
    for k in range(3):
        atoms = molecule("H2O")
        atoms.positions[0, 0] += 0.01 * k
        atoms.calc = SinglePointCalculator(atoms, energy=-14.2 - 0.01 * k,
                                           forces=[[0.1 * k, 0, 0], [0, 0, 0], [0, 0, 0]])
        frames.append(atoms)
    path = root / "clean.xyz"
    write(path, frames, format="extxyz")
    return path.read_text()


def answers_clearly(capsys: pytest.CaptureFixture, argv: list[str]) -> int:
    status = main(argv)
    captured = capsys.readouterr()
    assert status in (0, 1, 2), (argv, status)
    assert "Traceback" not in captured.err + captured.out
    if status == 2:
        assert "alearn: error:" in captured.err
    return status


def check_configs(workdir: Path, capsys: pytest.CaptureFixture, text: str) -> None:
    path = workdir / "c.toml"
    path.write_text(text, encoding="utf-8")
    if answers_clearly(capsys, ["validate", str(path)]) == 0:
        assert text.startswith("[campaign]") or "[campaign]" in text


def check_structures(workdir: Path, capsys: pytest.CaptureFixture, text: str) -> None:
    path = workdir / "s.xyz"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    store = workdir / "s.db"
    answers_clearly(capsys, ["import", str(path), "--into", str(store), "--quiet"])
    with sqlite3.connect(store) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        energies = [e for (e,) in connection.execute("SELECT energy FROM systems")]
    assert all(abs(e) < 1e5 for e in energies), "an absurd energy was stored"


SHORT = settings(max_examples=150, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
LONG = settings(SHORT, max_examples=600)


@SHORT
@given(text=damaged_configs())
def test_damaged_campaign_files(workdir, capsys, text) -> None:
    check_configs(workdir, capsys, text)


@SHORT
@given(data=st.data())
def test_damaged_structure_files(workdir, capsys, data) -> None:
    check_structures(workdir, capsys, data.draw(damaged_structures(clean_extxyz(workdir))))


@pytest.mark.slow
@LONG
@given(text=damaged_configs())
def test_damaged_campaign_files_long(workdir, capsys, text) -> None:
    check_configs(workdir, capsys, text)


@pytest.mark.slow
@LONG
@given(data=st.data())
def test_damaged_structure_files_long(workdir, capsys, data) -> None:
    check_structures(workdir, capsys, data.draw(damaged_structures(clean_extxyz(workdir))))
