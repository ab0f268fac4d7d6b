"""The example campaigns li-ec-aims and water-vasp: valid, seed-004 settings, golden input files,
and labelling and whole small campaigns through fake Slurm (sbatch pilot jobs, srun, fake
aims.x / vasp_std; marked slow).

Golden files live in tests/calculators/golden/; regenerate them after an intended change with
``ALEARN_UPDATE_GOLDEN=1 pytest tests/calculators/test_aims_vasp_campaigns.py``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from ase.io import read

from alearn.config.campaign import load_campaign
from alearn_calculators.aims import AimsCalculator
from alearn_calculators.vasp import VaspCalculator

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGNS = ROOT / "campaigns"
FAKES = ROOT / "tests" / "fakes"
GOLDEN = Path(__file__).with_name("golden")


def _helper(name: str):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def without_comments(text: str) -> str:
    """Input text without the comment lines ASE stamps with the date."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ALEARN_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"golden file {path} missing (run with ALEARN_UPDATE_GOLDEN=1)"
    assert text == path.read_text(), f"{name} differs from its golden file"


def test_li_ec_campaign_has_the_seed_004_settings() -> None:
    config = load_campaign(CAMPAIGNS / "li-ec-aims.toml")
    ref = config.reference
    assert (ref.kind, ref.xc, ref.species_level, ref.relativistic, ref.k_grid) == (
        "aims", "hse06", "tight", "atomic_zora", (5, 5, 1))
    atoms = read(config.campaign.structures[0])
    assert len(atoms) == 46 and atoms.get_chemical_formula(mode="hill") == "C3H4Li36O3"
    assert list(atoms.pbc) == [True, True, False]
    distances = atoms.get_all_distances(mic=True)
    np.fill_diagonal(distances, np.inf)
    assert distances.min() > 0.9
    assert config.dispatch.engine == "slurm" and config.reference.profile.ranks == 128


def test_dry_run_lines_of_the_example_campaigns() -> None:
    from alearn_calculators import aims, vasp

    lines = aims.dry_run_lines(load_campaign(CAMPAIGNS / "li-ec-aims.toml").reference)
    assert lines[0] == "module load intel/2023.1 impi/2021.9"
    assert lines[-1] == ("srun -n 128 -c 1 /path/to/FHIaims/build/aims.240507.scalapack.mpi.x "
                         "> stdout.txt 2> stderr.txt")
    lines = vasp.dry_run_lines(load_campaign(CAMPAIGNS / "water-vasp.toml").reference)
    assert lines[-1] == "srun -n 64 vasp_std > stdout.txt 2> stderr.txt"


def test_water_campaign_is_valid() -> None:
    config = load_campaign(CAMPAIGNS / "water-vasp.toml")
    assert config.reference.kind == "vasp" and config.reference.kpoints == (2, 2, 2)
    atoms = read(config.campaign.structures[0])
    assert len(atoms) == 96 and atoms.get_volume() == pytest.approx(9.86 ** 3)


def test_golden_aims_inputs_for_the_li_ec_slab(tmp_path: Path) -> None:
    config = load_campaign(CAMPAIGNS / "li-ec-aims.toml")
    species = _helper("test_aims").write_species(tmp_path / "species", levels=("tight",))
    profile = config.reference.profile.__class__(species_dir=species)
    atoms = read(config.campaign.structures[0])
    AimsCalculator(config.reference).write_input(atoms, tmp_path / "run", profile)
    control = (tmp_path / "run" / "control.in").read_text()
    assert "compute_analytical_stress" not in control  # a slab: no stress
    check_golden("li-ec-aims/control.in", control)
    check_golden("li-ec-aims/geometry.in", without_comments((tmp_path / "run" / "geometry.in").read_text()))


