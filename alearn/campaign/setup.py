"""Opening a campaign: create its directory, or resume it after checking the configuration."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from alearn.campaign.confdiff import describe, diff, judge_jobs_dir
from alearn.files import fsync_dir, write_bytes_atomic, write_text_atomic
from alearn.campaign.layout import CampaignDir
from alearn.config.campaign import load_campaign, read_toml
from alearn.config.schema import to_dict
from alearn.errors import UserError


def resolved_toml(config: Any) -> str:
    """The configuration with every default, as TOML."""
    import tomli_w

    header = "# every option of this campaign, defaults included (written by alearn run)\n"
    return header + tomli_w.dumps(to_dict(config))


def default_directory(config: Any) -> Path:
    return Path.cwd() / config.campaign.name


def open_campaign(source: Path, directory: Path | None, allow_changes: bool) -> tuple[CampaignDir, Any, bool]:
    """(layout, configuration, resumed) for a TOML file or an existing campaign directory."""
    source = Path(source).resolve()
    if source.is_dir():
        existing = CampaignDir(source)
        existing.require()
        config = load_campaign(existing.resolved)
        return CampaignDir(source, config.dispatch.jobs_dir), config, True
    config = load_campaign(source)
    root = Path(directory) if directory is not None else default_directory(config)
    layout = CampaignDir(root, config.dispatch.jobs_dir)
    if layout.is_campaign():
        _check_changes(layout, source, config, allow_changes)
        return layout, config, True
    if layout.root.exists() and any(layout.root.iterdir()):
        raise UserError(f"{layout.root} exists and is not a campaign directory; choose another "
                        "directory with --dir or remove it")
    _create(layout, source, config)
    return layout, config, False


def _create(layout: CampaignDir, source: Path, config: Any) -> None:
    """Build the new campaign directory beside its place and rename it there, so a run killed
    while it is created leaves nothing half-made (only a hidden folder, removed next time)."""
    root = layout.root.resolve()
    root.parent.mkdir(parents=True, exist_ok=True)
    for stale in root.parent.glob(f".{root.name}.creating-*"):
        shutil.rmtree(stale, ignore_errors=True)
    building = Path(tempfile.mkdtemp(prefix=f".{root.name}.creating-", dir=root.parent))
    mask = os.umask(0)
    os.umask(mask)
    building.chmod(0o777 & ~mask)  # mkdtemp's 0700 is for secrets, not for a campaign
    draft = CampaignDir(building, layout.jobs_dir)
    draft.create()
    write_text_atomic(draft.resolved, resolved_toml(config))
    write_bytes_atomic(draft.toml, source.read_bytes())
    os.rename(building, root)  # replaces an empty directory the user made for it
    fsync_dir(root.parent)
    layout.create()  # a jobs_dir outside the campaign directory


def _check_changes(layout: CampaignDir, source: Path, config: Any, allow_changes: bool) -> None:
    changes = [judge_jobs_dir(c, layout.root) for c in diff(read_toml(layout.resolved), config)]
    if not changes:
        return
    unsafe = [c for c in changes if not c.safe]
    if unsafe or not allow_changes:
        advice = ("these keys cannot change in a running campaign; start a new campaign "
                  "directory (--dir) or restore the old values" if unsafe else
                  "all of them are safe to change; run again with --allow-changes to accept them")
        raise UserError(f"{source} differs from the configuration of the campaign in "
                        f"{layout.root}:\n{describe(changes)}\n{advice}")
    stamp = time.strftime("%Y%m%dT%H%M%S")
    archived = f"resolved-before-{stamp}.toml"
    shutil.copyfile(layout.resolved, layout.logs / archived)
    _log_changes(layout, archived, changes)
    shutil.copyfile(source, layout.toml)
    write_text_atomic(layout.resolved, resolved_toml(config))


def _log_changes(layout: CampaignDir, archived: str, changes: list[Any]) -> None:
    """One line in ``logs/changes.jsonl`` per accepted change set (``alearn status`` shows it)."""
    import json

    from alearn.campaign.status import CHANGES_LOG

    entry = {"time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "archived": archived,
             "before_iteration": sum(1 for p in layout.iterations.iterdir() if p.name.isdigit()),
             "changes": [{"key": c.key, "old": repr(c.old), "new": repr(c.new), "note": c.note}
                         for c in changes]}
    with (layout.logs / CHANGES_LOG).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


class _LogFile(logging.FileHandler):
    """``logs/run.log``: a line that cannot be written (a full disk) is dropped silently — the
    log is bookkeeping, and the write that matters fails on its own with a clear message."""

    def handleError(self, record: logging.LogRecord) -> None:
        return None


def run_logger(layout: CampaignDir) -> logging.Logger:
    """A logger writing to ``logs/run.log`` (appended; one line per event)."""
    log = logging.getLogger(f"alearn.campaign.{layout.root.resolve()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = _LogFile(layout.logs / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log


def reconcile_store(store: Any, layout: CampaignDir, manifests: list[Any],
                    log: logging.Logger) -> None:
    """Check the store against what the snapshots (and the running iteration's finished
    stages) say it holds; put missing reference rows back from the job directories (the
    source of truth); stop with a :class:`UserError` when rows are missing that no job
    directory holds, or when rows were altered after a snapshot listed them."""
    from alearn.label.rebuild import restore_reference_rows

    expected = _expected_ids(layout, manifests)
    missing = sorted(expected - store.present(expected)) if expected else []
    if missing:
        restored = restore_reference_rows(store, layout.jobs, missing)
        log.warning("the store %s lacked %d rows the snapshots list; %d rebuilt from job "
                    "directories", store.url, len(missing), len(restored.restored))
        if restored.unrestorable:
            shown = ", ".join(map(str, restored.unrestorable[:10]))
            more = " ..." if len(restored.unrestorable) > 10 else ""
            raise UserError(
                f"the store {store.url} lacks {len(restored.unrestorable)} rows the campaign's "
                f"snapshots use ({shown}{more}) and no job directory holds them (imported, "
                f"Taylor or GPR rows); restore the store from a backup, or remove the "
                f"snapshots that use them (iterations/NNNN, the latest first) so those "
                f"iterations are redone — every reference calculation is reused from "
                f"{layout.jobs}")
    if manifests:
        _check_dataset_unchanged(store, manifests[-1])


def _expected_ids(layout: CampaignDir, manifests: list[Any]) -> set[int]:
    from alearn.campaign.progress import PROGRESS, Progress
    from alearn.campaign.stages import new_row_ids, previous_ids

    ids = previous_ids(manifests[-1]) if manifests else set()
    staging = layout.staging(len(manifests))
    if (staging / PROGRESS).is_file():
        ids |= new_row_ids(Progress(staging))
    return ids


def _check_dataset_unchanged(store: Any, manifest: Any) -> None:
    """``manifest``: an :class:`~alearn.campaign.records.IterationManifest`."""
    from alearn.campaign.datahash import content_hash

    data = manifest.dataset
    rows = list(store.rows(ids=[*data.train_ids, *data.test_ids, *data.validation()]))
    if content_hash(rows) != data.content_sha256:
        raise UserError(f"rows of the store {store.url} that snapshot {manifest.iteration:04d} "
                        "lists were changed after it was committed (their content no longer "
                        "matches its dataset checksum); restore the store from a backup, or "
                        "delete it (reference rows are rebuilt from the job directories; "
                        "imported and augmented rows need their iterations redone)")
