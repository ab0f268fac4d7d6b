"""Cross-section rules of a whole campaign file (run by ``Campaign.check``).

Rules that need more than one section: the initial geometries exist when the initial data are
generated from them, and every element of the structures the campaign starts from is covered by
each section that declares an explicit ``elements`` list (model, descriptor, reference...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ase.data import chemical_symbols

from alearn.config.schema import Invalid, structure_file_problem


def structure_elements(paths: Iterable[Path]) -> dict[str, set[str]]:
    """The chemical symbols found in each structure file (files are already validated)."""
    from ase.io import read

    found: dict[str, set[str]] = {}
    for path in paths:
        symbols: set[str] = set()
        for atoms in read(path, index=":"):
            symbols.update(atoms.get_chemical_symbols())
        found[str(path)] = symbols
    return found


def declared_elements(campaign: Any) -> Iterator[tuple[str, tuple[str, ...]]]:
    """``(key path, symbols)`` of every non-empty ``elements`` field of the campaign's sections."""
    for f in dataclasses.fields(campaign):
        section = getattr(campaign, f.name)
        if not dataclasses.is_dataclass(section):
            continue
        elements = getattr(section, "elements", None)
        if isinstance(elements, tuple) and elements:
            yield f"{f.name}.elements", elements


def check_initial_geometries(campaign: Any) -> None:
    """Generated initial data (rattle, md) need at least one initial geometry."""
    initial = getattr(campaign, "initial", None)
    source = getattr(initial, "source", None)
    if source in ("rattle", "md") and not campaign.campaign.structures:
        raise Invalid("campaign.structures", f"is empty, but initial.source = {source!r} "
                      "starts from initial geometries: list at least one structure file, or "
                      "set initial.source = 'dataset' with initial.dataset")


def check_elements(campaign: Any) -> None:
    """Every element of the initial structures and data set is known and covered."""
    declared = list(declared_elements(campaign))
    for key, symbols in declared:
        for index, symbol in enumerate(symbols):
            if symbol not in chemical_symbols[1:]:
                raise Invalid(f"{key}[{index}]", f"found {symbol!r}, expected a chemical "
                              "symbol such as 'H', 'O' or 'Si' (case matters)")
    if not declared:
        return
    sources = _structure_sources(campaign)
    for file, symbols in structure_elements(sources).items():
        for key, covered in declared:
            missing = sorted(symbols - set(covered))
            if missing:
                raise Invalid(key, f"does not cover {', '.join(missing)}, found in {file!r}; "
                              f"add them to {key}")


def _structure_sources(campaign: Any) -> list[Path]:
    paths = list(campaign.campaign.structures)
    dataset = getattr(getattr(campaign, "initial", None), "dataset", None)
    if dataset is not None:
        paths.append(dataset)
    return paths


def check_dataset(campaign: Any) -> None:
    """The iteration-0 data set, when named, must parse as structures."""
    dataset = getattr(getattr(campaign, "initial", None), "dataset", None)
    if dataset is not None:
        problem = structure_file_problem(Path(dataset))
        if problem:
            raise Invalid("initial.dataset", problem)


def check_campaign(campaign: Any) -> None:
    """All cross-section rules, in the order a reader would fix them."""
    check_initial_geometries(campaign)
    check_dataset(campaign)
    check_elements(campaign)
