"""``espresso``: Quantum ESPRESSO ``pw.x``, file-based: ASE writes ``espresso.pwi``, the code runs
under the profile's launcher, ASE's reader parses ``stdout.txt``.

Failures: no ``JOB DONE`` at the end of the output is an infrastructure failure (killed, node
lost, truncated); ``convergence NOT achieved`` is a physics failure whose recovery recipe halves
``mixing_beta`` and doubles ``electron_maxstep`` (twice at most).  The code version is not
detected (the controller may not be able to run ``pw.x``): pin it in ``code_version`` so that a
new build gets fresh job directories.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ase import Atoms

from alearn.config.dispatch import Profile, ReferenceParams
from alearn.config.schema import Invalid, option
from alearn.data.records import Labels
from alearn.label.protocol import STDOUT, CalculationFailed, FailureKind

INPUT = "espresso.pwi"
Value = int | float | bool | str


class EspressoCalculator:
    """Plane-wave DFT with Quantum ESPRESSO."""

    name = "espresso"

    @dataclass(frozen=True, kw_only=True)
    class Params(ReferenceParams):
        """[reference] kind = "espresso" — Quantum ESPRESSO pw.x."""

        kind: Literal["espresso"] = option("espresso", doc="Quantum ESPRESSO pw.x (file-based)")
        pseudopotentials: dict[str, str] = option(doc="pseudopotential file per element, e.g. { Si = 'Si.pbe-rrkj.UPF' } (found in [reference.profile] pseudo_dir)")
        ecutwfc_Ry: float = option(30.0, doc="wave-function cutoff", unit="Ry", gt=0.0)
        ecutrho_Ry: float | None = option(None, doc="density cutoff (default 4·ecutwfc)", unit="Ry", gt=0.0)
        kpts: tuple[int, ...] = option((1, 1, 1), doc="Monkhorst-Pack grid", ge=1)
        smearing: Literal["none", "gaussian", "mv", "mp", "fd"] = option("none", doc="occupation smearing ('none': fixed occupations)")
        degauss_Ry: float = option(0.01, doc="smearing width", unit="Ry", gt=0.0)
        conv_thr_Ry: float = option(1e-8, doc="SCF convergence threshold", unit="Ry", gt=0.0)
        mixing_beta: float = option(0.7, doc="charge-density mixing factor", gt=0.0, le=1.0)
        electron_maxstep: int = option(100, doc="SCF iteration limit", ge=1)
        stress: bool = option(True, doc="compute the stress of fully periodic cells")
        input_data: dict[str, Value] = option(factory=dict, doc="further pw.x input keywords (any namelist; ASE sorts them), e.g. { nspin = 2 }")
        code_version: str = option("", doc="the pw.x version you run (part of the job hash)")

        def check(self) -> None:
            if len(self.kpts) != 3:
                raise Invalid("kpts", f"found {list(self.kpts)}, expected three integers")
            if self.profile.pseudo_dir is None and not os.environ.get("ESPRESSO_PSEUDO"):
                raise Invalid("profile.pseudo_dir", "is required (the folder of the "
                              "pseudopotential files, e.g. '/usr/share/espresso/pseudo'), "
                              "or set ESPRESSO_PSEUDO")

    def __init__(self, params: Any) -> None:
        self.params = params

    def __repr__(self) -> str:
        return f"EspressoCalculator({self.params!r})"

    @property
    def version(self) -> str:
        return f"quantum-espresso pw.x {self.params.code_version or 'unversioned'}"

    def input_data(self, atoms: Atoms, profile: Profile) -> dict[str, Any]:
        p = self.params
        pseudo_dir = profile.pseudo_dir or Path(os.environ.get("ESPRESSO_PSEUDO", "."))
        data: dict[str, Any] = {
            "calculation": "scf", "tprnfor": True, "tstress": p.stress and bool(atoms.pbc.all()),
            "outdir": "./tmp", "prefix": "alearn", "pseudo_dir": str(pseudo_dir),
            "disk_io": "low", "ecutwfc": p.ecutwfc_Ry, "conv_thr": p.conv_thr_Ry,
            "mixing_beta": p.mixing_beta, "electron_maxstep": p.electron_maxstep,
        }
        if p.ecutrho_Ry is not None:
            data["ecutrho"] = p.ecutrho_Ry
        if p.smearing != "none":
            data.update(occupations="smearing", smearing=p.smearing, degauss=p.degauss_Ry)
        data.update(p.input_data)
        return data

    def write_input(self, atoms: Atoms, workdir: Path, profile: Profile) -> None:
        from ase.io.espresso import write_espresso_in

        missing = sorted(set(atoms.get_chemical_symbols()) - set(self.params.pseudopotentials))
        if missing:
            raise CalculationFailed(FailureKind.INVALID, "no pseudopotential for "
                                    + ", ".join(missing) + " in [reference] pseudopotentials")
        with (workdir / INPUT).open("w") as handle:
            write_espresso_in(handle, atoms, input_data=self.input_data(atoms, profile),
                              pseudopotentials=dict(self.params.pseudopotentials),
                              kpts=tuple(self.params.kpts))

    def command(self, profile: Profile) -> list[str] | None:
        return profile.argv("pw.x") + ["-in", INPUT]

    def run_in_process(self, workdir: Path) -> None:
        raise NotImplementedError("espresso runs as an external program (command())")

    def read_results(self, workdir: Path) -> Labels:
        from ase.io import read

        path = workdir / STDOUT
        text = path.read_text(errors="replace") if path.exists() else ""
        if "convergence NOT achieved" in text:
            raise CalculationFailed(FailureKind.PHYSICS, "pw.x: SCF convergence NOT achieved "
                                    f"in {self.params.electron_maxstep} steps")
        if "JOB DONE" not in text:
            raise CalculationFailed(FailureKind.INFRASTRUCTURE, "pw.x output is truncated "
                                    f"(no 'JOB DONE' in {STDOUT})")
        try:
            atoms = read(path, format="espresso-out", index=-1)
            energy = atoms.get_potential_energy()
            forces = atoms.get_forces()
            stress = atoms.get_stress() if "stress" in atoms.calc.results else None
        except Exception as exc:  # noqa: BLE001 - any parse error means an unusable output
            raise CalculationFailed(FailureKind.INFRASTRUCTURE,
                                    f"cannot parse pw.x output: {exc}") from None
        return Labels(energy=float(energy), forces=forces, stress=stress)

    def recover(self, failure: CalculationFailed, attempt: int) -> "EspressoCalculator | None":
        p = self.params
        if p.mixing_beta <= 0.7 / 4 + 1e-12:
            return None
        return EspressoCalculator(dataclasses.replace(
            p, mixing_beta=p.mixing_beta / 2, electron_maxstep=2 * p.electron_maxstep))
