"""The campaign file: the top-level schema and ``load_campaign``.

The plugin sections — ``[reference]``, ``[model]``, ``[augment]``, ``[explore]`` and, inside
``[select]``, ``measure`` and ``selector`` — are tagged unions assembled from the registries of
:mod:`alearn.registry`: an installed plugin extends the schema, ``alearn validate`` and
``docs/config.md`` without an edit here.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from alearn.config.ann import DescriptorConfig, TrainConfig
from alearn.config.dispatch import DispatchConfig
from alearn.config.explore import SelectConfig
from alearn.config.legacy import upgrade
from alearn.config.loop import EvaluateConfig, InitialConfig, LoopConfig, StopConfig
from alearn.config.schema import ConfigError, Invalid, build, option
from alearn.config.store import StoreConfig
from alearn.registry import (AUGMENTERS, CALCULATORS, EXPLORERS, SURROGATES, default_params,
                             kinds_of)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def reference_kinds() -> Mapping[str, type]:
    """Reference calculators selectable in [reference]: every ``alearn.calculators`` plugin."""
    return kinds_of(CALCULATORS)()


#: a campaign name: one path component, not "." or ".."
NAME = re.compile(r"^(?!\.{1,2}$)[\w.-]+$")


@dataclass(frozen=True)
class CampaignSection:
    """[campaign] — identity and reproducibility."""

    name: str = option(doc="campaign name, used in reports and as the default directory name (letters, digits, . _ -)")
    seed: int = option(0, doc="seed of every random choice in the campaign", ge=0)
    structures: tuple[Path, ...] = option((), doc="initial geometries: files of structures in any format ase.io.read reads (every frame of each file is used)", structures=True)

    def check(self) -> None:
        if not NAME.match(self.name):
            raise Invalid("name", f"found {self.name!r}, expected a non-empty name of letters, "
                          "digits and . _ - (it names the campaign directory), e.g. 'water-xtb'")


@dataclass(frozen=True)
class Campaign:
    """A whole campaign file."""

    campaign: CampaignSection = option(doc="identity and initial structures")
    reference: Any = option(doc="the reference calculator (kind = a registered alearn.calculators plugin)", kinds=kinds_of(CALCULATORS))
    model: Any = option(factory=default_params(SURROGATES, "committee"), doc="the surrogate (kind = a registered alearn.surrogates plugin)", kinds=kinds_of(SURROGATES))
    descriptor: DescriptorConfig = option(factory=DescriptorConfig, doc="descriptor of atomic environments")
    train: TrainConfig = option(factory=TrainConfig, doc="training")
    augment: Any = option(factory=default_params(AUGMENTERS, "none"), doc="force → energy augmentation (kind = a registered alearn.augmenters plugin)", kinds=kinds_of(AUGMENTERS))
    explore: Any = option(factory=default_params(EXPLORERS, "md"), doc="exploration (kind = a registered alearn.explorers plugin)", kinds=kinds_of(EXPLORERS))
    select: SelectConfig = option(factory=SelectConfig, doc="selection")
    dispatch: DispatchConfig = option(factory=DispatchConfig, doc="where reference calculations run")
    store: StoreConfig = option(factory=StoreConfig, doc="labelled-structure store")
    initial: InitialConfig = option(factory=InitialConfig, doc="iteration 0: the initial training data")
    evaluate: EvaluateConfig = option(factory=EvaluateConfig, doc="held-out test set and evaluation")
    stop: StopConfig = option(factory=StopConfig, doc="stop rules of the loop")
    loop: LoopConfig = option(factory=LoopConfig, doc="how iterations build on each other")

    def check(self) -> None:
        from alearn.config.crosscheck import check_campaign

        check_campaign(self)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error becomes a :class:`ConfigError` naming line and column."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(path, "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(path, "", "is a directory, expected a campaign TOML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "", f"is not UTF-8 text (TOML files must be): {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"is not valid TOML: {exc}") from None


def parse_campaign(raw: Mapping[str, Any], file: str | Path | None = None) -> Campaign:
    """Validate a parsed campaign file (keys of earlier releases mapped: :mod:`alearn.config.legacy`)."""
    return build(Campaign, upgrade(raw, file), file=file)


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign file."""
    return parse_campaign(read_toml(path), path)
