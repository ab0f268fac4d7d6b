"""Built-in plugins: labels equal direct ASE calls, schemas validate, registry loads lazily."""

from __future__ import annotations

import json

import shutil
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from alearn.config.schema import ConfigError, build
from alearn.label.dispatcher import Status, label_structures
from alearn.label.engines import InProcessEngine
from alearn.label.protocol import CalculationFailed, FailureKind, ReferenceCalculator
from alearn.label.registry import PluginLoadError, Plugins, calculator_classes, make_calculator

pytestmark = pytest.mark.timeout(120)


def label_one(tmp_path: Path, store, calc, atoms: Atoms):
    report = label_structures([atoms], calc, calc.params.profile, store,
                              engine=InProcessEngine(), jobs_dir=tmp_path / "jobs")
    (outcome,) = report.outcomes
    assert outcome.status is Status.STORED, outcome.reason
    return store.get(outcome.row_id).labels


def make(kind: str, **raw):
    params = build(calculator_classes()[kind].Params, {"kind": kind, **raw}, path="reference")
    return make_calculator(params)


def test_registry_lists_every_builtin_kind() -> None:
    plugins = calculator_classes()
    for kind in ("emt", "lj", "xtb", "pyscf", "espresso", "ase", "aims", "vasp"):
        assert kind in plugins
    for kind in ("emt", "lj", "xtb", "pyscf", "espresso", "ase"):
        calc = make(kind, **({"calculator": "ase.calculators.emt:EMT"} if kind == "ase" else {})
                    | ({"pseudopotentials": {"Si": "Si.pbe-rrkj.UPF"},
                        "profile": {"pseudo_dir": "/tmp"}} if kind == "espresso" else {}))
        assert isinstance(calc, ReferenceCalculator)
        assert calc.name == kind and calc.version


def test_a_broken_plugin_fails_only_when_asked_for() -> None:
    plugins = Plugins({
        "good": EntryPoint("good", "alearn_calculators.analytic:EmtCalculator", "x"),
        "broken": EntryPoint("broken", "alearn_calculators.not_written_yet:Nothing", "x")})
    assert set(plugins) == {"good", "broken"}
    assert plugins["good"].name == "emt"
    with pytest.raises(PluginLoadError, match="'broken'.*not_written_yet"):
        plugins["broken"]
    assert set(plugins.loadable()) == {"good"}


def test_emt_labels_equal_a_direct_ase_call(tmp_path, store) -> None:
    from ase.calculators.emt import EMT

    atoms = bulk("Cu", cubic=True) * (2, 1, 1)
    atoms.rattle(0.05, seed=3)
    row = label_one(tmp_path, store, make("emt"), atoms)
    direct = atoms.copy()
    direct.calc = EMT()
    assert row.energy == pytest.approx(direct.get_potential_energy(), abs=1e-10)
    np.testing.assert_allclose(row.forces, direct.get_forces(), atol=1e-10)
    np.testing.assert_allclose(row.stress, direct.get_stress(), atol=1e-10)


def test_xtb_labels_equal_a_direct_tblite_call(tmp_path, store) -> None:
    from tblite.ase import TBLite

    atoms = molecule("H2O")
    atoms.rattle(0.02, seed=1)
    row = label_one(tmp_path, store, make("xtb", method="GFN2-xTB"), atoms)
    direct = atoms.copy()
    direct.calc = TBLite(method="GFN2-xTB", verbosity=0)
    assert row.energy == pytest.approx(direct.get_potential_energy(), abs=1e-8)
    np.testing.assert_allclose(row.forces, direct.get_forces(), atol=1e-7)


def test_xtb_scf_failure_is_physics_and_recovery_converges(tmp_path, store) -> None:
    calc = make("xtb", max_iterations=3)
    with pytest.raises(CalculationFailed) as info:
        calc.compute(molecule("H2O"))
    assert info.value.kind is FailureKind.PHYSICS
    better = calc.recover(info.value, 1)
    assert better.params.max_iterations == 6 and better.params.mixer_damping == 0.2
    report = label_structures([molecule("H2O")], calc, calc.params.profile, store,
                              engine=InProcessEngine(), jobs_dir=tmp_path / "jobs", attempts=6)
    (outcome,) = report.outcomes
    assert outcome.status is Status.STORED and outcome.attempts > 1
    from alearn.label.jobs import JobDir

    records = JobDir(tmp_path / "jobs" / outcome.job_hash).records()
    assert {r.kind for r in records[:-1]} == {FailureKind.PHYSICS}


