"""docs/config.md is generated from the schema and must be current; every key is documented."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import get_args

from alearn.config.campaign import Campaign
from alearn.config.docs import DOCS_PATH, render
from alearn.config.schema import section_fields
from alearn.errors import UserError


def test_committed_reference_is_up_to_date() -> None:
    assert DOCS_PATH.exists(), "run: python -m alearn.config.docs --write"
    assert DOCS_PATH.read_text(encoding="utf-8") == render(), (
        "docs/config.md is out of date: run python -m alearn.config.docs --write")


def _sections(cls: type, path: str) -> Iterator[tuple[str, type]]:
    yield path, cls
    for f, tp in section_fields(cls):
        kinds = f.metadata.get("kinds")
        if kinds is not None:
            mapping = kinds()
            for kind in mapping:
                try:
                    yield from _sections(mapping[kind], f"{path}.{f.name}[{kind}]")
                except UserError:  # a plugin that cannot be imported here
                    continue
            continue
        for candidate in (tp, *get_args(tp)):
            if dataclasses.is_dataclass(candidate):
                yield from _sections(candidate, f"{path}.{f.name}")


def test_every_key_has_a_doc_string() -> None:
    missing = [f"{path}.{f.name}" for path, cls in _sections(Campaign, "campaign")
               for f, _ in section_fields(cls) if not f.metadata.get("doc")]
    assert missing == []


def test_reference_lists_every_section_and_key() -> None:
    page = render()
    for f, _ in section_fields(Campaign):
        assert f"## [{f.name}]" in page
    for key in ("`min_distance_A`", "`structures`", "`hi`", "`kind`"):
        assert key in page
    assert "| `min_distance_A` | a number | `0.5` | Å | > 0.0 |" in page


def test_rendering_is_deterministic() -> None:
    assert render() == render()


def test_a_shared_sub_table_is_documented_once_and_linked() -> None:
    page = render()
    assert page.count("### [reference.profile]") == 1
    anchor = page.split('<a id="', 1)[1].split('"', 1)[0] if '<a id="' in page else ""
    links = page.count(f"(#{anchor})")
    assert anchor.startswith("shared-reference-profile") and links >= 5
    headings = [line for line in page.splitlines() if line.startswith("### [") and " kind = " not in line]
    assert len(headings) == len(set(headings)), "a sub-table repeated instead of linked"
