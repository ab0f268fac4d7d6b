"""Malformed campaign files: each error names the file, the exact key path and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from alearn.config.campaign import load_campaign
from alearn.config.schema import ConfigError

# (id, TOML appended to a valid base, base?, expected key path, fragments of the message)
CASES = [
    ("typo-section", "[selct]\nbudget = 3\n", True, "selct", ["is not a valid section here", "did you mean 'select'", "valid sections: campaign, reference"]),
    ("typo-key", "[store]\nmin_distance = 0.4\n", True, "store.min_distance", ["did you mean 'min_distance_A'", "valid keys: url, min_distance_A"]),
    ("typo-nested-key", "[select.trust]\nhii = 0.5\n", True, "select.trust.hii", ["did you mean 'hi'"]),
    ("typo-campaign-key", "", False, "campaign.nmae", ["did you mean 'name'"]),
    ("string-for-number", "[store]\nmin_distance_A = \"small\"\n", True, "store.min_distance_A", ["found string 'small'", "expected a number"]),
    ("float-for-integer", "", False, "campaign.seed", ["found number 1.5", "expected an integer"]),
    ("bool-for-number", "[select.trust]\nhi = true\n", True, "select.trust.hi", ["found boolean true", "expected a number"]),
    ("integer-for-string", "[store]\nurl = 5\n", True, "store.url", ["found integer 5", "expected a string"]),
    ("out-of-bounds-gt-unit", "[store]\nmin_distance_A = 0.0\n", True, "store.min_distance_A", ["found 0.0", "greater than 0.0 Å"]),
    ("out-of-bounds-ge", "", False, "campaign.seed", ["found -1", "at least 0"]),
    ("nan", "[store]\nmin_distance_A = nan\n", True, "store.min_distance_A", ["found nan", "finite number"]),
    ("infinity", "[store]\nmin_distance_A = inf\n", True, "store.min_distance_A", ["found inf", "finite number"]),
    ("hi-below-lo", "[select.trust]\nlo = 0.5\nhi = 0.2\n", True, "select.trust.hi", ["found 0.2", "greater than lo (0.5)"]),
    ("hi-equals-lo", "[select.trust]\nlo = 0.3\nhi = 0.3\n", True, "select.trust.hi", ["greater than lo (0.3)"]),
    ("missing-name", "", False, "campaign.name", ["is required", "expected a string", "campaign name"]),
    ("missing-campaign", "", False, "campaign", ["is required", "expected a table"]),
    ("missing-reference", "", False, "reference", ["is required", "expected a table"]),
    ("missing-kind", "", False, "reference.kind", ["is required", "one of 'broken', 'fake'"]),
    ("unknown-kind", "", False, "reference.kind", ["found string 'fkae'", "did you mean 'fake'"]),
    ("unknown-model-kind", "[model]\nkind = \"comittee\"\n", True, "model.kind", ["did you mean 'committee'", "'gpr'"]),
    ("kind-not-string", "", False, "reference.kind", ["found integer 3", "expected one of"]),
    ("plugin-key-typo", "", False, "reference.acuracy", ["for kind = 'fake'", "did you mean 'accuracy'"]),
    ("plugin-literal-typo", "", False, "reference.method", ["found string 'GFN2-xtb'", "did you mean 'GFN2-xTB'"]),
    ("plugin-bound", "", False, "reference.accuracy", ["found -1.0", "greater than 0.0"]),
    ("plugin-not-loadable", "", False, "reference.kind", ["'broken' cannot be loaded"]),
    ("section-not-table", "", False, "select", ["found integer 3", "expected a table"]),
    ("plugin-not-table", "", False, "reference", ["found integer 3", "expected a table with a 'kind' key"]),
    ("plugin-shorthand-unknown", "", False, "reference.kind", ["found string 'xtb'", "expected one of 'broken', 'fake'"]),
    ("structures-not-list", "", False, "campaign.structures", ["found string 'water.xyz'", "expected a list of file paths"]),
    ("structures-item-type", "", False, "campaign.structures[0]", ["found integer 1", "expected a file path"]),
    ("structures-missing-file", "", False, "campaign.structures[1]", ["'", "missing.xyz' does not exist", "relative paths"]),
    ("structures-unparsable", "", False, "campaign.structures[0]", ["garbage.xyz", "could not be read as structures by ase.io.read"]),
    ("structures-empty-file", "", False, "campaign.structures[0]", ["empty.xyz"]),
    ("structures-directory", "", False, "campaign.structures[0]", ["is a directory"]),
    ("element-not-covered", "[descriptor]\nelements = [\"O\"]\n", True, "descriptor.elements", ["does not cover H", "water.xyz"]),
    ("plugin-elements-not-covered", "", False, "reference.elements", ["does not cover O", "add them to reference.elements"]),
    ("element-symbol-invalid", "", False, "reference.elements[1]", ["found 'h'", "chemical symbol"]),
    ("no-geometries-for-rattle", "", False, "campaign.structures", ["is empty", "initial.source = 'rattle'"]),
    ("dataset-unparsable", "[initial]\nsource = \"dataset\"\ndataset = \"garbage.xyz\"\n", True, "initial.dataset", ["could not be read"]),
    ("dataset-missing", "[initial]\nsource = \"dataset\"\ndataset = \"nothere.extxyz\"\n", True, "initial.dataset", ["does not exist"]),
    ("stage-out-of-bounds", "[[explore.stages]]\ntemperature_K = -5.0\n", True, "explore.stages[0].temperature_K", ["found -5.0", "greater than 0.0 K"]),
]

# files whose whole text replaces the base (base = False)
WHOLE = {
    "typo-campaign-key": '[campaign]\nnmae = "x"\n[reference]\nkind = "fake"\n',
    "float-for-integer": '[campaign]\nname = "x"\nseed = 1.5\nstructures = ["water.xyz"]\n[reference]\nkind = "fake"\n',
    "out-of-bounds-ge": '[campaign]\nname = "x"\nseed = -1\nstructures = ["water.xyz"]\n[reference]\nkind = "fake"\n',
    "missing-name": '[campaign]\nstructures = ["water.xyz"]\n[reference]\nkind = "fake"\n',
    "missing-campaign": '[reference]\nkind = "fake"\n',
    "missing-reference": '[campaign]\nname = "x"\nstructures = ["water.xyz"]\n',
    "missing-kind": '[campaign]\nname = "x"\nstructures = ["water.xyz"]\n[reference]\naccuracy = 1.0\n',
    "unknown-kind": '[campaign]\nname = "x"\nstructures = ["water.xyz"]\n[reference]\nkind = "fkae"\n',
    "kind-not-string": '[campaign]\nname = "x"\nstructures = ["water.xyz"]\n[reference]\nkind = 3\n',
    "plugin-key-typo": '[campaign]\nname = "x"\nstructures = ["water.xyz"]\n[reference]\nkind = "fake"\nacuracy = 2.0\n',
    "plugin-literal-typo": '[campaign]\nname = "x"\nstructures = ["water.xyz"]\n[reference]\nkind = "fake"\nmethod = "GFN2-xtb"\n',
    "plugin-bound": '[campaign]\nname = "x"\nstructures = ["water.xyz"]\n[reference]\nkind = "fake"\naccuracy = -1.0\n',
    "plugin-not-loadable": '[campaign]\nname = "x"\nstructures = ["water.xyz"]\n[reference]\nkind = "broken"\n',
    "plugin-not-table": 'reference = 3\n[campaign]\nname = "x"\nstructures = ["water.xyz"]\n',
    "plugin-shorthand-unknown": 'reference = "xtb"\n[campaign]\nname = "x"\nstructures = ["water.xyz"]\n',
    "section-not-table": 'select = 3\n[campaign]\nname = "x"\nstructures = ["water.xyz"]\n[reference]\nkind = "fake"\n',
    "structures-not-list": '[campaign]\nname = "x"\nstructures = "water.xyz"\n[reference]\nkind = "fake"\n',
    "structures-item-type": '[campaign]\nname = "x"\nstructures = [1]\n[reference]\nkind = "fake"\n',
    "structures-missing-file": '[campaign]\nname = "x"\nstructures = ["water.xyz", "missing.xyz"]\n[reference]\nkind = "fake"\n',
    "structures-unparsable": '[campaign]\nname = "x"\nstructures = ["garbage.xyz"]\n[reference]\nkind = "fake"\n',
    "structures-empty-file": '[campaign]\nname = "x"\nstructures = ["empty.xyz"]\n[reference]\nkind = "fake"\n',
    "structures-directory": '[campaign]\nname = "x"\nstructures = ["subdir"]\n[reference]\nkind = "fake"\n',
    "plugin-elements-not-covered": '[campaign]\nname = "x"\nstructures = ["water.xyz"]\n[reference]\nkind = "fake"\nelements = ["H"]\n',
    "element-symbol-invalid": '[campaign]\nname = "x"\nstructures = ["water.xyz"]\n[reference]\nkind = "fake"\nelements = ["O", "h"]\n',
    "no-geometries-for-rattle": '[campaign]\nname = "x"\n[reference]\nkind = "fake"\n',
}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_malformed_campaign_names_key_and_expectation(case, campaign_file, tmp_path: Path) -> None:
    name, text, base, key, fragments = case
    (tmp_path / "garbage.xyz").write_text("this is\nnot a structure file\n\x00\x01\n")
    (tmp_path / "empty.xyz").write_text("")
    (tmp_path / "subdir").mkdir()
    path = campaign_file(WHOLE.get(name, text), base=base)
    with pytest.raises(ConfigError) as info:
        load_campaign(path)
    error = info.value
    assert error.key == key, str(error)
    assert error.file == str(path)
    message = str(error)
    assert message.startswith(f"{path}: [{key}] ")
    for fragment in fragments:
        assert fragment in message, message


def test_at_least_thirty_malformed_configurations() -> None:
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("text, line", [
    ('[campaign]\nname = "x"\nseed = \n', 3),
    ('[campaign]\nname = "x\n', 2),
    ('[campaign]\nname = "x"\n[campaign]\nseed = 1\n', 3),
    ('[campaign\nname = "x"\n', 1),
])
def test_toml_syntax_error_names_the_line(text: str, line: int, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_campaign(path)
    assert info.value.key == ""
    assert "is not valid TOML" in str(info.value)
    assert f"line {line}" in str(info.value)
    assert str(info.value).startswith(str(path))


def test_missing_campaign_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_campaign(tmp_path / "nothere.toml")


def test_campaign_path_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_campaign(tmp_path)


def test_campaign_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[campaign]\nname = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_campaign(path)
