"""Water box with fragments: label periodic GFN2-xTB bulk frames from a finished
water-box-xtb campaign's walkers, then retrain its final data with several fragment options and
report test-split and bulk-frame errors (figures in benchmarks/README.md).

  alearn run campaigns/water-box-xtb.toml --dir /tmp/wb
  python benchmarks/water_box_fragments.py label /tmp/wb /tmp/bulk10.extxyz 10
  python benchmarks/water_box_fragments.py compare /tmp/wb /tmp/bulk10.extxyz /tmp/models \\
      taylor all complete nooffset
  alearn export /tmp/wb2 --out /tmp/wb2-model     # another campaign's final model
  python benchmarks/water_box_fragments.py bulk /tmp/wb2-model /tmp/bulk10.extxyz
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from ase.io import read, write

from alearn.campaign.evaluate import errors
from alearn.campaign.layout import CampaignDir
from alearn.campaign.snapshot import verify_all
from alearn.config.campaign import load_campaign
from alearn.data.records import Source
from alearn.data.store import Store
from alearn.train.metrics import mean_offsets
from alearn.train.trainer import train_committee

VARIANTS = "taylor: energy + Taylor rows (as the campaign); all / complete: direct forces " \
    "(force_weight 0.1) with [train] fragment_forces = all / complete; nooffset: taylor without " \
    "fragment types (no offsets)"


def pick(campaign: Path, n: int):
    from alearn.explore.run import ExplorationResult
    frames = []
    for explore in sorted(campaign.glob("iterations/*/stages/explore")):
        if not (explore / "index.json").is_file():
            continue
        result = ExplorationResult.load(explore)
        for f in result.frames():
            if f.status.value != "failed" and f.status.value != "insane":
                frames.append(f.atoms)
    print(f"{len(frames)} explored frames found")
    idx = np.linspace(0, len(frames) - 1, n).round().astype(int)
    return [frames[i] for i in idx]


def label(campaign: str, out: str, n: int) -> None:
    from alearn_calculators.xtb import XtbCalculator
    from ase.calculators.singlepoint import SinglePointCalculator
    calc = XtbCalculator(XtbCalculator.Params())
    done = []
    for atoms in pick(Path(campaign), n):
        atoms = atoms.copy()
        atoms.calc = calc.ase_calculator(atoms)
        e, f = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = SinglePointCalculator(atoms, energy=e, forces=f)
        done.append(atoms)
        print("labelled", len(done), flush=True)
    write(out, done, format="extxyz")


def main(campaign: str, bulk: str, outdir: str, variants: list[str]) -> None:
    layout = CampaignDir(Path(campaign))
    cfg = load_campaign(layout.resolved)
    manifest = verify_all(layout)[-1]
    with Store.open(layout.root / cfg.store.url) as store:
        train = list(store.rows(ids=manifest["dataset"]["train_ids"]))
        test = list(store.rows(ids=manifest["dataset"]["test_ids"]))
    frames = read(bulk, index=":")
    for v in variants:
        rows = train
        tcfg = cfg.train
        if v in ("all", "complete"):
            tcfg = dataclasses.replace(tcfg, force_weight=0.1, fragment_forces=v)
        if v == "nooffset":
            rows = [dataclasses.replace(r, provenance=dataclasses.replace(r.provenance, subset=None)) for r in rows]
        t0 = time.time()
        model, report = train_committee(rows, [], cfg.descriptor, cfg.model, tcfg, seed=5)
        secs = time.time() - t0
        model.save(Path(outdir) / v)
        pred = model.predict([r.atoms for r in test])
        offs = mean_offsets(model)
        res = errors(test, pred, 5, offs)
        bulk_rows = [r for r in test if r.provenance.subset is None and r.provenance.source == Source.REFERENCE]
        p = model.predict([a.copy() for a in frames])
        ref_f = np.concatenate([a.get_forces() for a in frames])
        df = np.concatenate(p.forces) - ref_f
        de = (p.energy - np.array([a.get_potential_energy() for a in frames])) / len(frames[0])
        out = {"variant": v, "train_s": round(secs), "epochs": report.epochs, "n_train": len(rows),
               "test": {k: res[k] for k in ("structures", "energy_rmse_eV_atom", "force_rmse_eV_A",
                                              "force_rmse_complete_eV_A", "fragment_rows",
                                              "energy_offset_fallback_rows") if k in res},
               "test_bulk_rows": len(bulk_rows),
               "bulk_frames": len(frames), "bulk_force_rmse_eV_A": float(np.sqrt((df**2).mean())),
               "bulk_force_mae_eV_A": float(np.abs(df).mean()),
               "bulk_energy_err_mean_meV_atom": float(de.mean() * 1000),
               "bulk_energy_err_std_meV_atom": float(de.std() * 1000)}
        print(json.dumps(out), flush=True)


def bulk(model: str, frames_file: str) -> None:
    """Force RMSE of an exported model on labelled periodic bulk frames."""
    import alearn

    frames = read(frames_file, index=":")
    calc = alearn.load_calculator(model)
    ref = np.concatenate([a.get_forces() for a in frames])
    pred = []
    for atoms in frames:
        copy = atoms.copy()
        copy.calc = calc
        pred.append(copy.get_forces())
    diff = np.concatenate(pred) - ref
    print(f"{len(frames)} bulk frames: force RMSE {np.sqrt((diff**2).mean()):.3f} eV/Å "
          f"(reference force rms {np.sqrt((ref**2).mean()):.3f} eV/Å)")


if __name__ == "__main__":
    if sys.argv[1] == "label":
        label(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "bulk":
        bulk(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
