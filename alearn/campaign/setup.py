"""Opening a campaign: create its directory, or resume it after checking the configuration."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Any

from alearn.campaign.confdiff import describe, diff, judge_jobs_dir
from alearn.files import write_text_atomic
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
    layout.create()
    shutil.copyfile(source, layout.toml)
    write_text_atomic(layout.resolved, resolved_toml(config))
    return layout, config, False


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
    shutil.copyfile(layout.resolved, layout.logs / f"resolved-before-{stamp}.toml")
    shutil.copyfile(source, layout.toml)
    write_text_atomic(layout.resolved, resolved_toml(config))


def run_logger(layout: CampaignDir) -> logging.Logger:
    """A logger writing to ``logs/run.log`` (appended; one line per event)."""
    log = logging.getLogger(f"alearn.campaign.{layout.root.resolve()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging.FileHandler(layout.logs / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log
