"""H2 Lennard-Jones set of Yeu et al. (GPR-ANN paper): alearn's local GPR, and data for aenet-gpr.

ASE LennardJones(epsilon=1, sigma=1, rc=3), atoms at ±d/2 on x; training d = 7 values 1–2 Å;
test d = 200 values 0.95–2.05 Å.  A second test set puts the same 200 molecules at random
orientations and positions ("3-D"), where a Cartesian fingerprint fails and an invariant one
cannot.  Writes h2_train / h2_test / h2_test_3d .extxyz into --out for gpr_aenet_side.py:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gpr_h2.py
    OMP_NUM_THREADS=1 /tmp/aenet-venv/bin/python benchmarks/gpr_aenet_side.py \
        --train /tmp/gpr_bench/h2_train.extxyz \
        --copies /tmp/gpr_bench/h2_test.extxyz /tmp/gpr_bench/h2_test_3d.extxyz
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.lj import LennardJones
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from scipy.spatial.transform import Rotation

from alearn.config.gpr import GprConfig
from alearn.data.records import Labels, LabelledStructure, Provenance, Source
from alearn.models.gpr import LocalGPR


def h2(d: float, rotation=None, shift=(0.0, 0.0, 0.0)) -> Atoms:
    positions = np.array([[-d / 2, 0, 0], [d / 2, 0, 0]])
    if rotation is not None:
        positions = positions @ rotation.T
    atoms = Atoms("H2", positions=positions + np.asarray(shift))
    atoms.calc = LennardJones(epsilon=1.0, sigma=1.0, rc=3.0)
    atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy(),
                                       forces=atoms.get_forces())
    return atoms


def errors(model: LocalGPR, test: list[Atoms]) -> dict:
    start = time.perf_counter()
    pred = model.predict(test)
    return {"energy_mae_eV": float(np.mean(np.abs(pred.energy - [a.get_potential_energy() for a in test]))),
            "force_mae_eV_A": float(np.mean([np.abs(f - a.get_forces()).mean() for f, a in zip(pred.forces, test)])),
            "predict_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("/tmp/gpr_bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    train = [h2(d) for d in np.linspace(1.0, 2.0, 7)]
    test = [h2(d) for d in np.linspace(0.95, 2.05, 200)]
    test_3d = [h2(d, Rotation.random(random_state=int(rng.integers(1 << 30))).as_matrix(), rng.normal(0, 1, 3))
               for d in np.linspace(0.95, 2.05, 200)]
    for name, images in (("h2_train", train), ("h2_test", test), ("h2_test_3d", test_3d)):
        write(args.out / f"{name}.extxyz", images)
    rows = [LabelledStructure(a, Labels(a.get_potential_energy(), a.get_forces()),
                              Provenance(Source.REFERENCE)) for a in train]
    for fingerprint in ("inverse_distances", "cartesian"):
        start = time.perf_counter()
        model = LocalGPR.fit(rows, GprConfig(fingerprint=fingerprint), seed=0)
        fit_s = time.perf_counter() - start
        print(json.dumps({"code": "alearn", "fingerprint": fingerprint, "fit_s": fit_s,
                          "on_axis": errors(model, test), "3d": errors(model, test_3d)}))


if __name__ == "__main__":
    main()
