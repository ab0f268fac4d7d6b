"""[dispatch] — where reference calculations run — and the shared [reference] options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from alearn.config.schema import option


@dataclass(frozen=True)
class DispatchConfig:
    """The engine that runs reference calculations."""

    engine: Literal["local", "inprocess", "slurm", "pbs", "lsf", "scheduler"] = option("local", doc="local: Dask LocalCluster; inprocess: this process; slurm/pbs/lsf: dask-jobqueue; scheduler: connect to a running Dask scheduler")
    workers: int = option(2, doc="concurrent calculations", ge=1)
    attempts: int = option(3, doc="attempts per calculation (survives restarts)", ge=1)
    timeout_s: float = option(3600.0, doc="wall-clock limit of one attempt", unit="s", gt=0.0)