def test_lj_and_generic_ase_plugins_match_ase(tmp_path, store) -> None:
    from ase.calculators.lj import LennardJones
    from ase.calculators.morse import MorsePotential

    atoms = Atoms("Ar3", positions=[[0, 0, 0], [1.1, 0, 0], [0.2, 1.0, 0.3]])
    row = label_one(tmp_path / "lj", store, make("lj", sigma_A=1.0, epsilon_eV=0.5), atoms)
    direct = atoms.copy()
    direct.calc = LennardJones(sigma=1.0, epsilon=0.5, rc=3.0)
    assert row.energy == pytest.approx(direct.get_potential_energy(), abs=1e-12)
    calc = make("ase", calculator="ase.calculators.morse:MorsePotential",
                kwargs={"epsilon": 0.7, "r0": 1.2})
    moved = atoms.copy()
    moved.positions[2] += 0.1
    row = label_one(tmp_path / "morse", store, calc, moved)
    direct = moved.copy()
    direct.calc = MorsePotential(epsilon=0.7, r0=1.2)
    np.testing.assert_allclose(row.forces, direct.get_forces(), atol=1e-12)


def test_generic_plugin_reports_a_bad_import_path() -> None:
    from alearn.errors import UserError

    calc = make("ase", calculator="ase.calculators.nothing:Nope")
    with pytest.raises(UserError, match="cannot import 'ase.calculators.nothing'"):
        calc.ase_calculator(molecule("H2"))
    with pytest.raises(ConfigError, match=r"\[reference.calculator\]"):
        make("ase", calculator="EMT")


def test_configuration_errors_in_a_worker_are_terminal(tmp_path, store) -> None:
    calc = make("ase", calculator="ase.calculators.nothing:Nope")
    report = label_structures([molecule("H2")], calc, calc.params.profile, store,
                              engine=InProcessEngine(), jobs_dir=tmp_path / "jobs", attempts=3)
    (outcome,) = report.outcomes
    assert outcome.status is Status.FAILED and outcome.kind is FailureKind.INVALID
    assert "cannot import" in outcome.reason and outcome.attempts == 1


def test_isolated_in_process_calculator_runs_in_a_child(tmp_path, store) -> None:
    calc = make("emt", profile={"isolate": True})
    atoms = bulk("Cu", cubic=True)
    atoms.rattle(0.05, seed=5)
    row = label_one(tmp_path, store, calc, atoms)
    from ase.calculators.emt import EMT

    atoms.calc = EMT()
    assert row.energy == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
    (started,) = [json.loads(p.read_text()) for p in (tmp_path / "jobs").rglob("started.json")]
    assert started["isolated"] is True


def test_pyscf_molecule_matches_pyscf_directly(tmp_path, store) -> None:
    from pyscf import dft, gto

    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.76]])
    row = label_one(tmp_path, store, make("pyscf", basis="sto-3g", xc="LDA"), atoms)
    mol = gto.M(atom="H 0 0 0; H 0 0 0.76", basis="sto-3g", unit="Angstrom", verbose=0)
    mf = dft.RKS(mol, xc="LDA")
    energy = mf.kernel() * 27.211386245988
    assert row.energy == pytest.approx(energy, abs=1e-5)
    grad = mf.nuc_grad_method().kernel() * 27.211386245988 / 0.52917721092
    np.testing.assert_allclose(row.forces, -grad, atol=1e-4)
    assert row.forces[0, 2] == pytest.approx(-row.forces[1, 2])


def test_pyscf_recovery_recipe_escalates() -> None:
    calc = make("pyscf")
    failure = CalculationFailed(FailureKind.PHYSICS, "not converged")
    first = calc.recover(failure, 1)
    assert first.params.level_shift_Ha == 0.2 and first.params.max_cycle == 100
    second = first.recover(failure, 2)
    assert second.params.newton
    assert second.recover(failure, 3) is None


