"""The local GPR as an ASE calculator, so MD can run on it (GPR-driven exploration).

``results`` carry ``energy``, ``forces``, ``energy_std`` (eV) and, unless constructed with
``with_forces_std=False``, ``forces_std`` (per atom, eV/Å) and ``max_force_std``.  No stress: the fingerprints are
functions of atomic positions only (inverse distances and finite-system SOAP have no cell;
DScribe gives no cell derivatives for periodic SOAP), so ``stress`` is not implemented and
asking for it raises ASE's ``PropertyNotImplementedError``.
"""

from __future__ import annotations

from ase.calculators.calculator import Calculator, all_changes


class GprCalculator(Calculator):
    """ASE calculator over a fitted :class:`~alearn.models.gpr.LocalGPR`."""

    implemented_properties = ["energy", "free_energy", "forces", "energy_std", "forces_std",
                              "max_force_std"]

    def __init__(self, model, *, with_forces_std: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.with_forces_std = with_forces_std

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        want_fstd = self.with_forces_std
        pred = self.model.predict([self.atoms], forces_std=want_fstd)
        energy = float(pred.energy[0])
        self.results = {"energy": energy, "free_energy": energy, "forces": pred.forces[0],
                        "energy_std": float(pred.energy_std[0])}
        if want_fstd:
            self.results["forces_std"] = pred.forces_std[0]
            self.results["max_force_std"] = float(pred.forces_std[0].max())