def test_golden_vasp_inputs_for_liquid_water(tmp_path: Path) -> None:
    config = load_campaign(CAMPAIGNS / "water-vasp.toml")
    pseudo = _helper("test_vasp").write_potcars(tmp_path / "potpaw")
    profile = config.reference.profile.__class__(pseudo_dir=pseudo)
    atoms = read(config.campaign.structures[0])
    VaspCalculator(config.reference).write_input(atoms, tmp_path / "run", profile)
    for name in ("INCAR", "KPOINTS", "POSCAR", "POTCAR"):
        check_golden(f"water-vasp/{name}", (tmp_path / "run" / name).read_text())


# ----------------------------------------------------------------- through fake Slurm
def campaign_for_fakes(source: Path, tmp_path: Path, **replace: str) -> Path:
    """The example campaign with the cluster lines pointed at the fakes."""
    text = source.read_text()
    text = re.sub(r'^modules = .*$', "modules = []", text, flags=re.M)
    text = re.sub(r'^interface = .*$', "", text, flags=re.M)
    text = re.sub(r'^\[dispatch\]\n', '[dispatch]\ninterface = "lo"\n', text, flags=re.M)
    for key, value in replace.items():
        text = re.sub(rf'^{key} = .*$', f"{key} = {value}", text, flags=re.M)
    target = tmp_path / source.name
    target.write_text(text)
    (tmp_path / "data").mkdir(exist_ok=True)
    for structure in (CAMPAIGNS / "data").iterdir():
        (tmp_path / "data" / structure.name).write_bytes(structure.read_bytes())
    return target


