"""``FaultyEMT``: ASE's EMT with faults on cue, for the reliability tests (``[reference] kind =
"ase"``, ``calculator = "faultase:FaultyEMT"``, importable with ``tests/fakes`` on PYTHONPATH).

Which structures fail, and how, is a pure function of the structure (a hash of its positions)
and ``seed``: a fraction ``rate`` of structures get one fault from ``faults``.  *Transient*
faults (``exit``, ``segv``, ``raise``, ``hang``, ``slow``) strike once per structure — a marker
file in ``marker_dir`` remembers it across processes, kills and restarts — so the next attempt
succeeds; *persistent* ones (``absurd``: energy + 10⁶ eV, ``nan``: NaN forces, ``huge_force``)
strike every time.  So an interrupted campaign and an uninterrupted one meet the same faults
and must end with the same data.  ``modes`` forces one mode for every structure (``exit_always``
keeps exiting).  ``pid_dir`` collects the pid of every process that computes (orphan checks).
Both folders may come from the environment instead (``FAULTASE_MARKERS``, ``FAULTASE_PIDS``),
which keeps them out of the job hash.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import numpy as np
from ase.calculators.calculator import all_changes
from ase.calculators.emt import EMT

TRANSIENT = ("exit", "segv", "raise", "hang", "slow")
PERSISTENT = ("absurd", "nan", "huge_force")


class FaultyEMT(EMT):
    """EMT that misbehaves on cue (see module docstring)."""

    def __init__(self, rate: float = 0.0, seed: int = 0, faults: list[str] | None = None,
                 marker_dir: str = "", pid_dir: str = "", mode: str = "", hang_s: float = 3600.0,
                 slow_s: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rate, self.seed, self.mode = float(rate), int(seed), mode
        self.faults = list(faults or TRANSIENT + PERSISTENT)
        self.marker_dir = marker_dir or os.environ.get("FAULTASE_MARKERS", "")
        self.pid_dir = pid_dir or os.environ.get("FAULTASE_PIDS", "")
        self.hang_s, self.slow_s = float(hang_s), float(slow_s)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        key = self._key(atoms)
        if self.pid_dir:
            Path(self.pid_dir).mkdir(parents=True, exist_ok=True)
            (Path(self.pid_dir) / f"{os.getpid()}").write_text(key)
        fault = self.mode or self._fault(key)
        if fault == "exit_always":
            os._exit(1)
        if fault in TRANSIENT and self._first_time(key):
            self._strike(fault)
        if self.slow_s:
            time.sleep(self.slow_s)
        super().calculate(atoms, properties, system_changes)
        if fault == "absurd":
            self.results["energy"] = self.results["energy"] + 1e6
            self.results["free_energy"] = self.results["energy"]
        elif fault == "nan":
            self.results["forces"] = np.full_like(self.results["forces"], np.nan)
        elif fault == "huge_force":
            self.results["forces"] = self.results["forces"] + 1e5

    def _key(self, atoms) -> str:
        rounded = np.round(atoms.positions, 6).tobytes() + atoms.numbers.tobytes()
        return hashlib.sha256(rounded + str(self.seed).encode()).hexdigest()[:16]

    def _fault(self, key: str) -> str:
        draw = int(key[:8], 16) / 0xFFFFFFFF
        if draw >= self.rate or not self.faults:
            return ""
        return self.faults[int(key[8:12], 16) % len(self.faults)]

    def _first_time(self, key: str) -> bool:
        if not self.marker_dir:
            return True
        marker = Path(self.marker_dir) / key
        marker.parent.mkdir(parents=True, exist_ok=True)
        try:
            marker.touch(exist_ok=False)
        except FileExistsError:
            return False
        return True

    def _strike(self, fault: str) -> None:
        if fault == "exit":
            os._exit(1)
        if fault == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        if fault == "raise":
            raise RuntimeError("injected failure of the calculator")
        if fault == "hang":
            time.sleep(self.hang_s)
        if fault == "slow":
            time.sleep(min(self.hang_s, 2.0))
