"""``ase``: any ASE calculator, named by import path, with keyword arguments from the TOML.

Example::

    [reference]
    kind = "ase"
    calculator = "ase.calculators.morse:MorsePotential"
    kwargs = { epsilon = 1.0, r0 = 2.0 }
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from ase import Atoms

from alearn.config.dispatch import ReferenceParams
from alearn.config.schema import Invalid, option
from alearn.errors import UserError
from alearn.label.inprocess import InProcessCalculator

Value = int | float | bool | str | tuple[int, ...] | tuple[float, ...] | tuple[str, ...]


def import_object(path: str) -> Any:
    """``'package.module:Name'`` (or ``'package.module.Name'``) → the object."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise UserError(f"'{path}' is not an import path; write it as 'package.module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"cannot import '{module_name}' for calculator '{path}': {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UserError(f"module '{module_name}' has no '{attr}' (calculator '{path}')") from None


class AseCalculator(InProcessCalculator):
    """Any ASE calculator class, constructed as ``Class(**kwargs)`` for every calculation."""

    name = "ase"

    @dataclass(frozen=True, kw_only=True)
    class Params(ReferenceParams):
        """[reference] kind = "ase" — any ASE calculator by import path."""

        kind: Literal["ase"] = option("ase", doc="any ASE calculator by import path")
        calculator: str = option(doc="import path of the ASE calculator class, e.g. 'ase.calculators.morse:MorsePotential'")
        kwargs: dict[str, Value] = option(factory=dict, doc="keyword arguments of the calculator class (numbers, strings, booleans, lists)")
        stress: bool = option(True, doc="compute the stress of fully periodic structures")

        def check(self) -> None:
            if ":" not in self.calculator and "." not in self.calculator:
                raise Invalid("calculator", f"found {self.calculator!r}, expected an import "
                              "path such as 'ase.calculators.emt:EMT'")

    @property
    def version(self) -> str:
        top = self.params.calculator.replace(":", ".").split(".")[0]
        try:
            return f"{self.params.calculator} ({top} {version(top)})"
        except (PackageNotFoundError, ValueError):
            return self.params.calculator

    def warm_up(self) -> None:
        """Import the calculator's module only: building an arbitrary ASE calculator (a
        machine-learned one loading its model) might start threads in the isolation helper."""
        try:
            import_object(self.params.calculator)
        except UserError:
            pass

    def ase_calculator(self, atoms: Atoms) -> Any:
        cls = import_object(self.params.calculator)
        kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.kwargs.items()}
        return cls(**kwargs)

    def wants_stress(self, atoms: Atoms) -> bool:
        return self.params.stress and bool(atoms.pbc.all())
