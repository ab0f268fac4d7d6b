"""The work behind ``alearn augment``: read, augment, write, report."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
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


def write_candidates(path: Path, candidates) -> None:
    """Gated copies (geometry, parent, std, subset) for the reference calculator."""
    images = []
    for c in candidates:
        atoms = c.atoms.copy()
        atoms.info.update({"parent": c.parent, "std_eV": c.std_eV, "subset": c.subset})
        images.append(atoms)
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path, images, format="extxyz")


def run_spec(path: Path) -> int:
    """Run an augment spec file; returns the exit code."""
    from alearn.augment.commands import AugmentSpec
    from alearn.config.campaign import read_toml
    from alearn.config.schema import build

    spec = build(AugmentSpec, read_toml(path), file=path)
    structures = read_labelled(spec.input.structures)
    rng = np.random.default_rng(spec.input.seed)
    if spec.augment.kind == "taylor":
        from alearn.augment.taylor import taylor_augment

        added = taylor_augment(structures, spec.augment, rng)
        write_added(spec.output.added, added)
        print(f"taylor: {len(added)} synthetic structures from {len(structures)} → {spec.output.added}")
        return 0
    return _run_gpr(spec, structures, rng)


def _run_gpr(spec, structures, rng) -> int:
    from alearn.augment.gpr import gpr_augment

    result = gpr_augment(structures, spec.augment, rng)
    write_added(spec.output.added, result.added)
    write_candidates(spec.output.to_label, result.to_label)
    if spec.output.model is not None:
        result.model.save(spec.output.model)
    print_report(result.report)
    print(f"{result.report.added} synthetic structures → {spec.output.added}; "
          f"{result.report.to_label} above the gate → {spec.output.to_label}")
    return 0


def print_report(report) -> None:
    """One line per subset with the chosen hyperparameters, then the totals."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="local GPR subsets")
    for column in ("subset", "structures", "rows", "ℓ", "w (eV)", "σ_E (eV)", "σ_F (eV/Å)",
                   "gate (eV)", "fit (s)"):
        table.add_column(column)
    for r in report.subsets:
        h = r.hyper
        ell = f"{h.length_scale[0]:.3g}" if len(h.length_scale) == 1 else f"ARD×{len(h.length_scale)}"
        table.add_row(r.name, str(r.structures), str(r.rows), ell, f"{h.weight_eV:.3g}",
                      f"{h.energy_noise_eV:.2g}", f"{h.force_noise_eV_A:.2g}",
                      f"{report.thresholds_eV[r.name]:.3g}", f"{r.fit_s:.1f}")
    Console().print(table)
    print(f"copies {report.copies}, added {report.added}, to label {report.to_label}; "
          f"fit {report.fit_s:.1f} s, labelling {report.label_s:.2f} s")
