"""GPR augmentation: displacement rules, labels = GP mean, the gate, provenance, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import molecule
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones
from ase.io import read, write

from alearn.augment.gpr import displacements, gpr_augment, remove_rigid_rotation
from alearn.cli import main
from alearn.config.gpr import GprAugmentConfig, GprConfig
from alearn.data.records import Labels, LabelledStructure, Provenance, Source

torch.set_num_threads(1)


def h2(d: float) -> Atoms:
    atoms = Atoms("H2", positions=[[-d / 2, 0, 0], [d / 2, 0, 0]])
    atoms.calc = LennardJones(epsilon=1.0, sigma=1.0, rc=3.0)
    return atoms


def water(count: int, seed: int = 0) -> list[Atoms]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        a = molecule("H2O")
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        a.calc = EMT()
        out.append(a)
    return out


def labelled(images, first_id=10) -> list[LabelledStructure]:
    return [LabelledStructure(a, Labels(a.get_potential_energy(), a.get_forces()),
                              Provenance(Source.REFERENCE, iteration=2), id=first_id + i)
            for i, a in enumerate(images)]


def test_displacements_have_no_net_translation_and_optionally_no_rotation():
    positions = molecule("CH4").positions
    rng = np.random.default_rng(0)
    moves = displacements(positions, 0.05, 200, rng, remove_rotation=False)
    assert moves.shape == (200, 5, 3)
    np.testing.assert_allclose(moves.mean(axis=1), 0.0, atol=1e-14)
    assert np.std(moves) == pytest.approx(0.05 * np.sqrt(4 / 5), rel=0.05)  # 5 atoms, mean removed
    still = displacements(positions, 0.05, 20, rng, remove_rotation=True)
    r = positions - positions.mean(axis=0)
    np.testing.assert_allclose(np.cross(r, still).sum(axis=1), 0.0, atol=1e-12)  # no angular part
    np.testing.assert_allclose(still.mean(axis=1), 0.0, atol=1e-14)


def test_pure_rotation_is_removed_entirely():
    positions = molecule("H2O").positions
    omega = np.array([0.01, -0.02, 0.03])
    r = positions - positions.mean(axis=0)
    np.testing.assert_allclose(remove_rigid_rotation(positions, np.cross(omega, r)), 0.0, atol=1e-14)


def test_labels_are_gp_mean_and_close_to_truth_with_provenance():
    train = labelled([h2(d) for d in np.linspace(1.0, 2.0, 7)])
    cfg = GprAugmentConfig(copies=5, delta_A=0.01, max_std_eV=1.0)
    result = gpr_augment(train, cfg, np.random.default_rng(1))
    assert len(result.added) == 35 and not result.to_label
    for row in result.added:
        assert row.provenance.source is Source.GPR and row.provenance.subset == "H2/0"
        assert row.provenance.parent in range(10, 17) and row.provenance.iteration == 2
        assert row.labels.forces is None
        truth = h2(1.0)
        truth.positions = row.atoms.positions
        assert row.labels.energy == pytest.approx(truth.get_potential_energy(), abs=0.01)
    pred = result.model.predict([r.atoms for r in result.added[:3]])
    np.testing.assert_allclose([r.labels.energy for r in result.added[:3]], pred.energy)
    np.testing.assert_allclose([r.provenance.std for r in result.added[:3]], pred.energy_std)


def test_gate_sends_uncertain_copies_to_the_reference():
    train = labelled(water(6))
    cfg = GprAugmentConfig(copies=6, delta_A=0.04, max_std_eV=1.0,
                           model=GprConfig(restarts=1))
    everything = gpr_augment(train, cfg, np.random.default_rng(3))
    stds = np.array([r.provenance.std for r in everything.added])
    threshold = float(np.median(stds))
    gated = gpr_augment(train, GprAugmentConfig(copies=6, delta_A=0.04, max_std_eV=threshold,
                                                model=GprConfig(restarts=1)), np.random.default_rng(3))
    assert len(gated.added) + len(gated.to_label) == 36
    assert 0 < len(gated.to_label) < 36
    assert all(c.std_eV > threshold for c in gated.to_label)
    assert all(r.provenance.std <= threshold for r in gated.added)
    assert {c.parent for c in gated.to_label} <= set(range(10, 16))
    assert gated.report.to_label == len(gated.to_label) and gated.report.copies == 36
    relative = GprAugmentConfig(copies=6, delta_A=0.04, gate="relative", max_std_relative=1e-6,
                                model=GprConfig(restarts=1))
    assert not gpr_augment(train, relative, np.random.default_rng(3)).added   # everything gated


def test_needs_forces():
    rows = [LabelledStructure(h2(1.2), Labels(0.1), Provenance(Source.REFERENCE))]
    with pytest.raises(Exception, match="needs reference structures with forces"):
        gpr_augment(rows, GprAugmentConfig(), np.random.default_rng(0))


def test_cli_augment_writes_added_candidates_and_model(tmp_path, capsys):
    images = [h2(d) for d in np.linspace(1.0, 2.0, 6)]
    for a in images:
        a.get_forces()
    write(tmp_path / "train.extxyz", images)
    (tmp_path / "spec.toml").write_text(
        '[input]\nstructures = ["train.extxyz"]\nseed = 3\n'
        '[output]\nadded = "out/added.extxyz"\nto_label = "out/to_label.extxyz"\nmodel = "out/gpr"\n'
        '[augment]\nkind = "gpr"\ncopies = 4\ndelta_A = 0.02\nmax_std_eV = 0.5\n'
        '[augment.model]\nrestarts = 1\n')
    assert main(["augment", str(tmp_path / "spec.toml")]) == 0
    added = read(tmp_path / "out" / "added.extxyz", index=":")
    assert len(added) == 24 and added[0].info["source"] == "gpr" and "std_eV" in added[0].info
    assert (tmp_path / "out" / "gpr" / "manifest.json").exists()
    assert "H2/0" in capsys.readouterr().out


def test_cli_augment_bad_key_is_a_user_error(tmp_path, capsys):
    (tmp_path / "spec.toml").write_text('[input]\nstructures = []\n[augment]\nkind = "gpr"\ncopie = 3\n')
    assert main(["augment", str(tmp_path / "spec.toml")]) == 2
    assert "augment.copie" in capsys.readouterr().err
