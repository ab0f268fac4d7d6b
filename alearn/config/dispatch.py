"""[dispatch] — where reference calculations run — and the shared base of every [reference].

Three pieces live here:

* :class:`Profile` — the ``[reference.profile]`` sub-table: *where and how* a code runs on one
  machine (executable, MPI launcher template, ranks, environment, pseudopotential / species
  folders).  It is not part of the job hash: moving a campaign to another machine does not
  invalidate finished calculations.
* :class:`ReferenceParams` — the base class every calculator plugin's ``Params`` derives from;
  it contributes the ``profile`` field.  Science parameters (everything but ``profile``) go into
  the job hash.
* :class:`DispatchConfig` — the ``[dispatch]`` section: engine, workers, attempts, timeouts and
  the batch-system options of dask-jobqueue pilot jobs.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alearn.config.schema import Invalid, option

EngineKind = Literal["local", "inprocess", "slurm", "pbs", "lsf", "scheduler"]

#: an environment-module name: letters, digits and . _ + / : @ % = , - (no shell syntax)
MODULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+/:@%=,-]*$")
#: an environment variable name
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: a batch-system word (queue, account, network interface): no spaces, quotes or shell syntax
BATCH_WORD = re.compile(r"^[A-Za-z0-9_.:+@/-]*$")
#: wall time as hours:minutes:seconds (hours may exceed 24)
WALLTIME = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)$")
#: memory as dask-jobqueue reads it: a number and a unit (kB MB GB TB PB, or KiB MiB GiB ...)
MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtTpP])(i?)[bB]?\s*$")
_UNIT_POWER = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def memory_bytes(text: str) -> int | None:
    """Bytes of a memory size such as ``'4GB'``, ``'500 MiB'`` (``None``: not one)."""
    match = MEMORY.match(text)
    if match is None:
        return None
    value, unit, binary = match.groups()
    return int(float(value) * (1024 if binary else 1000) ** _UNIT_POWER[unit.lower()])


def _control_characters(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


@dataclass(frozen=True)
class Profile:
    """[reference.profile] — where and how a file-based code runs on this machine (not the science).

    ``launcher`` is a template such as ``"srun -n {ranks}"`` or ``"mpirun -np {ranks}"``; the
    fields ``{ranks}``, ``{nodes}`` and ``{threads}`` (threads per rank) are filled in.  An empty
    launcher runs the executable directly.
    """

    command: str = option("", doc="the code's executable and arguments (empty: the plugin's default, e.g. 'pw.x')")
    launcher: str = option("", doc="MPI launcher template, e.g. 'srun -n {ranks}' or 'mpirun -np {ranks}' (empty: no launcher)")
    ranks: int = option(1, doc="MPI ranks of one calculation ({ranks} in the launcher)", ge=1, le=1_000_000)
    nodes: int = option(1, doc="nodes of one calculation ({nodes} in the launcher)", ge=1, le=100_000)
    threads_per_rank: int = option(1, doc="OpenMP threads per rank (sets OMP_NUM_THREADS of the code)", ge=1, le=4096)
    walltime_s: float | None = option(None, doc="wall-clock limit of one attempt on this machine (overrides [dispatch] timeout_s)", unit="s", gt=0.0)
    env: dict[str, str] = option(factory=dict, doc="extra environment variables of the code")
    modules: tuple[str, ...] = option((), doc="environment modules loaded (module load ...) before the code runs; names only (letters, digits, . _ + / : @ % = , -), quoted before they reach the shell")
    species_dir: Path | None = option(None, doc="FHI-aims species defaults folder")
    pseudo_dir: Path | None = option(None, doc="pseudopotential folder (Quantum ESPRESSO, VASP POTCARs)")
    isolate: bool = option(True, doc="run each calculation of an in-process calculator (xtb, pyscf, emt, ase...) in a process of its own, forked from a warm helper: a crash, an exit or a hang of the code becomes a recorded failure (with the timeout) instead of taking the worker or the controller down; false saves a few ms per calculation, but then a death of the process running the calculation counts against max_crashes")

    def check(self) -> None:
        try:
            filled = self.launcher.format(ranks=1, nodes=1, threads=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise Invalid("launcher", f"{self.launcher!r} is not a valid template ({exc}); "
                          "use only {ranks}, {nodes} and {threads}") from None
        for key, text in (("launcher", filled), ("command", self.command)):
            try:
                shlex.split(text)
            except ValueError as exc:
                raise Invalid(key, f"{text!r} cannot be split into words ({exc}); it is run "
                              "as a list of arguments, never through a shell") from None
        for index, name in enumerate(self.modules):
            if not MODULE_NAME.match(name):
                raise Invalid(f"modules[{index}]", f"found {name!r}, expected a module name "
                              "(letters, digits and . _ + / : @ % = , -; no spaces or shell "
                              "syntax), e.g. 'qe/7.2'")
        for name, value in self.env.items():
            if not ENV_NAME.match(name):
                raise Invalid(f"env.{name}", "is not an environment variable name (letters, "
                              "digits and _, not starting with a digit)")
            if "\0" in value:
                raise Invalid(f"env.{name}", "contains a NUL character")

    def argv(self, default_command: str) -> list[str]:
        """The full argv: launcher (filled in) followed by the code's command."""
        launcher = self.launcher.format(ranks=self.ranks, nodes=self.nodes,
                                        threads=self.threads_per_rank)
        return shlex.split(launcher) + shlex.split(self.command or default_command)

    def environment(self) -> dict[str, str]:
        """Variables added to the code's environment."""
        return {"OMP_NUM_THREADS": str(self.threads_per_rank), **self.env}


