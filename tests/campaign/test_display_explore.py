"""The explore bar of a real tiny campaign (EMT Cu₄, trained committee) moves per MD step: its
total is walkers × steps and it reports step counts between 0 and that total, with the current
temperature and uncertainty, on the inprocess engine and on a Dask LocalCluster (walkers in
worker processes, heard through their heartbeat files).  Off a terminal the explore stage writes
at most a line per tenth."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from alearn.campaign.display import make_display
from alearn.campaign.loop import run_campaign
from alearn.explore import heartbeat

DATA = Path(__file__).parent / "data"


class Recording:
    """A Display that keeps every bar's updates (description → [(completed, facts)]) and
    passes everything on to ``inner`` (a real display) when given."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner or make_display(None)
        self.bars: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self.totals: dict[str, int] = {}

    def iteration(self, number: int, total: int | None) -> None:
        self.inner.iteration(number, total)

    def stage(self, name: str) -> None:
        self.inner.stage(name)

    def event(self, text: str) -> None:
        self.inner.event(text)

    def close(self) -> None:
        self.inner.close()

    def bar(self, description: str, total: int, unit: str = "") -> "_Bar":
        self.totals[description] = total
        return _Bar(self.bars.setdefault(description, []), self.inner.bar(description, total, unit))


class _Bar:
    def __init__(self, updates: list, inner: Any) -> None:
        self.updates, self.inner = updates, inner

    def update(self, completed: int, **facts: Any) -> None:
        self.updates.append((completed, facts))
        self.inner.update(completed, **facts)

    def advance(self, n: int = 1, **facts: Any) -> None:
        self.updates.append(((self.updates[-1][0] if self.updates else 0) + n, facts))
        self.inner.advance(n, **facts)

    def close(self) -> None:
        self.inner.close()


def _campaign(tmp: Path, steps: int, dispatch: str) -> Path:
    shutil.copy(DATA / "cu4.xyz", tmp / "cu4.xyz")
    text = (DATA / "tiny-emt.toml").read_text()
    text = text.replace("steps = 60", f"steps = {steps}").replace("max_iterations = 2", "max_iterations = 1")
    text = text.replace('engine = "inprocess"', dispatch)
    (tmp / "tiny.toml").write_text(text)
    return tmp / "tiny.toml"


def _explore_updates(display: Recording) -> tuple[int, list[tuple[int, dict[str, Any]]]]:
    [name] = [d for d in display.bars if "exploring" in d]
    return display.totals[name], display.bars[name]


@pytest.fixture(scope="module")
def inprocess(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, str]:
    """One iteration of the tiny campaign on the inprocess engine, recorded and shown as plain
    lines (a beat at every judged frame)."""
    tmp = tmp_path_factory.mktemp("explore-bar")
    out = io.StringIO()
    display = Recording(make_display(Console(file=out)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(heartbeat, "INTERVAL_S", 0.0)
        run_campaign(_campaign(tmp, 60, 'engine = "inprocess"'), directory=tmp / "run",
                     console=display)
    return display, out.getvalue()


def test_explore_bar_moves_per_md_step_inprocess(inprocess: tuple[Recording, str]) -> None:
    total, updates = _explore_updates(inprocess[0])
    steps = [done for done, _ in updates]
    assert total == 2 * 60 and steps[-1] == total and steps == sorted(steps)
    # every judged frame (every 10 steps) of both walkers, not just 0 and the total
    assert {10, 20, 30, 40, 50, 70, 80, 90, 100, 110} <= set(steps)
    middle = [facts for done, facts in updates if 0 < done < total]
    assert all(f["T_K"] > 0 and f["sigma"] >= 0 for f in middle)


@pytest.mark.slow
def test_explore_bar_moves_per_md_step_on_a_dask_local_cluster(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(heartbeat, "INTERVAL_S", 0.0)     # carried to the workers by each task
    monkeypatch.setattr(heartbeat, "POLL_S", 0.02)
    display = Recording()
    run_campaign(_campaign(tmp_path, 1500, 'engine = "local"\nworkers = 2'),
                 directory=tmp_path / "run", console=display)
    total, updates = _explore_updates(display)
    steps = [done for done, _ in updates]
    assert total == 2 * 1500 and steps[-1] == total and steps == sorted(steps)
    middle = [(done, facts) for done, facts in updates if 0 < done < total]
    assert len(middle) >= 3, steps                          # heard from worker processes
    assert all(f["T_K"] > 0 and "sigma" in f for _, f in middle)


def test_plain_output_of_the_explore_stage_is_a_line_per_tenth(inprocess: tuple[Recording, str]) -> None:
    text = inprocess[1]
    lines = [line for line in text.splitlines() if "exploring" in line]
    counts = [int(re.search(r": (\d+)/120 steps", line).group(1)) for line in lines]
    assert 3 <= len(lines) <= 11 and counts[-1] == 120 and counts == sorted(counts)
    assert any(0 < c < 120 for c in counts) and all("ETA" in line for line in lines[:-1])
    assert "T " in lines[-2] and "σ " in lines[-2] and "\x1b" not in text
    assert all(line.startswith("iteration 1 of 1: exploring: ") for line in lines)
