"""Where everything of a campaign lives inside its directory."""

from __future__ import annotations

import fcntl
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from alearn.errors import UserError

SNAPSHOT_NAME = re.compile(r"^\d{4}$")
STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class CampaignDir:
    """The campaign directory (DESIGN.md, "Durability").

    ``campaign.toml`` is the file as the user gave it, ``resolved.toml`` every default filled
    in, ``store.db`` the labelled structures, ``jobs/`` one directory per reference
    calculation (or ``jobs_dir``, ``[dispatch] jobs_dir`` when set, e.g. on scratch),
    ``iterations/NNNN/`` the immutable snapshots (built in ``iterations/.staging-NNNN/``),
    ``logs/`` the run logs.
    """

    root: Path
    jobs_dir: Path | None = None

    @property
    def toml(self) -> Path:
        return self.root / "campaign.toml"

    @property
    def resolved(self) -> Path:
        return self.root / "resolved.toml"

    @property
    def jobs(self) -> Path:
        return self.jobs_dir if self.jobs_dir is not None else self.root / "jobs"

    @property
    def iterations(self) -> Path:
        return self.root / "iterations"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    def snapshot(self, iteration: int) -> Path:
        return self.iterations / f"{iteration:04d}"

    def staging(self, iteration: int) -> Path:
        return self.iterations / f"{STAGING_PREFIX}{iteration:04d}"

    def snapshots(self) -> list[int]:
        """Iteration numbers of the snapshot directories present, ascending."""
        if not self.iterations.is_dir():
            return []
        return sorted(int(p.name) for p in self.iterations.iterdir()
                      if p.is_dir() and SNAPSHOT_NAME.match(p.name))

    def stagings(self) -> list[Path]:
        if not self.iterations.is_dir():
            return []
        return sorted(p for p in self.iterations.iterdir() if p.name.startswith(STAGING_PREFIX))

    def create(self) -> None:
        for path in (self.root, self.jobs, self.iterations, self.logs):
            path.mkdir(parents=True, exist_ok=True)

    def is_campaign(self) -> bool:
        return self.toml.is_file() and self.iterations.is_dir()

    def require(self) -> None:
        if not self.is_campaign():
            raise UserError(f"{self.root} is not a campaign directory (no campaign.toml and "
                            "iterations/ inside); give the directory 'alearn run' created")


class CampaignLock:
    """An exclusive lock on a campaign directory: one ``alearn run`` at a time.

    The lock is an ``flock`` on ``.lock``; the kernel drops it when the process dies, so a
    killed run never leaves a stale lock behind.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[str] | None = None

    def __enter__(self) -> "CampaignLock":
        self.handle = self.path.open("a+")
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise UserError(f"another 'alearn run' is working on {self.path.parent} "
                            "(it holds .lock); wait for it to finish or stop it first") from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"{os.getpid()}\n")
        self.handle.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()
