"""Check a report in headless Chromium: every figure decodes, and a full-page screenshot.

The report itself has no script; :func:`check_images` loads a copy with a small script that
writes, once the page has loaded, how many ``<img>`` elements decoded (``naturalWidth > 0``)
and the page height into ``<body data-check=...>``, read back through ``--dump-dom``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const good = images.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.check = `images=${images.length} decoded=${good} height=${document.documentElement.scrollHeight}`;
});
</script>"""


@dataclass(frozen=True)
class PageCheck:
    images: int
    decoded: int
    height_px: int


def chromium() -> str | None:
    """The Chromium executable on PATH, if any."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str]) -> str:
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("no chromium on PATH (apt-get install chromium)")
    base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--virtual-time-budget=10000"]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=120, check=True).stdout


def check_images(page: Path, width_px: int = 1280) -> PageCheck:
    """Load ``page`` (with the probe script added) and count its decoded images."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                         encoding="utf-8")
        dom = _run([f"--window-size={width_px},900", "--dump-dom", probe.as_uri()])
    found = re.search(r'data-check="images=(\d+) decoded=(\d+) height=(\d+)"', dom)
    if found is None:
        raise RuntimeError("the page's load event never ran in Chromium")
    return PageCheck(*(int(g) for g in found.groups()))


def screenshot(page: Path, out: Path, width_px: int = 1280) -> PageCheck:
    """A full-page PNG screenshot of ``page`` (its height measured first)."""
    check = check_images(page, width_px)
    _run([f"--window-size={width_px},{check.height_px}", f"--screenshot={Path(out).resolve()}",
          Path(page).resolve().as_uri()])
    return check