@dataclass(frozen=True, kw_only=True)
class ReferenceParams:
    """Base of every calculator plugin's ``Params``: the machine profile sub-table.

    A plugin declares ``@dataclass(frozen=True, kw_only=True) class Params(ReferenceParams)``
    with a ``kind: Literal["name"]`` field and its science parameters.
    """

    profile: Profile = option(factory=Profile, doc="where and how the code runs on this machine (not part of the job hash)")


def science_params(params: Any) -> dict[str, Any]:
    """The parameters that define *what* is computed: everything but ``profile``."""
    from alearn.config.schema import to_dict

    data = to_dict(params)
    data.pop("profile", None)
    return data


@dataclass(frozen=True)
class DispatchConfig:
    """The engine that runs reference calculations."""

    engine: EngineKind = option("local", doc="local: Dask LocalCluster on 127.0.0.1; inprocess: this process, one at a time; slurm/pbs/lsf: dask-jobqueue pilot jobs; scheduler: connect to a running Dask scheduler")
    workers: int = option(2, doc="worker processes (local) or pilot jobs (slurm/pbs/lsf)", ge=1, le=4096)
    max_concurrent: int | None = option(None, doc="calculations in flight at once (default: the number of workers)", ge=1, le=100_000)
    attempts: int = option(3, doc="attempts per calculation, counted from its job directory (survives restarts); attempts cut short by a kill of the controller or of a worker do not count", ge=1, le=100)
    max_crashes: int = option(3, doc="times one calculation may kill the process it runs in (a signal, an exit without a result, running out of memory) before it is failed; counted apart from attempts", ge=1, le=100)
    timeout_s: float = option(3600.0, doc="wall-clock limit of one attempt; the whole process group is killed", unit="s", gt=0.0, le=31_536_000.0)
    jobs_dir: Path | None = option(None, doc="folder of the job directories, relative to the TOML file or absolute, e.g. on a scratch file system (default: jobs/ in the campaign directory; for 'alearn label', jobs/ beside the store); a campaign refuses a change unless the new folder holds every job directory of the old one")
    scheduler_address: str = option("", doc="address of a running Dask scheduler (engine 'scheduler'), e.g. 'tcp://10.0.0.5:8786'")
    cores_per_job: int = option(1, doc="CPU cores requested per pilot job (the MPI ranks of one calculation)", ge=1, le=1_000_000)
    memory: str = option("4GB", doc="memory per pilot job: a number and a unit, e.g. '4GB', '500MiB', '16 GB'")
    walltime: str = option("01:00:00", doc="wall time of a pilot job (HH:MM:SS, hours may exceed 24)")
    queue: str = option("", doc="batch queue / partition of the pilot jobs")
    account: str = option("", doc="account / project charged for the pilot jobs")
    job_directives: tuple[str, ...] = option((), doc="extra batch directives, e.g. ['--constraint=cpu'] (without the #SBATCH prefix)")
    prologue: tuple[str, ...] = option((), doc="shell lines run in a pilot job before its worker starts, e.g. ['module load qe/7.2']")
    interface: str = option("", doc="network interface workers and scheduler use (dask-jobqueue), e.g. 'ib0'")
    local_directory: str = option("", doc="worker scratch folder inside pilot jobs (default: the batch system's)")

    def check(self) -> None:
        if self.engine == "scheduler" and not self.scheduler_address:
            raise Invalid("scheduler_address", "is required when engine = 'scheduler' "
                          "(the address printed by 'dask scheduler', e.g. 'tcp://host:8786')")
        if self.scheduler_address and not re.match(r"^[a-z]+://\S+$", self.scheduler_address):
            raise Invalid("scheduler_address", f"found {self.scheduler_address!r}, expected an "
                          "address such as 'tcp://10.0.0.5:8786'")
        match = WALLTIME.match(self.walltime)
        if match is None or not any(int(part) for part in match.groups()):
            raise Invalid("walltime", f"found {self.walltime!r}, expected a positive time "
                          "HH:MM:SS, e.g. '04:00:00' or '48:00:00'")
        size = memory_bytes(self.memory)
        if size is None or size < 1_000_000:
            raise Invalid("memory", f"found {self.memory!r}, expected a size of at least 1 MB "
                          "with its unit, e.g. '4GB', '500MiB' or '16 GB'")
        for key in ("queue", "account", "interface"):
            value = getattr(self, key)
            if not BATCH_WORD.match(value):
                raise Invalid(key, f"found {value!r}, expected one word (letters, digits and "
                              "_ . : + @ / -), as the batch system names it")
        if _control_characters(self.local_directory):
            raise Invalid("local_directory", "contains a line break or control character")
        for index, line in enumerate(self.job_directives):
            if not line.strip() or _control_characters(line):
                raise Invalid(f"job_directives[{index}]", f"found {line!r}, expected one "
                              "non-empty directive line (it is written after #SBATCH/#PBS/#BSUB)")

    @property
    def concurrency(self) -> int:
        """How many calculations the dispatcher keeps in flight."""
        if self.max_concurrent is not None:
            return self.max_concurrent
        return 1 if self.engine == "inprocess" else self.workers


__all__ = ["DispatchConfig", "EngineKind", "Profile", "ReferenceParams", "science_params"]
