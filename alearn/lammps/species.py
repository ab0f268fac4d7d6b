"""Which element each LAMMPS atom type is: given explicitly, or matched by its mass."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from ase.data import atomic_masses, atomic_numbers

from alearn.errors import UserError

#: a type's mass may differ from the element's standard atomic mass by this much (u)
MASS_TOLERANCE_U = 0.5


def model_elements(model_dir: Path) -> tuple[str, ...] | None:
    """The elements a saved model knows (from its manifest), None when it does not say."""
    from alearn.models.io import read_manifest

    elements = read_manifest(Path(model_dir)).get("elements")
    return tuple(elements) if elements else None


def _check_known(elements: Sequence[str], known: Sequence[str] | None) -> None:
    for element in elements:
        if element not in atomic_numbers:
            raise UserError(f"--elements: {element!r} is not a chemical element symbol")
        if known is not None and element not in known:
            raise UserError(f"element {element} is not one the model was trained on "
                            f"({', '.join(known)})")


def elements_from_masses(masses: Sequence[float], known: Sequence[str]) -> tuple[str, ...]:
    """The model element nearest in mass to each type (within :data:`MASS_TOLERANCE_U`)."""
    table = np.array([atomic_masses[atomic_numbers[e]] for e in known])
    chosen = []
    for type_number, mass in enumerate(masses, start=1):
        if mass <= 0:
            raise UserError(f"atom type {type_number} has no mass yet; set masses (read_data's "
                            f"Masses section or 'mass' commands) before the external fix, or "
                            f"name the elements with --elements")
        nearest = int(np.argmin(np.abs(table - mass)))
        if abs(table[nearest] - mass) > MASS_TOLERANCE_U:
            raise UserError(f"atom type {type_number} has mass {mass:g} u, which is no element "
                            f"of the model ({', '.join(known)}); name the elements with "
                            f"--elements (one per type, in type order)")
        chosen.append(known[nearest])
    return tuple(chosen)


def resolve_elements(masses: Sequence[float], given: Sequence[str] | None,
                     known: Sequence[str] | None) -> tuple[str, ...]:
    """Element of types 1..N: ``given`` (checked against the model) or matched by mass."""
    if given:
        if len(given) != len(masses):
            raise UserError(f"--elements names {len(given)} element(s) but the system has "
                            f"{len(masses)} atom type(s); give one element per type, in type order")
        _check_known(given, known)
        return tuple(given)
    if known is None:
        raise UserError("the model does not list its elements; name them with --elements "
                        "(one per atom type, in type order)")
    return elements_from_masses(masses, known)
