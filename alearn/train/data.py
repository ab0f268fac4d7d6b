"""Training data for the committee: labelled structures from the store, extxyz files or Atoms.

``train_committee`` takes sequences of :class:`~alearn.data.records.LabelledStructure`;
:func:`as_labelled` also accepts ASE ``Atoms`` whose calculator holds energy (and forces,
stress) — what ``ase.io.read`` returns for extxyz files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from ase import Atoms

from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.errors import UserError


def labels_of(atoms: Atoms, where: str) -> Labels:
    """Energy, forces and stress stored with ``atoms`` (its single-point calculator)."""
    calc = atoms.calc
    results = getattr(calc, "results", {}) if calc is not None else {}
    if "energy" not in results and "free_energy" not in results:
        raise UserError(f"{where}: structure {atoms.get_chemical_formula()} has no energy; "
                        "training data need an energy per structure (extxyz 'energy=' key)")
    energy = float(results.get("energy", results.get("free_energy")))
    forces = results.get("forces")
    stress = results.get("stress")
    if stress is not None:
        stress = np.asarray(stress, dtype=float)
        if stress.shape == (3, 3):
            stress = stress.ravel()[[0, 4, 8, 5, 2, 1]]
    return Labels(energy=energy, forces=None if forces is None else np.asarray(forces, float),
                  stress=stress)


def as_labelled(items: Iterable[LabelledStructure | Atoms], where: str = "data") -> list[LabelledStructure]:
    """LabelledStructures as given; Atoms with calculator results wrapped as imported rows."""
    out = []
    for item in items:
        if isinstance(item, LabelledStructure):
            out.append(item)
        else:
            labels = labels_of(item, where)
            atoms = item.copy()
            atoms.calc = None
            out.append(LabelledStructure(atoms, labels, Provenance(Source.IMPORTED)))
    return out


def read_files(paths: Sequence[Path]) -> list[LabelledStructure]:
    """Every frame of every file (any format ASE reads with energies, e.g. extxyz)."""
    import ase.io

    out: list[LabelledStructure] = []
    for path in paths:
        try:
            frames = ase.io.read(str(path), index=":")
        except Exception as exc:  # ASE raises many types for unreadable files
            raise UserError(f"{path}: cannot read structures ({type(exc).__name__}: {exc})") from None
        out.extend(as_labelled(frames, str(path)))
    if not out and paths:
        raise UserError(f"no structures found in {', '.join(map(str, paths))}")
    return out


def read_store(url: str) -> list[LabelledStructure]:
    """All rows of a store (reference, imported and augmented)."""
    from alearn.data.store import Store

    with Store.open(url) as store:
        return list(store.rows())


def split(structures: Sequence[LabelledStructure], fraction: float,
          rng: np.random.Generator) -> tuple[list[LabelledStructure], list[LabelledStructure]]:
    """Random (train, validation) split by parent structure: validation gets round(fraction·n)
    of the n structures that are not derived copies (at least 1 if n > 1); a derived row
    (Taylor / GPR copy, ``provenance.parent`` = its parent's row id) stays with its parent —
    in training when the parent trains, left out when the parent validates (copies are not
    validation data, and must not sit on the other side of the split from their parent)."""
    derived = {Source.TAYLOR, Source.GPR}
    parents = [s for s in structures if s.provenance.source not in derived]
    n = len(parents)
    n_valid = int(round(fraction * n))
    if fraction > 0 and n > 1:
        n_valid = max(1, n_valid)
    order = rng.permutation(n)
    held = sorted(order[:n_valid])
    valid = [parents[k] for k in held]
    held_ids = {id(parents[k]) for k in held}
    valid_rows = {parents[k].id for k in held if parents[k].id is not None}
    train = [s for s in structures if id(s) not in held_ids
             and not (s.provenance.source in derived and s.provenance.parent in valid_rows)]
    return train, valid


def elements_of(structures: Sequence[LabelledStructure]) -> tuple[str, ...]:
    return tuple(sorted({s for item in structures for s in item.atoms.get_chemical_symbols()}))