def test_espresso_needs_a_pseudo_dir() -> None:
    import os

    if os.environ.get("ESPRESSO_PSEUDO"):
        pytest.skip("ESPRESSO_PSEUDO is set")
    with pytest.raises(ConfigError, match=r"reference.profile.pseudo_dir"):
        make("espresso", pseudopotentials={"Si": "Si.pbe-rrkj.UPF"})


def test_espresso_writes_input_and_classifies_outputs(tmp_path) -> None:
    calc = make("espresso", pseudopotentials={"Si": "Si.pbe-rrkj.UPF"}, ecutwfc_Ry=12.0,
                kpts=[2, 2, 2], profile={"pseudo_dir": str(tmp_path), "launcher": "mpirun -np {ranks}",
                                         "ranks": 2})
    calc.write_input(bulk("Si"), tmp_path, calc.params.profile)
    text = (tmp_path / "espresso.pwi").read_text()
    assert "ecutwfc" in text and "Si.pbe-rrkj.UPF" in text and "2 2 2" in text
    assert calc.command(calc.params.profile) == ["mpirun", "-np", "2", "pw.x", "-in",
                                                 "espresso.pwi"]
    (tmp_path / "stdout.txt").write_text("Program PWSCF\n     total energy = -15.8 Ry\n")
    with pytest.raises(CalculationFailed) as info:
        calc.read_results(tmp_path)
    assert info.value.kind is FailureKind.INFRASTRUCTURE
    (tmp_path / "stdout.txt").write_text("convergence NOT achieved after 100 iterations\n")
    with pytest.raises(CalculationFailed) as info:
        calc.read_results(tmp_path)
    assert info.value.kind is FailureKind.PHYSICS
    assert calc.recover(info.value, 1).params.mixing_beta == pytest.approx(0.35)


PSEUDO = Path("/usr/share/espresso/pseudo")


@pytest.mark.espresso
@pytest.mark.skipif(shutil.which("pw.x") is None or not PSEUDO.is_dir(),
                    reason="Quantum ESPRESSO pw.x (Debian quantum-espresso) is not installed")
def test_espresso_silicon_with_real_pw_x(tmp_path, store) -> None:
    calc = make("espresso", pseudopotentials={"Si": "Si.pz-vbc.UPF"}, ecutwfc_Ry=12.0,
                kpts=[2, 2, 2], profile={"pseudo_dir": str(PSEUDO)})
    atoms = bulk("Si")
    atoms.positions[1] += [0.05, 0.0, 0.0]
    row = label_one(tmp_path, store, calc, atoms)
    assert -250 < row.energy < -200  # 2 Si atoms, LDA, ~ -7.9 Ry each
    np.testing.assert_allclose(row.forces.sum(axis=0), 0.0, atol=1e-3)
    assert abs(row.forces[1, 0]) > 1e-3
    assert row.stress.shape == (6,)


@pytest.mark.slow
def test_pyscf_periodic_forces_and_stress_match_finite_differences() -> None:
    calc = make("pyscf", periodic_basis="gth-szv", pseudo="gth-pade", xc="LDA", stress=True)
    plain = make("pyscf", periodic_basis="gth-szv", pseudo="gth-pade", xc="LDA")
    atoms = Atoms("H2", positions=[[0, 0, 0], [0.1, 0, 0.75]], cell=[4, 4, 4], pbc=True)
    labels = calc.compute(atoms)
    np.testing.assert_allclose(labels.forces.sum(axis=0), 0.0, atol=1e-3)
    h = 0.005
    energies = []
    for sign in (1, -1):
        moved = atoms.copy()
        moved.positions[1, 2] += sign * h
        energies.append(plain.compute(moved).energy)
    assert labels.forces[1, 2] == pytest.approx(-(energies[0] - energies[1]) / (2 * h), abs=2e-3)
    eps = 0.003
    strained = []
    for sign in (1, -1):
        s = atoms.copy()
        s.set_cell(np.diag([4.0, 4.0, 4.0 * (1 + sign * eps)]), scale_atoms=True)
        strained.append(plain.compute(s).energy)
    sigma_zz = (strained[0] - strained[1]) / (2 * eps) / atoms.get_volume()
    assert labels.stress[2, 2] == pytest.approx(sigma_zz, abs=2e-3)
