"""Fake stage implementations for the loop's own tests (EMT as reference, a trivial model).

The fake label stage mimics the dispatcher's durability contract: one job directory per job
hash, ``result.json`` written atomically is the commit point, and every real computation is
appended to ``jobs/calls.log`` so tests can count duplicates.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT

from alearn.campaign.records import (AugmentRecord, ExploreRecord, LabelRecord, SelectRecord,
                                     TrainRecord)
from alearn.data.records import Labels, Provenance, Source
from alearn.files import write_json_atomic
from alearn.models.prediction import Prediction


def job_hash(atoms: Atoms) -> str:
    return hashlib.sha256(np.round(atoms.positions, 6).tobytes()).hexdigest()[:20]


def emt(atoms: Atoms) -> Labels:
    atoms = atoms.copy()
    atoms.calc = EMT()
    return Labels(energy=float(atoms.get_potential_energy()), forces=atoms.get_forces(),
                  stress=atoms.get_stress())


class FakeParts:
    """Stage implementations good enough to drive the loop (not science)."""

    def __init__(self, config: Any, layout: Any, console: Any) -> None:
        self.config, self.layout = config, layout

    def initial(self, ctx: Any) -> LabelRecord:
        rng = ctx.rng("initial")
        base = bulk("Cu", "fcc", a=3.6, cubic=True)
        structures = []
        for _ in range(self.config.initial.copies):
            atoms = base.copy()
            atoms.positions += rng.normal(0, self.config.initial.rattle_std_A, atoms.positions.shape)
            structures.append(atoms)
        return self.label(ctx, structures)

    def explore(self, ctx: Any, model: Path, workdir: Path) -> ExploreRecord:
        rng = ctx.rng("explore")
        base = bulk("Cu", "fcc", a=3.6, cubic=True)
        frames = np.stack([base.positions + rng.normal(0, 0.1, base.positions.shape) for _ in range(12)])
        np.save(workdir / "frames.npy", frames)
        return ExploreRecord(walkers=2, frames=12, accurate=6 + ctx.iteration,
                             candidate=6 - ctx.iteration, failed=0)

    def validation(self, ctx: Any, explore_dir: Path, n: int) -> list[Atoms]:
        from alearn.campaign.validation import FRAME_KEY, draw

        frames = np.load(explore_dir / "frames.npy")
        base = bulk("Cu", "fcc", a=3.6, cubic=True)
        out = []
        for k in draw(list(range(len(frames))), n, ctx.rng("validation")):
            atoms = base.copy()
            atoms.positions = frames[k]
            atoms.info[FRAME_KEY] = f"0:{k}"
            out.append(atoms)
        return out

    def select(self, ctx: Any, model: Path, explore_dir: Path) -> tuple[list[Atoms], SelectRecord]:
        from alearn.campaign.progress import Stage, stage_dir
        from alearn.campaign.validation import VALIDATION_FILE, drawn_keys

        held = {k for _, k in drawn_keys(stage_dir(ctx.staging, Stage.VALIDATE) / VALIDATION_FILE)}
        frames = [f for k, f in enumerate(np.load(explore_dir / "frames.npy")) if k not in held]
        base = bulk("Cu", "fcc", a=3.6, cubic=True)
        chosen = []
        for positions in frames[: self.config.select.budget]:
            atoms = base.copy()
            atoms.positions = positions
            chosen.append(atoms)
        return chosen, SelectRecord()

    def label(self, ctx: Any, structures: Sequence[Atoms]) -> LabelRecord:
        ids = []
        for atoms in structures:
            key = job_hash(atoms)
            result = self.layout.jobs / key / "result.json"
            if not result.is_file():          # the commit point; then log the committed call
                labels = emt(atoms)
                write_json_atomic(result, {"energy": labels.energy, "forces": labels.forces,
                                           "stress": labels.stress})
                with (self.layout.jobs / "calls.log").open("a") as handle:
                    handle.write(key + "\n")
            data = json.loads(result.read_text())
            labels = Labels(energy=data["energy"], forces=np.array(data["forces"]),
                            stress=np.array(data["stress"]))
            out = ctx.store.add(atoms, labels, Provenance(Source.REFERENCE, ctx.iteration,
                                                          calculator="emt", job_hash=key))
            ids.append(out.id)
            if os.environ.get("FAKE_SLOW_LABEL"):
                import time

                time.sleep(float(os.environ["FAKE_SLOW_LABEL"]))
        return LabelRecord(tuple(ids), len(ids), 0)

    def augment(self, ctx: Any, reference_ids: Sequence[int], workdir: Path) -> tuple[list[Atoms], AugmentRecord]:
        rng = ctx.rng("augment")
        ids = []
        for row in ctx.store.rows(ids=reference_ids):
            atoms = row.atoms.copy()
            delta = rng.uniform(-0.01, 0.01, atoms.positions.shape)
            atoms.positions += delta
            energy = row.labels.energy - float(np.sum(delta * row.labels.forces))
            out = ctx.store.add(atoms, Labels(energy=energy),
                                Provenance(Source.TAYLOR, ctx.iteration, parent=row.id))
            ids.append(out.id)
        gated = []
        if ctx.iteration > 0 and reference_ids:          # like the GPR gate: one copy goes back
            row = ctx.store.get(reference_ids[0])
            copy = row.atoms.copy()
            copy.positions += rng.normal(0, 0.02, copy.positions.shape)
            gated.append(copy)
        return gated, AugmentRecord(tuple(ids), len(ids))

    def train(self, ctx: Any, train_ids: Sequence[int], previous: Path | None, out: Path) -> TrainRecord:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "model.json", {"rows": len(train_ids), "warm": previous is not None})
        return TrainRecord(len(train_ids), previous is not None, details={"epochs": 1})

    def predict(self, model: Path, structures: Sequence[Atoms]) -> Prediction:
        rows = json.loads((model / "model.json").read_text())["rows"]
        labels = [emt(a) for a in structures]
        std = 1.0 / np.sqrt(rows)
        return Prediction(energy=np.array([l.energy + 0.01 for l in labels]),
                          forces=tuple(l.forces * 1.01 for l in labels),
                          energy_std=np.full(len(labels), std),
                          forces_std=tuple(np.full(len(a), std) for a in structures),
                          stress=np.array([l.stress for l in labels]))


def make(config: Any, layout: Any, console: Any) -> FakeParts:
    return FakeParts(config, layout, console)
