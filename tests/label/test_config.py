"""[dispatch] and [reference.profile]: validation, defaults, and the campaign's [reference]."""

from __future__ import annotations

from pathlib import Path

import pytest

from alearn.config.dispatch import DispatchConfig, Profile, science_params
from alearn.config.schema import ConfigError, build, to_dict
from alearn.label.registry import calculator_params
from alearn.label.runner import _with_modules


def test_profile_argv_fills_the_launcher_template() -> None:
    profile = build(Profile, {"launcher": "srun -n {ranks} -c {threads}", "ranks": 8,
                              "threads_per_rank": 2, "command": "pw.x -nk 2"}, path="p")
    assert profile.argv("ignored") == ["srun", "-n", "8", "-c", "2", "pw.x", "-nk", "2"]
    assert Profile().argv("pw.x") == ["pw.x"]
    assert profile.environment()["OMP_NUM_THREADS"] == "2"


def test_bad_launcher_template_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[reference.profile.launcher\].*\{ranks\}"):
        build(Profile, {"launcher": "srun -n {cores}"}, file=tmp_path / "c.toml",
              path="reference.profile")


def test_reference_section_with_profile_and_science_params() -> None:
    params = build(calculator_params()["xtb"],
                   {"kind": "xtb", "method": "GFN1-xTB",
                    "profile": {"isolate": True, "env": {"A": "1"}}}, path="reference")
    assert params.profile.isolate and params.profile.env == {"A": "1"}
    science = science_params(params)
    assert "profile" not in science and science["method"] == "GFN1-xTB"
    assert to_dict(params)["profile"]["isolate"] is True
    with pytest.raises(ConfigError, match=r"\[reference.profile.ranks\]"):
        build(calculator_params()["xtb"], {"kind": "xtb", "profile": {"ranks": 0}},
              path="reference")


def test_dispatch_defaults_and_concurrency() -> None:
    assert DispatchConfig().concurrency == 2
    assert DispatchConfig(engine="inprocess").concurrency == 1
    assert DispatchConfig(workers=4, max_concurrent=3).concurrency == 3
    with pytest.raises(ConfigError, match=r"\[dispatch.engine\]"):
        build(DispatchConfig, {"engine": "kubernetes"}, path="dispatch")


def test_modules_are_loaded_through_a_login_shell() -> None:
    argv = _with_modules(["pw.x"], Profile(modules=("qe/7.2", "openmpi")))
    assert argv[:2] == ["bash", "-lc"] and "module load qe/7.2 openmpi" in argv[2]
    assert argv[-1] == "pw.x"
    assert _with_modules(["pw.x"], Profile()) == ["pw.x"]
