"""[descriptor], [model] kind "committee", [train], [augment] kind "taylor", and the spec file of
``alearn train`` (``TrainSpec``: [data] [descriptor] [model] [train] [augment] [output]).

The schemas of the plugins ``committee`` (:class:`alearn.train.surrogates.CommitteeSurrogate`)
and ``taylor`` (:class:`alearn.augment.plugins.TaylorAugmenter`) live here with the shared
sections they are used with; the plugins declare them as their ``Params``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alearn.config.schema import Invalid, option
from alearn.registry import AUGMENTERS, default_params, kinds_of


@dataclass(frozen=True)
class DescriptorConfig:
    """Chebyshev descriptor of atomic environments (Artrith, Urban, Ceder 2017)."""

    kind: Literal["chebyshev"] = option("chebyshev", doc="descriptor type")
    radial_cutoff_A: float = option(6.5, doc="cutoff of the radial expansion", unit="Å", gt=0.0)
    angular_cutoff_A: float = option(4.0, doc="cutoff of the angular expansion (0: no angular terms)", unit="Å", ge=0.0)
    radial_order: int = option(18, doc="highest Chebyshev order of the radial expansion (N_rad)", ge=0)
    angular_order: int = option(4, doc="highest Chebyshev order of the angular expansion (N_ang)", ge=0)
    elements: tuple[str, ...] = option((), doc="element symbols the model covers; empty: every element in the training data")

    def check(self) -> None:
        if self.angular_cutoff_A > self.radial_cutoff_A:
            raise Invalid("angular_cutoff_A", f"found {self.angular_cutoff_A}, expected at most radial_cutoff_A ({self.radial_cutoff_A})")
        from ase.data import atomic_numbers

        for k, symbol in enumerate(self.elements):
            if symbol not in atomic_numbers:
                raise Invalid(f"elements[{k}]", f"found {symbol!r}, expected an element symbol such as 'O'")


@dataclass(frozen=True)
class CommitteeConfig:
    """A committee of Behler–Parrinello atomic neural networks."""

    kind: Literal["committee"] = option("committee", doc="surrogate type")
    members: int = option(4, doc="number of networks in the committee", ge=1, le=64)
    hidden: tuple[int, ...] | Literal["auto"] = option("auto", doc="hidden layer widths, e.g. [25, 25], or 'auto' to scale capacity with the training-set size (two hidden layers, weights per element network ≈ 600·(n_structures/1000)^0.44, seed 002)")
    activation: Literal["tanh", "softplus", "silu"] = option("softplus", doc="activation function of the hidden layers")
    reference_energies: dict[str, float] = option(factory=dict, doc="energy of each isolated atom (eV), e.g. {H = -13.6}; empty: a linear fit of the training energies over compositions", unit="eV")
    dtype: Literal["float64", "float32"] = option("float64", doc="precision of the ASE calculator (float32 is faster for MD)")
    skin_A: float = option(1.0, doc="Verlet skin of the calculator's neighbour list (pairs rebuilt after a move of skin/2)", unit="Å", ge=0.0)

    def check(self) -> None:
        if isinstance(self.hidden, tuple):
            if not self.hidden:
                raise Invalid("hidden", "found an empty list, expected at least one layer width or 'auto'")
            for k, width in enumerate(self.hidden):
                if width < 1:
                    raise Invalid(f"hidden[{k}]", f"found {width}, expected a width of at least 1")


@dataclass(frozen=True)
class TrainConfig:
    """How the networks are trained."""

    epochs: int = option(500, doc="maximum number of training epochs", ge=1, le=1_000_000)
    force_weight: float = option(0.0, doc="weight α of the force term in the loss (0: energy-only training)", ge=0.0, le=1.0)
    force_fraction: float = option(1.0, doc="fraction of force components (chosen once, at random) that enter the force term", gt=0.0, le=1.0)
    force_structure_fraction: float = option(1.0, doc="fraction of the structures with forces (chosen once, at random) whose forces enter the force term; the others are trained on energy only", gt=0.0, le=1.0)
    force_weight_decay_every: int = option(0, doc="divide the force weight by force_weight_decay_factor every this many epochs (seed 001 schedule; 0: constant)", ge=0)
    force_weight_decay_factor: float = option(10.0, doc="factor of the force-weight schedule", ge=1.0)
    force_huber_delta_eV_A: float = option(0.0, doc="0: squared force errors; > 0: Huber loss per force component with this δ (squared below δ, linear above), so structures with extreme forces (close contacts) cannot dominate the force term", unit="eV/Å", ge=0.0)
    fragment_forces: Literal["all", "complete"] = option("all", doc="forces of fragment rows in the force term: 'all' atoms (Herbold & Behler 2023: the fragment forces are exact derivatives of the fragment energy the model also sees), or only atoms whose cutoff sphere lies inside the fragment ('complete', per-atom array alearn_complete); rows without that array are unaffected")
    stress_weight: float = option(0.0, doc="weight of the stress term (GPa², structures with stress labels); the pressure error is always monitored", ge=0.0)
    monitor_every: int = option(0, doc="every this many epochs (and at the last), score the validation set (the training set when there is none) with that epoch's weights and add its energy, force and stress/pressure errors (RMSE, pressure correlation) to the training history as valid_* keys (seed 001: monitor the pressure error during training even when it is not in the loss); 0: never", ge=0)
    optimizer: Literal["adam", "adamw", "lbfgs"] = option("adam", doc="optimiser (lbfgs: the full training set per step, ≤ 20 iterations with a strong-Wolfe line search, on the loss divided by its value at the last restart, restarting when it falls 100×, so torch's absolute tolerances act relative to the loss)")
    learning_rate: float = option(1e-3, doc="optimiser learning rate", gt=0.0)
    weight_decay: float = option(0.0, doc="weight decay (adamw)", ge=0.0)
    batch_size: int = option(16, doc="structures per mini-batch", ge=1)
    patience: int = option(100, doc="stop when the validation error has not improved for this many epochs (0: never stop early; the best-validation weights are kept either way)", ge=0)
    replay: float = option(0.0, doc="bounded training cost per iteration: a warm-started training sees the new rows (labelled since the previous model) plus a random sample of replay × as many old rows (at least replay_min), drawn afresh every iteration, instead of every row; its work then scales with the new data, not the whole data set (derived copies travel with their parent; early stopping on validation_fraction of those rows). 0: every row, every iteration", ge=0.0, le=1000.0)
    replay_min: int = option(32, doc="smallest number of old structures replayed when replay > 0 (all of them while there are fewer)", ge=0)
    validation_fraction: float = option(0.1, doc="fraction of the training data held out for validation when no validation set is given", ge=0.0, lt=1.0)
    bootstrap: bool = option(False, doc="train each member on its own bootstrap resample of the training set")
    device: Literal["cpu", "cuda"] = option("cpu", doc="where training runs")


@dataclass(frozen=True)
class TaylorConfig:
    """Taylor-expansion force augmentation (Cooper et al. 2020)."""

    kind: Literal["taylor"] = option("taylor", doc="augmentation type")
    strategy: Literal["A", "B"] = option("B", doc="A: one atom ±δ along x, y, z; B: all atoms, |δ_i| ≤ δmax, mean displacement removed")
    multiple: int = option(24, doc="structures generated per reference structure (a)", ge=1)
    delta_A: float = option(0.01, doc="displacement δ (A) or maximum displacement δmax (B)", unit="Å", gt=0.0)
    delta_per_element_A: dict[str, float] = option(factory=dict, doc="per-element δ overriding delta_A, e.g. {H = 0.005, O = 0.01}", unit="Å")
    min_force_eV_A: float = option(0.01, doc="skip reference structures whose largest force is below this (relaxed geometries)", unit="eV/Å", ge=0.0)

    def check(self) -> None:
        for symbol, value in self.delta_per_element_A.items():
            if value <= 0:
                raise Invalid(f"delta_per_element_A.{symbol}", f"found {value}, expected a displacement greater than 0 Å")


@dataclass(frozen=True)
class TrainDataConfig:
    """[data] of ``alearn train``: where the labelled structures come from."""

    train: tuple[Path, ...] = option((), doc="extxyz (or any ASE-readable) files with energies and forces", must_exist=True)
    valid: tuple[Path, ...] = option((), doc="validation files; empty: hold out [train].validation_fraction", must_exist=True)
    store: str = option("", doc="a store (SQLite path relative to this file, or a postgresql:// URL) whose rows are added to the training data")

    def check(self) -> None:
        if not self.train and not self.store:
            raise Invalid("train", "no training data: give files in data.train or a store in data.store")


@dataclass(frozen=True)
class OutputConfig:
    """[output] of ``alearn train``."""

    directory: Path = option(Path("model"), doc="model directory to write (manifest.json + weights.safetensors)")
    warm_start: Path | None = option(None, doc="continue from this earlier model directory", must_exist=True)


@dataclass(frozen=True)
class TrainSpec:
    """The file given to ``alearn train SPEC.toml``."""

    data: TrainDataConfig = option(doc="training (and validation) data")
    descriptor: DescriptorConfig = option(factory=DescriptorConfig, doc="descriptor of atomic environments")
    model: CommitteeConfig = option(factory=CommitteeConfig, doc="the committee")
    train: TrainConfig = option(factory=TrainConfig, doc="training")
    augment: Any = option(factory=default_params(AUGMENTERS, "none"), doc="force → energy augmentation of the training set (kind = a registered alearn.augmenters plugin; structures a gated augmenter would send to a reference are left out, alearn train has none)", kinds=kinds_of(AUGMENTERS))
    output: OutputConfig = option(factory=OutputConfig, doc="where the model goes")
    seed: int = option(0, doc="seed of initial weights, splits, bootstrap and augmentation", ge=0)
