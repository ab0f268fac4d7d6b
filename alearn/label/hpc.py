"""dask-jobqueue pilot jobs for ``[dispatch] engine = "slurm" | "pbs" | "lsf"``.

A pilot job is one batch job that runs one Dask worker with one task slot; it reserves
``cores_per_job`` cores, and each calculation it runs starts its MPI ranks inside the allocation
through the profile's launcher template (``srun -n {ranks}``, ``mpirun -np {ranks}``).  The
controller submits ``workers`` such jobs; a calculation that dies with its job (wall time, node
failure) is retried elsewhere, its job directory counting the attempt.
"""

from __future__ import annotations

import re
from typing import Any

from alearn.config.dispatch import DispatchConfig
from alearn.errors import UserError

#: no dashboard; the scheduler's remaining HTTP routes (health, metrics) only on loopback
NO_DASHBOARD = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}

_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "lsf": "LSFCluster"}


def jobqueue_kwargs(config: DispatchConfig) -> dict[str, Any]:
    """The keyword arguments of the dask-jobqueue cluster class for ``config``."""
    kwargs: dict[str, Any] = {
        "cores": 1, "processes": 1, "memory": config.memory, "walltime": config.walltime,
        "job_name": "alearn-pilot", "job_extra_directives": list(config.job_directives),
        "job_script_prologue": ["export OMP_NUM_THREADS=1", *config.prologue],
        "scheduler_options": dict(NO_DASHBOARD),
    }
    if config.queue:
        kwargs["queue"] = config.queue
    if config.account:
        kwargs["project" if config.engine == "lsf" else "account"] = config.account
    if config.interface:
        kwargs["interface"] = config.interface
    if config.local_directory:
        kwargs["local_directory"] = config.local_directory
    kwargs.update(_cores_request(config))
    return kwargs


def _cores_request(config: DispatchConfig) -> dict[str, Any]:
    """How each batch system is told the pilot job's core count (Dask itself uses one slot)."""
    n = config.cores_per_job
    if config.engine == "slurm":
        return {"job_cpu": n}
    if config.engine == "pbs":
        return {"resource_spec": f"select=1:ncpus={n}:mem={config.memory}"}
    hours, minutes = config.walltime.split(":")[:2]
    return {"ncpus": n, "walltime": f"{hours}:{minutes}"}


def jobqueue_cluster(config: DispatchConfig, **overrides: Any) -> Any:
    """A dask-jobqueue cluster (not yet scaled) for ``config``."""
    try:
        import dask_jobqueue
    except ImportError:
        raise UserError(f"[dispatch] engine = '{config.engine}' needs dask-jobqueue: "
                        "pip install 'alearn[hpc]'") from None
    cls = getattr(dask_jobqueue, _CLASSES[config.engine])
    kwargs = jobqueue_kwargs(config)
    kwargs.update(overrides)
    return cls(**kwargs)


#: stands for the scheduler's address in a rendered job script (known only once a run starts)
SCHEDULER_PLACEHOLDER = "tcp://SCHEDULER"


def job_script(config: DispatchConfig, **overrides: Any) -> str:
    """The batch script of one pilot job (``alearn label --show-job-script``, ``--dry-run``).

    dask-jobqueue renders a script only around a live scheduler, so a throw-away one is started
    on loopback and closed at once; its address is replaced by :data:`SCHEDULER_PLACEHOLDER`.
    """
    options = {**NO_DASHBOARD, "host": "127.0.0.1"}
    cluster = jobqueue_cluster(config, **{"scheduler_options": options, **overrides})
    try:
        return re.sub(r"tcp://127\.0\.0\.1:\d+", SCHEDULER_PLACEHOLDER, cluster.job_script())
    finally:
        cluster.close()
