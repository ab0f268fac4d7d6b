"""``alearn run``'s progress plumbing: stages announce themselves on the display, stage bars go
through it, plain output off a terminal is one line per event with no blank lines."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from rich.console import Console

from alearn.campaign.display import PlainDisplay, make_display
from alearn.campaign.loop import run_campaign
from alearn.campaign.parts import StageProgress

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from fakeparts import make  # noqa: E402


def test_stage_progress_through_a_plain_display_knows_its_total_late() -> None:
    out = io.StringIO()
    display = PlainDisplay(out)
    display.iteration(1, 3)
    with StageProgress(display, None, "training") as bar:
        for epoch in range(1, 21):
            bar.report(epoch, 20, loss=1.0 / epoch)
    with StageProgress(display, 4, "labelling") as bar:
        for _ in range(4):
            bar.advance(failed=0)
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("iteration 1 of 3: training: 2/20 (") and "ETA" in lines[1]
    assert lines[10].startswith("iteration 1 of 3: training: 20/20 (") and "loss 0.05" in lines[10]
    assert lines[-1].startswith("iteration 1 of 3: labelling: 4/4 (") and "failed 0" in lines[-1]
    assert all(line.strip() for line in lines)


def test_campaign_announces_iteration_k_of_n_and_every_stage_once(tiny_toml: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    display = make_display(Console(file=out))
    outcome = run_campaign(tiny_toml, directory=tmp_path / "run", parts_factory=make, console=display)
    assert outcome.ran == outcome.iterations == 4
    lines = out.getvalue().splitlines()
    assert lines[:7] == [f"iteration 0 of 3: {s}" for s in ("initial", "augment", "train", "evaluate")] + [
        "iteration 1 of 3: explore", "iteration 1 of 3: validate",
        "iteration 1 of 3: select"]
    assert sum(line.endswith(": evaluate") for line in lines) == 4
    assert all(line.strip() for line in lines) and "\x1b" not in out.getvalue()
    again = run_campaign(tiny_toml, directory=tmp_path / "run", parts_factory=make, console=display)
    assert again.ran == 0 and again.iterations == 4
