"""The local GPR as an ASE calculator, so MD can run on it (GPR-driven exploration).

``results`` carry ``energy``, ``forces``, ``energy_std`` (eV) and, unless constructed with
``with_forces_std=False``, ``forces_std`` (per atom, eV/Å) and ``max_force_std``.  No stress:
the fingerprints are functions of atomic positions only (inverse distances and finite-system
SOAP have no cell; DScribe gives no cell derivatives for periodic SOAP), so ``stress`` is not
implemented and asking for it raises ASE's ``PropertyNotImplementedError``.

Routing: when a group of structures was split into several subsets, a structure is predicted by
the subset with the nearest fingerprint centroid.  Switching subsets along a trajectory would make
the potential-energy surface jump, so by default (``sticky=True``) the calculator keeps the subset
chosen for the first structure it sees (per atom sequence) — a smooth, energy-conserving surface
whose energy std grows when the trajectory leaves that subset's data, which is what the
uncertainty monitor is for.  ``sticky=False`` re-routes at every call.
"""

from __future__ import annotations

from ase.calculators.calculator import Calculator, all_changes


class GprCalculator(Calculator):
    """ASE calculator over a fitted :class:`~alearn.models.gpr.LocalGPR`."""

    implemented_properties = ["energy", "free_energy", "forces", "energy_std", "forces_std",
                              "max_force_std"]

    def __init__(self, model, *, with_forces_std: bool = True, sticky: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.with_forces_std = with_forces_std
        self.sticky = sticky
        self.subsets: dict[tuple[int, ...], str] = {}

    def subset_for(self, atoms) -> str | None:
        """The subset that predicts ``atoms`` (None: nearest centroid at every call)."""
        if not self.sticky:
            return None
        key = tuple(int(z) for z in atoms.numbers)
        if key not in self.subsets:
            self.subsets[key] = self.model.subset_of([atoms])[0]
        return self.subsets[key]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        subset = self.subset_for(self.atoms)
        pred = self.model.predict([self.atoms], forces_std=self.with_forces_std,
                                  subsets=None if subset is None else [subset])
        energy = float(pred.energy[0])
        self.results = {"energy": energy, "free_energy": energy, "forces": pred.forces[0],
                        "energy_std": float(pred.energy_std[0])}
        if self.with_forces_std:
            self.results["forces_std"] = pred.forces_std[0]
            self.results["max_force_std"] = float(pred.forces_std[0].max())
