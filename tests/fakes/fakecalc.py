"""A reference-calculator plugin for the fake code (file-based, launcher-aware, failures on cue).

Importable by Dask workers when ``tests/fakes`` is on ``PYTHONPATH`` (the label tests' conftest
puts it there).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from ase import Atoms

from alearn.config.dispatch import Profile, ReferenceParams
from alearn.config.schema import option
from alearn.data.records import Labels
from alearn.label.protocol import CalculationFailed, FailureKind

FAKE_CODE = Path(__file__).with_name("fake_code.py")


class FakeCalculator:
    """Drives ``fake_code.py``; ``script`` decides what each attempt does."""

    name = "fake"

    @dataclass(frozen=True, kw_only=True)
    class Params(ReferenceParams):
        """[reference] kind = "fake" — the test suite's fake code."""

        kind: Literal["fake"] = option("fake", doc="fake file-based code")
        script: tuple[str, ...] = option((), doc="behaviour of attempt 1, 2, ...")
        sleep_s: float = option(0.0, doc="sleep before computing", unit="s", ge=0.0)
        mixing: float = option(0.7, doc="SCF mixing (scf mode fails above 0.5)", gt=0.0)
        recoverable: bool = option(True, doc="whether recover() offers a new mixing")

    def __init__(self, params: Any) -> None:
        self.params = params

    @property
    def version(self) -> str:
        return "fake 1.0"

    def write_input(self, atoms: Atoms, workdir: Path, profile: Profile) -> None:
        data = {"positions": atoms.positions.tolist(), "numbers": atoms.numbers.tolist(),
                "params": dataclasses.asdict(self.params)}
        data["params"].pop("profile")
        (workdir / "fake.json").write_text(json.dumps(data))

    def command(self, profile: Profile) -> list[str] | None:
        default = f"{shlex.quote(sys.executable)} {shlex.quote(str(FAKE_CODE))}"
        return profile.argv(default)

    def run_in_process(self, workdir: Path) -> None:
        raise NotImplementedError

    def read_results(self, workdir: Path) -> Labels:
        path = workdir / "fake.out"
        if not path.exists():
            raise CalculationFailed(FailureKind.INFRASTRUCTURE, "fake.out missing")
        text = path.read_text()
        if "JOB DONE" not in text:
            raise CalculationFailed(FailureKind.INFRASTRUCTURE, "fake.out is truncated")
        out = json.loads(text.split("\nJOB DONE")[0])
        if not out["converged"]:
            raise CalculationFailed(FailureKind.PHYSICS, "SCF not converged")
        return Labels(energy=out["energy"], forces=np.array(out["forces"]),
                      extra={"ranks": int(out["ranks"])})

    def recover(self, failure: CalculationFailed, attempt: int) -> "FakeCalculator | None":
        if not self.params.recoverable:
            return None
        return FakeCalculator(dataclasses.replace(self.params, mixing=self.params.mixing / 2))
