"""The campaign file: the top-level schema, plugin registries, and ``load_campaign``."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from alearn.config.ann import CommitteeConfig, DescriptorConfig, TaylorConfig, TrainConfig
from alearn.config.dispatch import DispatchConfig
from alearn.config.explore import ExploreConfig, SelectConfig
from alearn.config.gpr import GprAugmentConfig, GprConfig
from alearn.config.loop import EvaluateConfig, InitialConfig, LoopConfig, StopConfig
from alearn.config.schema import ConfigError, build, option
from alearn.config.store import StoreConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class NoAugment:
    """No force → energy augmentation."""

    kind: str = option("none", doc="augmentation type")


def model_kinds() -> Mapping[str, type]:
    """Surrogates selectable in [model]."""
    return {"committee": CommitteeConfig, "gpr": GprConfig}


def augment_kinds() -> Mapping[str, type]:
    """Augmenters selectable in [augment]."""
    return {"none": NoAugment, "taylor": TaylorConfig, "gpr": GprAugmentConfig}


def reference_kinds() -> Mapping[str, type]:
    """Reference calculators selectable in [reference]: every ``alearn.calculators`` plugin."""
    from alearn.label.registry import calculator_params

    return calculator_params()


@dataclass(frozen=True)
class CampaignSection:
    """[campaign] — identity and reproducibility."""

    name: str = option(doc="campaign name, used in reports")
    seed: int = option(0, doc="seed of every random choice in the campaign", ge=0)
    structures: tuple[Path, ...] = option((), doc="initial geometries: files of structures in any format ase.io.read reads (every frame of each file is used)", structures=True)


@dataclass(frozen=True)
class Campaign:
    """A whole campaign file."""

    campaign: CampaignSection = option(doc="identity and initial structures")
    reference: Any = option(doc="the reference calculator (kind = a registered plugin)", kinds=reference_kinds)
    model: Any = option(factory=CommitteeConfig, doc="the surrogate", kinds=model_kinds)
    descriptor: DescriptorConfig = option(factory=DescriptorConfig, doc="descriptor of atomic environments")
    train: TrainConfig = option(factory=TrainConfig, doc="training")
    augment: Any = option(factory=NoAugment, doc="force → energy augmentation", kinds=augment_kinds)
    explore: ExploreConfig = option(factory=ExploreConfig, doc="exploration")
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


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign file."""
    return build(Campaign, read_toml(path), file=path)
