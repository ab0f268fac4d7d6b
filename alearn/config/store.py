"""[store] — where labelled structures live and what may enter."""

from __future__ import annotations

from dataclasses import dataclass

from alearn.config.schema import Invalid, option


@dataclass(frozen=True)
class StoreConfig:
    """The labelled-structure store (an ASE database) and the label sanity gate before it."""

    url: str = option("store.db", doc="SQLite file (relative to the campaign directory) or a postgresql:// URL")
    min_distance_A: float = option(0.5, doc="structures with two atoms closer than this are rejected on insert", unit="Å", gt=0.0)
    label_gate: bool = option(True, doc="refuse physically absurd labels (forces beyond max_force_eV_A; |energy| beyond the data-free bound of absolute_energy_scale; energy per atom further than max_energy_deviation_eV_atom from what same-composition data or per-element energies allow) as invalid, in labelling, import and before training", safe_to_change=True)
    max_force_eV_A: float = option(1000.0, doc="largest plausible force on one atom", unit="eV/Å", gt=0.0, safe_to_change=True)
    max_energy_deviation_eV_atom: float = option(10.0, doc="largest plausible distance of a structure's energy per atom from the one expected of its composition (median of same-composition structures, else per-element energies)", unit="eV/atom", gt=0.0, safe_to_change=True)
    absolute_energy_scale: float = option(2.0, doc="bound on |energy| that needs no data: scale × the Thomas–Fermi energy of the isolated atoms (20.92 eV · Z^(7/3) each, above every all-electron total energy, relativistic ones included), plus absolute_energy_margin_eV_atom per atom", gt=0.0, safe_to_change=True)
    absolute_energy_margin_eV_atom: float = option(100.0, doc="added to the data-free energy bound per atom (room for codes whose zero of energy is not the isolated atoms)", unit="eV/atom", ge=0.0, safe_to_change=True)
    reference_energies_eV: dict[str, float] = option(factory=dict, doc="optional energy per element in the reference code's convention (e.g. isolated atoms, {H = -13.6, O = -432.1}); used for compositions the data say nothing about yet", unit="eV", safe_to_change=True)

    def check(self) -> None:
        from ase.data import atomic_numbers

        for symbol in self.reference_energies_eV:
            if symbol not in atomic_numbers or symbol == "X":
                raise Invalid(f"reference_energies_eV.{symbol}", "is not a chemical element "
                              "(symbols are case-sensitive: 'H', 'O', 'Cu')")
