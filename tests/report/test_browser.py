"""The report of a real (tiny EMT) campaign opened in headless Chromium: every figure decodes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alearn.cli import main
from alearn.report.browser import check_images, chromium, screenshot

DATA = Path(__file__).parents[1] / "campaign" / "data"


@pytest.mark.slow
@pytest.mark.skipif(chromium() is None, reason="needs chromium (apt-get install chromium)")
def test_every_figure_of_the_report_loads_in_chromium(tmp_path: Path) -> None:
    for name in ("tiny-emt.toml", "cu4.xyz"):
        shutil.copy(DATA / name, tmp_path / name)
    assert main(["run", str(tmp_path / "tiny-emt.toml"), "--dir", str(tmp_path / "run"), "--quiet"]) == 0
    page = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "run"), "--out", str(page)]) == 0
    check = check_images(page)
    assert check.images == page.read_text().count("<img ") >= 11
    assert check.decoded == check.images
    shot = screenshot(page, tmp_path / "report.png")
    assert shot.height_px > 2000
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")
