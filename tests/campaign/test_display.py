"""Progress displays: plain lines off a terminal, live bars on one, nothing when quiet."""

from __future__ import annotations

import io
import re

from rich.console import Console

from alearn.campaign.display import LiveDisplay, PlainDisplay, QuietDisplay, format_facts, make_display


def test_choice_of_display() -> None:
    assert isinstance(make_display(Console(file=io.StringIO())), PlainDisplay)
    assert isinstance(make_display(Console(file=io.StringIO(), force_terminal=True)), LiveDisplay)
    assert isinstance(make_display(Console(file=io.StringIO()), quiet=True), QuietDisplay)


def test_plain_display_writes_a_line_per_tenth_with_iteration_and_facts() -> None:
    out = io.StringIO()
    display = make_display(Console(file=out))
    display.iteration(2, 4)
    display.stage("explore")
    bar = display.bar("MD steps", 400, "steps")
    for k in range(40):
        bar.advance(10, T_K=300.0 + k, sigma=0.12)
    bar.close()
    display.event("walker 1 stopped: failed frame")
    lines = out.getvalue().splitlines()
    assert lines[0] == "iteration 2 of 4: explore"
    assert len(lines) == 1 + 11 + 1 and all(line.startswith("iteration 2 of 4: ") for line in lines)
    assert lines[-2].startswith("iteration 2 of 4: MD steps: 400/400 steps (") and "T 339 K · σ 0.12" in lines[-2]
    assert "ETA" in lines[5] and "\x1b" not in out.getvalue() and "" not in lines


def test_live_display_keeps_finished_bars_on_screen() -> None:
    out = io.StringIO()
    display = make_display(Console(file=out, force_terminal=True, width=140))
    display.iteration(1, None)
    display.stage("train")
    bar = display.bar("epochs", 5, "epochs")
    for k in range(5):
        bar.advance(1, loss=0.1 / (k + 1))
    display.close()
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.getvalue())
    assert "iteration 1" in text and "5/5 epochs" in text and "loss 0.02" in text


def test_facts_are_formatted_with_units() -> None:
    assert format_facts({"loss": 0.0123456, "T_K": 299.6, "failed": 2, "x": None}) == "loss 0.01235 · T 300 K · failed 2"
