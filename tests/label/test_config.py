"""[dispatch] and [reference.profile]: validation, defaults, and the campaign's [reference]."""

from __future__ import annotations

import re
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


@pytest.mark.parametrize("raw, key", [
    ({"modules": ["foo; touch MARKER; #"]}, "modules[0]"),
    ({"modules": ["qe/7.2", "$(reboot)"]}, "modules[1]"),
    ({"env": {"BAD NAME": "x"}}, "env.BAD NAME"),
    ({"command": "pw.x 'unbalanced"}, "command"),
    ({"ranks": 10**9}, "ranks"),
])
def test_profile_values_that_could_reach_a_shell_are_refused(raw, key) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"[reference.profile.{key}]")):
        build(Profile, raw, path="reference.profile")


def test_module_names_are_quoted_and_the_code_passed_as_arguments(tmp_path: Path) -> None:
    """Even a module name that slipped past validation could not run a command: the names are
    shell-quoted, and the code's own argv never enters the shell text."""
    marker = tmp_path / "MARKER"
    argv = _with_modules(["echo", f"; touch {marker}"],
                         Profile(modules=(f"x; touch {marker}; #",)))
    assert argv[:2] == ["bash", "-lc"]
    assert "'x; touch" in argv[2] and argv[-1] == f"; touch {marker}"
    good = _with_modules(["pw.x"], build(Profile, {"modules": ["intel/2023.1", "qe/7.2-mpi"]},
                                          path="p"))
    assert good[2].startswith("module load intel/2023.1 qe/7.2-mpi && exec")


@pytest.mark.parametrize("raw, key", [
    ({"walltime": ""}, "walltime"), ({"walltime": "08:00:00x"}, "walltime"),
    ({"walltime": "8h"}, "walltime"), ({"walltime": "00:00:00"}, "walltime"),
    ({"memory": ""}, "memory"), ({"memory": "lots"}, "memory"), ({"memory": "4"}, "memory"),
    ({"queue": "debug\n#SBATCH --x"}, "queue"), ({"account": "a b"}, "account"),
    ({"job_directives": ["--constraint=cpu\nrm -rf ~"]}, "job_directives[0]"),
    ({"workers": 10**6}, "workers"), ({"attempts": 0}, "attempts"),
    ({"scheduler_address": "somewhere"}, "scheduler_address"),
])
def test_dispatch_formats_and_bounds(raw, key) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"[dispatch.{key}]")):
        build(DispatchConfig, raw, path="dispatch")


def test_dispatch_formats_that_are_accepted() -> None:
    config = build(DispatchConfig, {"walltime": "48:00:00", "memory": "500 MiB",
                                    "queue": "gpu-a100", "account": "chem123"}, path="dispatch")
    assert config.walltime == "48:00:00" and config.max_crashes == 3
