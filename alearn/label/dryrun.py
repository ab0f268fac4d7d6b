"""What a campaign would run, in shell form: ``alearn run --dry-run`` prints it.

For a file-based code this is the exact command of one calculation (modules, environment, the
launcher-wrapped argv and its redirections, as the dispatcher runs it in an attempt directory);
for an in-process calculator it says so.  For a batch-system engine it adds the pilot job script.
"""

from __future__ import annotations

import shlex
from typing import Any

from alearn.config.dispatch import DispatchConfig, Profile
from alearn.label.protocol import STDERR, STDOUT
from alearn.label.registry import make_calculator

BATCH_ENGINES = ("slurm", "pbs", "lsf")


def shell_lines(profile: Profile, argv: list[str], stdout_name: str = STDOUT,
                stderr_name: str = STDERR) -> list[str]:
    """Modules, environment, then the argv with stdout and stderr to files (as dispatched)."""
    lines = [f"module load {' '.join(profile.modules)}"] if profile.modules else []
    lines += [f"export {key}={shlex.quote(value)}" for key, value in profile.environment().items()]
    lines.append(f"{shlex.join(argv)} > {stdout_name} 2> {stderr_name}")
    return lines


def calculation_lines(params: Any) -> list[str]:
    """The shell lines one reference calculation with these [reference] parameters runs."""
    calculator = make_calculator(params)
    argv = calculator.command(params.profile)
    if argv is None:
        return [f"# '{params.kind}' runs inside the worker process (no external command)"]
    return shell_lines(params.profile, argv)


def dry_run_text(params: Any, dispatch: DispatchConfig) -> str:
    """The per-calculation command and, for Slurm/PBS/LSF, the pilot job script."""
    parts = ["# each reference calculation runs, in its jobs/<hash>/attempt_NN/ directory:",
             *calculation_lines(params)]
    if dispatch.engine in BATCH_ENGINES:
        from alearn.label.hpc import SCHEDULER_PLACEHOLDER, job_script

        parts += ["", f"# pilot job script ({dispatch.engine}, submitted by dask-jobqueue; "
                      f"{SCHEDULER_PLACEHOLDER} is the controller's address, set when it starts):",
                  job_script(dispatch).rstrip()]
    return "\n".join(parts) + "\n"
