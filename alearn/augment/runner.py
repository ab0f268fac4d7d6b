"""The work behind ``alearn augment``: read, augment, write, report."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from ase import Atoms
from ase.io import write

from alearn.data.records import LabelledStructure, Provenance, Source
from alearn.errors import UserError


def read_labelled(paths: Sequence[Path]) -> list[LabelledStructure]:
    """Every structure of the files, with labels; unlabelled ones are an error."""
    from alearn.data.readers import detect_format, read_frames

    out: list[LabelledStructure] = []
    for path in paths:
        for frame in read_frames(path, detect_format(path)):
            if frame.labels is None:
                raise UserError(f"{frame.origin}: no energy ({frame.problem or 'unlabelled'}); "
                                "augmentation needs labelled structures")
            out.append(LabelledStructure(frame.atoms, frame.labels,
                                         Provenance(Source.REFERENCE), id=len(out) + 1))
    if not out:
        raise UserError(f"no structures in {', '.join(map(str, paths))}")
    return out


def _with_energy(atoms, energy: float, info: dict):
    out = atoms.copy()
    out.calc = SinglePointCalculator(out, energy=energy)
    out.info.update({k: v for k, v in info.items() if v is not None})
    return out


def write_added(path: Path, rows: Sequence[LabelledStructure]) -> None:
    """Synthetic rows with their energy and provenance as info keys (extended XYZ)."""
    images = [_with_energy(r.atoms, r.labels.energy,
                           {"source": r.provenance.source.value, "parent": r.provenance.parent,
                            "std_eV": r.provenance.std, "subset": r.provenance.subset})
              for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path, images, format="extxyz")


def write_candidates(path: Path, structures: Sequence[Atoms]) -> None:
    """Structures an augmenter wants labelled by the reference (their ``info`` kept)."""
    images = [atoms.copy() for atoms in structures]
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path, images, format="extxyz")


def run_spec(path: Path) -> int:
    """Run an augment spec file; returns the exit code."""
    from alearn import registry
    from alearn.config.augment import AugmentSpec
    from alearn.config.campaign import read_toml
    from alearn.config.schema import build

    spec = build(AugmentSpec, read_toml(path), file=path)
    structures = read_labelled(spec.input.structures)
    augmenter = registry.make(registry.AUGMENTERS, spec.augment)
    result = augmenter.augment(structures, np.random.default_rng(spec.input.seed))
    write_added(spec.output.added, result.added)
    if result.to_label:
        write_candidates(spec.output.to_label, result.to_label)
    if spec.output.model is not None:
        if result.model is None:
            raise UserError(f"[output] model: the augmenter {spec.augment.kind!r} fits no model to save")
        result.model.save(spec.output.model)
    if result.text:
        print(result.text)
    gated = (f"; {len(result.to_label)} for the reference → {spec.output.to_label}"
             if result.to_label else "")
    print(f"{spec.augment.kind}: {len(result.added)} synthetic structures from "
          f"{len(structures)} → {spec.output.added}{gated}")
    return 0
