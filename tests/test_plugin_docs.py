"""docs/plugins.md shows the tested plugins: every code block naming a file of the test
distribution is that file, unchanged."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_example_in_the_plugin_guide_is_the_tested_file() -> None:
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:python|ini)\n# (tests/plugins/site/\S+)\n(.*?)```", text, re.S)
    assert len(blocks) == 7                      # six plugins and the entry points
    for path, body in blocks:
        assert body == (ROOT / path).read_text(encoding="utf-8"), f"docs/plugins.md: {path} differs"
