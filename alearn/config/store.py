"""[store] — where labelled structures live and what may enter."""

from __future__ import annotations

from dataclasses import dataclass

from alearn.config.schema import option


@dataclass(frozen=True)
class StoreConfig:
    """The labelled-structure store (an ASE database)."""

    url: str = option("store.db", doc="SQLite file (relative to the campaign directory) or a postgresql:// URL")
    min_distance_A: float = option(0.5, doc="structures with two atoms closer than this are rejected on insert", unit="Å", gt=0.0)
