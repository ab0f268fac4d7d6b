"""End to end on the real parts (EMT reference, tiny periodic Cu): iteration 0 from reference
MD, the close-contact correction set, ``[dispatch] jobs_dir`` outside the campaign, and the
walkers of the loop on a parallel engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ase.calculators.emt import EMT

from alearn.campaign.adapters import DefaultParts
from alearn.campaign.layout import CampaignDir
from alearn.campaign.status import collect, iteration_row, render
from alearn.campaign.loop import run_campaign
from alearn.campaign.snapshot import verify_all
from alearn.data.records import Source
from alearn.data.store import Store
from alearn.errors import UserError
from alearn.explore.sanity import min_pair_distances

DATA = Path(__file__).parent / "data"


def campaign(tmp: Path, replace: dict[str, str], extra: str = "") -> Path:
    """The tiny EMT campaign of ``data/`` with text replacements and extra TOML appended."""
    shutil.copy(DATA / "cu4.xyz", tmp / "cu4.xyz")
    text = (DATA / "tiny-emt.toml").read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp / "campaign.toml"
    path.write_text(text + extra)
    return path


def progress(run: Path, iteration: int) -> dict[str, Any]:
    return json.loads((run / "iterations" / f"{iteration:04d}" / "progress.json").read_text())["stages"]


def job_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir())


def attempts(folder: Path) -> int:
    return sum(len(list(job.glob("attempt_*"))) for job in job_dirs(folder))


def shortest(atoms: Any) -> float:
    return min(min_pair_distances([atoms]).values())


def test_iteration_zero_from_reference_md_labels_its_frames(tmp_path: Path) -> None:
    toml = campaign(tmp_path, {"copies = 6": 'source = "md"\nmd_steps = 20\nmd_interval = 5',
                               "max_iterations = 2": "max_iterations = 1"})
    run_campaign(toml, directory=tmp_path / "run")
    manifests = verify_all(CampaignDir(tmp_path / "run"))
    kept = progress(tmp_path / "run", 0)["initial"]["summary"]
    assert kept["labelled"] == 5 and kept["reference_calculations"] == 21  # steps 0, 5, ..., 20
    assert manifests[0]["counts"]["reference_total"] == 21                # every MD step counted
    counts = manifests[1]["counts"]
    assert counts["reference_total"] == 21 + counts["labelled"] + counts["validation"]
    assert len(job_dirs(tmp_path / "run" / "jobs")) == manifests[1]["counts"]["reference_total"]
    with Store.open(tmp_path / "run" / "store.db") as store:
        steps = list(store.rows(source=Source.REFERENCE, iteration=0))
        frames = list(store.rows(ids=kept["row_ids"]))
    assert len(steps) == 21 and {r.id for r in frames} <= {r.id for r in steps}
    train_and_test = set(manifests[0]["dataset"]["train_ids"]) | set(manifests[0]["dataset"]["test_ids"])
    assert set(kept["row_ids"]) <= train_and_test
    assert not {r.id for r in steps} - set(kept["row_ids"]) & train_and_test   # other steps: store only
    for row in frames:
        assert row.provenance.calculator == "emt" and row.provenance.job_hash
        atoms = row.atoms.copy()
        atoms.calc = EMT()
        assert row.labels.energy == pytest.approx(atoms.get_potential_energy(), abs=1e-9)
    moved = [np.abs(b.atoms.positions - a.atoms.positions).max() for a, b in zip(frames, frames[1:])]
    assert min(moved) > 1e-3                                              # an MD trajectory


class CrashAfterInitial(DefaultParts):
    """The real parts, but the process "dies" once the reference MD of iteration 0 is done."""

    def initial(self, ctx: Any) -> Any:
        super().initial(ctx)
        raise RuntimeError("simulated crash after the reference MD")


def test_reference_md_resumed_after_a_crash_replays_without_recomputing(tmp_path: Path) -> None:
    replace = {"copies = 6": 'source = "md"\nmd_steps = 12\nmd_interval = 4',
               "max_iterations = 2": "max_iterations = 1"}
    toml = campaign(tmp_path, replace)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_campaign(toml, directory=tmp_path / "run", parts_factory=CrashAfterInitial)
    assert len(job_dirs(tmp_path / "run" / "jobs")) == 13
    run_campaign(toml, directory=tmp_path / "run")
    (tmp_path / "clean").mkdir()
    run_campaign(campaign(tmp_path / "clean", replace), directory=tmp_path / "clean" / "run")
    ours, clean = verify_all(CampaignDir(tmp_path / "run")), verify_all(CampaignDir(tmp_path / "clean" / "run"))
    assert [m["dataset"]["content_sha256"] for m in ours] == [m["dataset"]["content_sha256"] for m in clean]
    assert attempts(tmp_path / "run" / "jobs") == len(job_dirs(tmp_path / "run" / "jobs"))


def test_walkers_near_close_contacts_get_a_labelled_correction_set(tmp_path: Path) -> None:
    # hot walkers, and a near-contact limit of 1.15 x 2.2 A for Cu-Cu (fcc neighbours: 2.55 A):
    # the walkers graze it, so the correction set is made from their frames
    toml = campaign(tmp_path, {"temperature_K = 500.0": "temperature_K = 1500.0",
                               "max_iterations = 2": "max_iterations = 1"},
                    '\n[explore.monitor]\npair_min_distance_A = { "Cu-Cu" = 2.2 }\n')
    run_campaign(toml, directory=tmp_path / "run")
    stages = progress(tmp_path / "run", 1)
    select = stages["select"]["summary"]
    made = select["close_contact_structures"]
    assert select["close_contacts"] == len(made) == 2                     # per_pair = 2, one pair
    data_min = select["close_contact_data_min_A"]["Cu-Cu"]
    with Store.open(tmp_path / "run" / "store.db") as store:
        before = [r.atoms for r in store.rows(source=Source.REFERENCE, iteration=0)]
        labelled = list(store.rows(ids=stages["label"]["summary"]["row_ids"]))
    assert data_min == pytest.approx(min(min_pair_distances(before).values()), abs=1e-4)
    assert len(labelled) == select["selected"] == stages["label"]["summary"]["labelled"]
    below = sorted(shortest(r.atoms) for r in labelled if shortest(r.atoms) < data_min - 0.05)
    assert len(below) >= 2                                                # the contact structures
    assert sorted(m["distance_A"] for m in made) == pytest.approx(below[:2], abs=1e-3)
    assert all(m["distance_A"] <= m["target_A"] <= data_min - 0.1 + 1e-9 for m in made)
    assert all(r.provenance.iteration == 1 and np.isfinite(r.labels.energy) for r in labelled)
    assert verify_all(CampaignDir(tmp_path / "run"))[1]["counts"]["close_contacts"] == 2
    rows = collect(tmp_path / "run")["iterations"]
    assert [r["close_contacts"] for r in rows] == [0, 2]


def test_status_shows_the_close_contact_column_only_when_there_are_any(capsys) -> None:
    from rich.console import Console

    def data(cc: int) -> dict:
        row = iteration_row({"iteration": 1, "counts": {"close_contacts": cc, "frames": 4}})
        return {"directory": "d", "iterations": [row], "in_progress": None, "stop_reason": None}

    console = Console(width=200)
    def header(cc: int) -> list[str]:
        render(data(cc), console)
        return next(line for line in capsys.readouterr().out.splitlines() if "walk" in line).split()

    assert "cc" not in header(0) and header(3)[header(3).index("aug") + 1] == "cc"


class CrashAfterLabel(DefaultParts):
    """The real parts, but the process "dies" right after iteration 1's calculations finished
    (before the loop records the label stage)."""

    calls = 0

    def label(self, ctx: Any, structures: Any) -> Any:
        summary = super().label(ctx, structures)
        if ctx.iteration == 1:
            self.calls += 1
            if self.calls == 2:            # the validation frames, then the selected ones
                raise RuntimeError("simulated crash after labelling")
        return summary


def test_jobs_dir_outside_the_campaign_is_used_recorded_and_resumed(tmp_path: Path) -> None:
    toml = campaign(tmp_path, {'engine = "inprocess"': 'engine = "inprocess"\njobs_dir = "scratch/jobs"',
                               "max_iterations = 2": "max_iterations = 1"})
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_campaign(toml, directory=run, parts_factory=CrashAfterLabel)
    scratch = tmp_path / "scratch" / "jobs"
    done_before = len(job_dirs(scratch))
    assert done_before > 6                                                # rattled copies + selected
    run_campaign(toml, directory=run)
    manifests = verify_all(CampaignDir(run))
    assert not (run / "jobs").exists()
    assert len(job_dirs(scratch)) == manifests[-1]["counts"]["reference_total"] == done_before
    assert attempts(scratch) == done_before                              # nothing ran twice
    assert f'jobs_dir = "{scratch}"' in (run / "resolved.toml").read_text()
    resumed = run_campaign(run, allow_changes=False)                      # from the directory
    assert resumed.resumed and resumed.iterations == 2


def test_changing_jobs_dir_is_refused_unless_the_jobs_were_moved_there(tmp_path: Path) -> None:
    toml = campaign(tmp_path, {"max_iterations = 2": "max_iterations = 1"})
    run = tmp_path / "run"
    run_campaign(toml, directory=run)
    finished = len(job_dirs(run / "jobs"))
    text = toml.read_text().replace("max_iterations = 1", "max_iterations = 2")
    toml.write_text(text.replace('engine = "inprocess"', 'engine = "inprocess"\njobs_dir = "moved"'))
    with pytest.raises(UserError) as refused:
        run_campaign(toml, directory=run, allow_changes=True)
    assert "dispatch.jobs_dir" in str(refused.value) and "not safe" in str(refused.value)
    shutil.move(str(run / "jobs"), str(tmp_path / "moved"))
    with pytest.raises(UserError, match="--allow-changes"):
        run_campaign(toml, directory=run)
    run_campaign(toml, directory=run, allow_changes=True)
    manifests = verify_all(CampaignDir(run))
    assert len(manifests) == 3
    assert len(job_dirs(tmp_path / "moved")) == manifests[-1]["counts"]["reference_total"] > finished
    assert attempts(tmp_path / "moved") == len(job_dirs(tmp_path / "moved"))   # nothing ran twice


def walker_arrays(run: Path, iteration: int) -> list[dict[str, bytes]]:
    folder = run / "iterations" / f"{iteration:04d}" / "stages" / "explore"
    out = []
    for path in sorted(folder.glob("walker_*.npz")):
        with np.load(path) as data:
            out.append({k: data[k].tobytes() for k in data.files})
    return out


@pytest.mark.slow
def test_walkers_on_one_or_two_dask_workers_give_identical_campaigns(tmp_path: Path) -> None:
    runs = {}
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        toml = campaign(folder, {'engine = "inprocess"': f'engine = "local"\nworkers = {workers}',
                                 "walkers = 2": "walkers = 3"})
        run_campaign(toml, directory=folder / "run")
        runs[workers] = folder / "run"
    one, two = (verify_all(CampaignDir(runs[w])) for w in (1, 2))
    assert [m["dataset"]["content_sha256"] for m in one] == [m["dataset"]["content_sha256"] for m in two]
    for iteration in (1, 2):
        frames = walker_arrays(runs[1], iteration)
        assert len(frames) == 3 and frames == walker_arrays(runs[2], iteration)
