"""Read labelled structures from the files reference codes and other tools write.

Everything goes through ASE's readers (``ase.io.read(path, index=":")`` with its format
detection); this module adds only what ASE lacks:

* aenet's XSF files: ASE reads the geometry and forces, but not the ``# total energy = E eV``
  comment line, and it converts XSF forces from Ha/Å (XCrySDen's unit) while aenet writes
  eV/Å — so the energy is parsed here and the forces are converted back.
* the choice of energy: codes with smearing (VASP, FHI-aims) report a free energy, whose
  derivatives the forces are; ``energy="auto"`` takes it when present.
* custom label keys of extended XYZ files (``--energy-key REF_energy``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from ase import Atoms

from alearn.data.records import Labels
from alearn.errors import UserError

EnergyChoice = Literal["auto", "energy", "free_energy"]

#: format name → the calculator name recorded in the provenance
_CODE_OF_FORMAT = {"vasp-out": "vasp", "vasp-xml": "vasp", "aims-output": "aims"}
_AENET_ENERGY = re.compile(
    r"^[ \t]*#[ \t]*total[ \t]+energy[ \t]*=[ \t]*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?)[ \t]*([A-Za-z]+)?",
    re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class LabelOptions:
    """Where the labels come from in the files."""

    energy: EnergyChoice = "auto"
    energy_key: str | None = None
    forces_key: str | None = None


@dataclass(frozen=True)
class Frame:
    """One structure read from a file: labels, or the reason it has none."""

    atoms: Atoms
    labels: Labels | None
    origin: str
    calculator: str | None = None
    problem: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


def detect_format(path: Path, override: str | None = None) -> str:
    """ASE's format name of ``path`` (``override`` wins); ``xsf`` means aenet's XSF."""
    if not path.is_file():
        raise UserError(f"{path}: file not found" if not path.exists()
                        else f"{path}: not a file")
    if override:
        return override
    from ase.io.formats import filetype

    try:
        return filetype(str(path), guess=True)
    except Exception as exc:  # UnknownFileTypeError, OSError ...
        raise UserError(f"{path}: cannot tell the file format ({exc}); "
                        "name it with --format (an ase.io format name such as extxyz, "
                        "vasp-out, vasp-xml, aims-output, xsf, db)") from None


def read_frames(path: Path, fmt: str, options: LabelOptions = LabelOptions()) -> list[Frame]:
    """Every structure in ``path`` with its labels; an unreadable file is a UserError."""
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    if fmt == "xsf":
        return _read_aenet_xsf(path)
    images = _ase_read(path, fmt)
    code = _CODE_OF_FORMAT.get(fmt)
    return [_frame(atoms, f"{path}:{index}", options, code) for index, atoms in enumerate(images)]


def _ase_read(path: Path, fmt: str) -> list[Atoms]:
    import warnings

    from ase.io import read

    try:
        with warnings.catch_warnings():  # ASE announces its aims reader's move to a plugin
            warnings.simplefilter("ignore", FutureWarning)
            images = read(str(path), index=":", format=fmt)
    except Exception as exc:  # ASE's readers raise many types on bad input
        raise UserError(f"{path}: {read_error(exc, fmt)}") from None
    return list(images) if isinstance(images, list) else [images]


def read_error(exc: BaseException, fmt: str | None = None) -> str:
    """Why ``ase.io.read`` failed, in words: an unknown element symbol by name, else the
    reader's own message."""
    from ase.data import atomic_numbers

    symbol = exc.args[0] if isinstance(exc, KeyError) and exc.args else None
    if isinstance(symbol, str) and symbol not in atomic_numbers:
        return (f"unknown chemical element {symbol!r} (not in the periodic table; symbols are "
                "case-sensitive, e.g. 'H', 'O', 'Cu')")
    how = f" as {fmt!r}" if fmt else ""
    return f"ase.io.read could not read it{how}: {type(exc).__name__}: {exc}"


def _frame(atoms: Atoms, origin: str, options: LabelOptions, code: str | None) -> Frame:
    results = dict(atoms.calc.results) if atoms.calc is not None else {}
    name = getattr(atoms.calc, "name", None)
    calculator = code or (name if name not in (None, "unknown") else None)
    calculator = calculator or _text(atoms.info.get("calculator"))
    energy, problem = _energy(atoms, results, options)
    forces, forces_problem = _forces(atoms, results, options)
    energy, problem = (None, forces_problem) if forces_problem else (energy, problem)
    clean = atoms.copy()
    clean.calc = None
    if energy is None:
        return Frame(clean, None, origin, calculator, problem, dict(atoms.info))
    labels = Labels(energy=energy, forces=forces, stress=results.get("stress"))
    return Frame(clean, labels, origin, calculator, None, dict(atoms.info))


def _energy(atoms: Atoms, results: dict[str, Any],
            options: LabelOptions) -> tuple[float | None, str | None]:
    if options.energy_key is not None:
        value = atoms.info.get(options.energy_key, results.get(options.energy_key))
        if value is None:
            return None, f"no energy under the key {options.energy_key!r}"
        return _number(value, options.energy_key)
    order = {"auto": ("free_energy", "energy"), "energy": ("energy",),
             "free_energy": ("free_energy",)}[options.energy]
    for key in order:
        if results.get(key) is not None:
            return _number(results[key], key)
    return None, "the file gives no " + " or ".join(order) + " for this structure"


def _number(value: Any, key: str) -> tuple[float | None, str | None]:
    try:
        return float(value), None
    except (TypeError, ValueError):
        return None, f"the {key} {value!r} is not a number"


def _forces(atoms: Atoms, results: dict[str, Any],
            options: LabelOptions) -> tuple[np.ndarray | None, str | None]:
    if options.forces_key is not None:
        value = atoms.arrays.get(options.forces_key, results.get(options.forces_key))
    else:
        value = results.get("forces")
    if value is None:
        return None, None
    try:
        return np.asarray(value, dtype=float), None
    except (TypeError, ValueError):
        return None, "the forces are not numbers"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def aenet_energy(text: str) -> float | None:
    """The energy (eV) of aenet's ``# total energy = E eV`` comment line, if there is one."""
    match = _AENET_ENERGY.search(text)
    if match is None:
        return None
    unit = (match.group(2) or "eV").lower()
    if unit != "ev":
        raise ValueError(f"total energy is given in {match.group(2)!r}; aenet XSF files use eV")
    return float(match.group(1).replace("d", "e").replace("D", "e"))


def _read_aenet_xsf(path: Path) -> list[Frame]:
    from ase.units import Hartree

    try:
        energy = aenet_energy(path.read_text(errors="replace"))
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from None
    images = _ase_read(path, "xsf")
    frames = []
    for index, atoms in enumerate(images):
        origin = f"{path}:{index}"
        results = dict(atoms.calc.results) if atoms.calc is not None else {}
        clean = atoms.copy()
        clean.calc = None
        if energy is None or len(images) != 1:
            why = ("no '# total energy = E eV' comment line (aenet's XSF format)"
                   if energy is None else "one energy line for several structures (ANIMSTEPS)")
            frames.append(Frame(clean, None, origin, problem=why))
            continue
        forces = results.get("forces")
        # ASE multiplies XSF forces by Hartree (XCrySDen's Ha/Å); aenet writes eV/Å
        forces = None if forces is None else np.asarray(forces) / Hartree
        frames.append(Frame(clean, Labels(energy=energy, forces=forces), origin))
    return frames