@pytest.fixture
def fake_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = f"{FAKES / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    monkeypatch.setenv("PATH", path)
    monkeypatch.setenv("FAKE_SLURM_DIR", str(tmp_path / "slurm"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for name in ("FAKE_AIMS_MODE", "FAKE_AIMS_SCF", "FAKE_VASP_MODE", "FAKE_VASP_SCF"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def label_through_slurm(toml: Path, frames, tmp_path: Path):
    from alearn.data.store import Store
    from alearn.label.command import load_label_file
    from alearn.label.dispatcher import label_structures
    from alearn.label.engines import make_engine

    spec, _ = load_label_file(toml)
    calc = (AimsCalculator if spec.reference.kind == "aims" else VaspCalculator)(spec.reference)
    with make_engine(spec.dispatch) as engine, Store.open(tmp_path / "store.db") as store:
        report = label_structures(frames, calc, spec.reference.profile, store, engine=engine,
                                  jobs_dir=tmp_path / "jobs", attempts=spec.dispatch.attempts,
                                  timeout_s=120.0, max_concurrent=spec.dispatch.concurrency)
        rows = [store.get(o.row_id) for o in report.outcomes if o.row_id is not None]
    return report, rows


def test_alearn_label_command_runs_the_example_aims_reference(fake_cluster: Path, capsys) -> None:
    """``alearn label`` with the example campaign file as calculator file (engine inprocess)."""
    from alearn.cli import main

    tmp_path = fake_cluster
    species = _helper("test_aims").write_species(tmp_path / "species", levels=("tight",))
    toml = campaign_for_fakes(CAMPAIGNS / "li-ec-aims.toml", tmp_path, engine='"inprocess"',
                              command=f'"{FAKES / "aims.x"}"', species_dir=f'"{species}"')
    argv = ["label", str(tmp_path / "data" / "li100-ec.xyz"), "-c", str(toml),
            "--into", str(tmp_path / "labels.db"), "--jobs-dir", str(tmp_path / "jobs")]
    assert main(argv) == 0
    from alearn.data.store import Store

    with Store.open(tmp_path / "labels.db") as store:
        (row,) = list(store.rows())
    assert row.labels.forces.shape == (46, 3) and row.provenance.calculator == "aims"
    assert main(argv) == 0  # a second call ingests, runs nothing
    assert len(list((tmp_path / "jobs").glob("*/attempt_*"))) == 1


def rattled(path: Path, n: int) -> list:
    atoms = read(path)
    frames = []
    for seed in range(n):
        copy = atoms.copy()
        copy.rattle(0.03, seed=seed)
        frames.append(copy)
    return frames


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_li_ec_campaign_labels_through_fake_slurm(fake_cluster: Path) -> None:
    tmp_path = fake_cluster
    species = _helper("test_aims").write_species(tmp_path / "species", levels=("tight",))
    toml = campaign_for_fakes(CAMPAIGNS / "li-ec-aims.toml", tmp_path, workers="2",
                              command=f'"{FAKES / "aims.x"}"', species_dir=f'"{species}"')
    frames = rattled(tmp_path / "data" / "li100-ec.xyz", 2)
    report, rows = label_through_slurm(toml, frames, tmp_path)
    assert [o.status.value for o in report.outcomes] == ["stored", "stored"], report.outcomes
    jobs = sorted((tmp_path / "jobs").glob("*/attempt_01"))
    assert "xc                     hse06 0.11" in (jobs[0] / "control.in").read_text()
    assert (jobs[0] / "stdout.txt.gz").is_file()
    assert all(row.labels.forces.shape == (46, 3) for row in rows)
    assert list((tmp_path / "slurm").glob("*.sh")), "no pilot job went through sbatch"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_water_campaign_labels_through_fake_slurm(fake_cluster: Path) -> None:
    tmp_path = fake_cluster
    pseudo = _helper("test_vasp").write_potcars(tmp_path / "potpaw")
    toml = campaign_for_fakes(CAMPAIGNS / "water-vasp.toml", tmp_path, workers="2",
                              command=f'"{FAKES / "vasp_std"}"', pseudo_dir=f'"{pseudo}"')
    frames = rattled(tmp_path / "data" / "water-32.xyz", 2)
    report, rows = label_through_slurm(toml, frames, tmp_path)
    assert [o.status.value for o in report.outcomes] == ["stored", "stored"], report.outcomes
    assert all(row.labels.stress is not None for row in rows)
    assert list((tmp_path / "slurm").glob("*.sh")), "no pilot job went through sbatch"


# ------------------------------------------------------- whole campaigns (loop + fakes)
SMALL = dict(members="2", hidden="[8, 8]", epochs="30", copies="4", budget="2", walkers="1",
             steps="20", max_iterations="1", workers="2", batch_size="8", patience="10")


def run_small_campaign(toml: Path, tmp_path: Path):
    from alearn.campaign.loop import run_campaign

    outcome = run_campaign(toml, directory=tmp_path / "campaign")
    results = list((tmp_path / "campaign").rglob("result.json"))
    return outcome, results


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_li_ec_aims_campaign_end_to_end_with_fake_slurm(fake_cluster: Path) -> None:
    tmp_path = fake_cluster
    species = _helper("test_aims").write_species(tmp_path / "species", levels=("tight",))
    toml = campaign_for_fakes(CAMPAIGNS / "li-ec-aims.toml", tmp_path, command=f'"{FAKES / "aims.x"}"',
                              species_dir=f'"{species}"', **SMALL)
    outcome, results = run_small_campaign(toml, tmp_path)
    assert "maximum number of iterations" in outcome.stop_reason
    assert len(results) >= 2 and list((tmp_path / "slurm").glob("*.sh"))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_water_vasp_campaign_end_to_end_with_fake_slurm(fake_cluster: Path) -> None:
    tmp_path = fake_cluster
    pseudo = _helper("test_vasp").write_potcars(tmp_path / "potpaw")
    toml = campaign_for_fakes(CAMPAIGNS / "water-vasp.toml", tmp_path, command=f'"{FAKES / "vasp_std"}"',
                              pseudo_dir=f'"{pseudo}"', **SMALL)
    outcome, results = run_small_campaign(toml, tmp_path)
    assert "maximum number of iterations" in outcome.stop_reason
    assert len(results) >= 2 and list((tmp_path / "slurm").glob("*.sh"))
