"""``alearn label``: stand-alone, resumable labelling with a summary of failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write

from alearn.cli import main
from alearn.data.store import Store

pytestmark = pytest.mark.timeout(120)

EMT = """
[reference]
kind = "emt"

[dispatch]
engine = "inprocess"
"""


def structures(tmp_path: Path, n: int = 3) -> Path:
    frames = []
    for i in range(n):
        atoms = bulk("Cu", cubic=True)
        atoms.rattle(0.05, seed=i)
        frames.append(atoms)
    path = tmp_path / "cu.extxyz"
    write(path, frames)
    return path


def test_label_then_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "emt.toml").write_text(EMT)
    args = ["label", str(structures(tmp_path)), "--calculator", str(tmp_path / "emt.toml"),
            "--into", str(tmp_path / "store.db")]
    assert main(args) == 0
    assert "3 stored" in capsys.readouterr().err
    with Store.open(tmp_path / "store.db") as store:
        assert store.count() == 3
    assert len(list((tmp_path / "jobs").glob("*/result.json"))) == 3
    assert main(args) == 0
    assert "(3 reused from earlier runs)" in capsys.readouterr().err
    with Store.open(tmp_path / "store.db") as store:
        assert store.count() == 3


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_failures_are_summarised_and_exit_code_is_one(tmp_path: Path, monkeypatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    (tmp_path / "lj.toml").write_text('[reference]\nkind = "lj"\n[dispatch]\nengine = "inprocess"\n')
    path = tmp_path / "bad.extxyz"
    write(path, [Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 1.1]]),
                 Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 0]])])
    code = main(["label", str(path), "-c", str(tmp_path / "lj.toml"), "--into",
                 str(tmp_path / "s.db"), "--jobs-dir", str(tmp_path / "j")])
    err = capsys.readouterr().err
    assert code == 1
    assert "1 stored, 1 failed" in err
    assert "invalid" in err and "not finite" in err


@pytest.mark.parametrize("content, message", [
    ('[dispatch]\nengine = "local"\n', "no [reference] table"),
    ('[reference]\nkind = "emtt"\n', "did you mean 'emt'"),
    ('[reference]\nkind = "lj"\nsigma_A = -1.0\n', "[reference.sigma_A]"),
    ('[reference]\nkind = "emt"\n[dispatch]\nengine = "scheduler"\n',
     "[dispatch.scheduler_address] is required"),
])
def test_bad_calculator_files_are_user_errors(tmp_path: Path, capsys, content: str,
                                              message: str) -> None:
    (tmp_path / "c.toml").write_text(content)
    code = main(["label", str(structures(tmp_path, 1)), "-c", str(tmp_path / "c.toml"),
                 "--into", str(tmp_path / "s.db")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_missing_structure_file_is_a_user_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "emt.toml").write_text(EMT)
    code = main(["label", str(tmp_path / "nope.xyz"), "-c", str(tmp_path / "emt.toml"),
                 "--into", str(tmp_path / "s.db")])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_show_job_script(tmp_path: Path, capsys) -> None:
    (tmp_path / "c.toml").write_text('[reference]\nkind = "emt"\n[dispatch]\nengine = "slurm"\n'
                                     'cores_per_job = 4\nqueue = "short"\n')
    assert main(["label", "x.xyz", "-c", str(tmp_path / "c.toml"), "--into", "s.db",
                 "--show-job-script"]) == 0
    out = capsys.readouterr().out
    assert "#SBATCH -p short" in out and "#SBATCH --cpus-per-task=4" in out
