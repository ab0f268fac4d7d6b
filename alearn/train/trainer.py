"""``train_committee``: fit a committee to labelled structures.

Energy-only, direct force training (weight α, a fraction of force components), optional stress
term, the seed-001 force-weight schedule, Adam/AdamW/L-BFGS, mini-batches, early stopping that
keeps every member's best-validation weights, bootstrap, warm start, the ``auto``
architecture policy (``alearn.train.policy``), and per-fragment-type energy offsets
(``alearn.train.offsets``; saved as ``Committee.energy_offsets``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
from alearn.config.schema import to_dict
from alearn.data.records import LabelledStructure
from alearn.descriptors.chebyshev import ChebyshevSpec
from alearn.errors import UserError
from alearn.models.committee import Committee
from alearn.train import prepare as prep
from alearn.train.data import as_labelled, elements_of, split
from alearn.train.losses import batch_terms, member_losses
from alearn.train.metrics import evaluate_surrogate
from alearn.train.offsets import Offsets, unseen_type_fallback
from alearn.train.policy import auto_hidden

Progress = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True)
class TrainReport:
    """What happened during training."""

    epochs: int
    best_epochs: tuple[int, ...]
    best_validation: tuple[float, ...]
    train_metrics: dict[str, float]
    valid_metrics: dict[str, float]
    seconds: float
    seconds_per_epoch: float
    n_train: int
    n_valid: int
    hidden: tuple[int, ...]
    history: tuple[dict[str, float], ...] = field(default=())


def _device(cfg: TrainConfig) -> str:
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise UserError("[train].device = 'cuda' but torch sees no CUDA device; use 'cpu'")
    return cfg.device


def architecture_changes(warm: Committee, descriptor_cfg: DescriptorConfig,
                         model_cfg: CommitteeConfig) -> list[str]:
    """How the configuration differs from the architecture of ``warm`` (empty: it fits).

    Members, activation, explicit hidden widths and the descriptor (cutoffs, orders, an
    explicit element list) must match; ``hidden = "auto"`` keeps the earlier widths (the
    policy resizes only fresh models, ``[loop] fresh_every``)."""
    spec, changes = warm.spec, []
    wanted = {"members": model_cfg.members, "activation": model_cfg.activation,
              "radial_cutoff_A": descriptor_cfg.radial_cutoff_A,
              "angular_cutoff_A": descriptor_cfg.angular_cutoff_A,
              "radial_order": descriptor_cfg.radial_order,
              "angular_order": descriptor_cfg.angular_order}
    found = {"members": warm.members, "activation": warm.activation,
             "radial_cutoff_A": spec.radial_cutoff_A, "angular_cutoff_A": spec.angular_cutoff_A,
             "radial_order": spec.radial_order, "angular_order": spec.angular_order}
    if model_cfg.hidden != "auto":
        wanted["hidden"], found["hidden"] = tuple(model_cfg.hidden), tuple(warm.hidden)
    if descriptor_cfg.elements:
        wanted["elements"] = ChebyshevSpec(tuple(descriptor_cfg.elements)).elements
        found["elements"] = spec.elements
    for key, value in wanted.items():
        if found[key] != value:
            changes.append(f"{key} {_show(found[key])} -> {_show(value)}")
    return changes


def _show(value: Any) -> str:
    return str(list(value)) if isinstance(value, tuple) else str(value)


def build_model(train: Sequence[LabelledStructure], valid: Sequence[LabelledStructure],
                descriptor_cfg: DescriptorConfig, model_cfg: CommitteeConfig, seed: int,
                warm_start: Committee | None) -> Committee:
    """A fresh committee sized for the data, or a copy of ``warm_start`` (a UserError naming
    the differences when the configuration no longer fits it: :func:`architecture_changes`)."""
    if warm_start is not None:
        import copy

        changes = architecture_changes(warm_start, descriptor_cfg, model_cfg)
        if changes:
            raise UserError("warm start: the configuration does not fit the earlier model ("
                            + "; ".join(changes) + "); restore those settings or train a "
                            "fresh model (no warm start)")
        model = copy.deepcopy(warm_start).to(torch.float64)
        missing = set(elements_of(list(train) + list(valid))) - set(model.spec.elements)
        if missing:
            raise UserError(f"warm start: the earlier model lacks elements {sorted(missing)}; "
                            "train a fresh model (no warm_start)")
        return model
    elements = descriptor_cfg.elements or elements_of(list(train) + list(valid))
    spec = ChebyshevSpec(tuple(elements), descriptor_cfg.radial_cutoff_A,
                         descriptor_cfg.angular_cutoff_A, descriptor_cfg.radial_order,
                         descriptor_cfg.angular_order)
    hidden = auto_hidden(len(train), spec.n_features) if model_cfg.hidden == "auto" else model_cfg.hidden
    seeds = [seed * 1000 + k for k in range(model_cfg.members)]
    return Committee(spec, hidden, model_cfg.activation, model_cfg.members, seeds=seeds)


def _initialise(model: Committee, data: list[prep.Prepared], model_cfg: CommitteeConfig,
                warm: bool, n_types: int) -> None:
    """Normalisation statistics and reference energies from the training data."""
    stats = prep.normalisation(data, len(model.spec.elements))
    with torch.no_grad():
        if warm:  # keep the network's input map; widen the extrapolation range
            model.feature_min.copy_(torch.minimum(model.feature_min, stats["feature_min"]))
            model.feature_max.copy_(torch.maximum(model.feature_max, stats["feature_max"]))
            return
        for name, value in stats.items():
            getattr(model, name).copy_(value)
        ref, scale = prep.reference_energies(data, model.spec.elements, model_cfg.reference_energies,
                                             n_types)
        model.reference_energy.copy_(torch.as_tensor(ref))
        model.energy_scale.fill_(scale)


def _optimiser(model: Committee, cfg: TrainConfig, extra: Sequence[torch.Tensor]) -> torch.optim.Optimizer:
    params = list(model.networks.parameters()) + list(extra)
    # fused: one kernel per step for all parameters instead of ~10 small ops per tensor
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.learning_rate, fused=True)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay,
                                 fused=True)
    return torch.optim.LBFGS(params, lr=cfg.learning_rate, max_iter=20, history_size=20,
                             line_search_fn="strong_wolfe")


# L-BFGS minimises the loss divided by a scale: the loss at the start of the run, set again
# (with a restart: fresh curvature history) whenever the loss has fallen below
# LBFGS_RESCALE × the current scale.  torch's LBFGS has absolute thresholds (tolerance_grad 1e-7
# on the largest gradient component, tolerance_change 1e-9 on loss changes and steps, and a
# fixed y·s > 1e-10 for keeping a curvature pair), while alearn's loss is in eV²/atom²: on
# meV-sized energy differences (Taylor rows, small training errors) it reaches ~1e-6, where
# those thresholds ended every step at once and the fit stalled after 2-12 steps.  Scaled,
# they act as thresholds relative to the current loss.
LBFGS_RESCALE = 1e-2


def _bootstrap(n: int, members: int, enabled: bool, rng: np.random.Generator,
               device: str) -> torch.Tensor:
    """(K, n) multiplicity of each training structure in each member's sample."""
    if not enabled:
        return torch.ones(members, n, dtype=torch.float64, device=device)
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(members)])
    return torch.as_tensor(counts, dtype=torch.float64, device=device)


class _Fit:
    """State of one training run (kept small: the loop lives in :meth:`run`)."""

    def __init__(self, model: Committee, train: list[prep.Prepared], valid: list[prep.Prepared],
                 cfg: TrainConfig, rng: np.random.Generator, progress: Progress | None,
                 offsets: Offsets) -> None:
        self.model, self.train, self.valid, self.cfg = model, train, valid, cfg
        self.rng, self.progress, self.offsets = rng, progress, offsets
        self.weights = _bootstrap(len(train), model.members, cfg.bootstrap, rng, str(model.device))
        self.optimiser = _optimiser(model, cfg, [offsets.theta] if offsets.count else [])
        k = model.members
        self.best = np.full(k, np.inf)
        self.best_epoch = np.zeros(k, dtype=int)
        self.best_state = {n: p.detach().clone() for n, p in model.networks.params.items()}
        self.best_theta = offsets.theta.detach().clone()
        self.history: list[dict[str, float]] = []
        self.lbfgs_scale: float | None = None  # None: set from the next step's first loss

    def force_weight(self, epoch: int) -> float:
        cfg = self.cfg
        if cfg.force_weight_decay_every <= 0:
            return cfg.force_weight
        return cfg.force_weight / cfg.force_weight_decay_factor ** (epoch // cfg.force_weight_decay_every)

    def loss(self, batch_idx: np.ndarray, force_weight: float, create_graph: bool = True) -> torch.Tensor:
        cfg = self.cfg
        batch = [self.train[i] for i in batch_idx]
        terms = batch_terms(self.model, batch, forces=force_weight > 0, stress=cfg.stress_weight > 0,
                            create_graph=create_graph, offsets=self.offsets.for_batch(batch),
                            huber_delta=cfg.force_huber_delta_eV_A)
        w = self.weights[:, torch.as_tensor(batch_idx, device=self.weights.device)].to(terms.energy.dtype)
        return member_losses(terms, w, 1.0 - cfg.force_weight, force_weight, cfg.stress_weight)

    def epoch(self, epoch: int) -> float:
        alpha = self.force_weight(epoch)
        n = len(self.train)
        if self.cfg.optimizer == "lbfgs":
            return self.lbfgs_step(alpha)
        order = self.rng.permutation(n)
        total = 0.0
        for start in range(0, n, self.cfg.batch_size):
            self.optimiser.zero_grad()
            loss = self.loss(order[start:start + self.cfg.batch_size], alpha).sum()
            loss.backward()
            self.optimiser.step()
            total += float(loss.detach()) * min(self.cfg.batch_size, n - start)
        return total / n

    def lbfgs_step(self, alpha: float) -> float:
        """One L-BFGS step (≤ 20 iterations) on the whole training set, on the scaled loss
        (:data:`LBFGS_RESCALE`); returns the unscaled loss at the start of the step."""
        everything = np.arange(len(self.train))
        lowest = [np.inf]

        def closure() -> torch.Tensor:
            self.optimiser.zero_grad()
            total = self.loss(everything, alpha).sum()
            if self.lbfgs_scale is None:  # first evaluation after a (re)start: no history yet
                self.lbfgs_scale = max(float(total.detach()), 1e-300)
            scaled = total / self.lbfgs_scale
            scaled.backward()
            lowest[0] = min(lowest[0], float(scaled.detach()))
            return scaled

        start = float(self.optimiser.step(closure).detach())
        scale = self.lbfgs_scale
        if lowest[0] < LBFGS_RESCALE:  # restart on the new scale before the next step
            self.optimiser.state.clear()
            self.lbfgs_scale = None
        return start * scale

    def validate(self) -> np.ndarray:
        """(K,) validation score: the loss at the initial weights of each term."""
        data = self.valid if self.valid else self.train
        cfg = self.cfg
        scores = torch.zeros(self.model.members, dtype=torch.float64, device=self.model.device)
        batches = [data[start:start + 64] for start in range(0, len(data), 64)]
        with torch.no_grad():  # evaluate_fast enables the gradients it needs for forces itself
            all_terms = [batch_terms(self.model, b, forces=cfg.force_weight > 0,
                                     stress=cfg.stress_weight > 0, create_graph=False,
                                     offsets=self.offsets.for_batch(b),
                                     huber_delta=cfg.force_huber_delta_eV_A) for b in batches]
        for batch, terms in zip(batches, unseen_type_fallback(all_terms, batches, self.offsets.count)):
            ones = torch.ones(self.model.members, len(batch), dtype=terms.energy.dtype,
                              device=self.model.device)
            losses = member_losses(terms, ones, 1.0 - cfg.force_weight, cfg.force_weight,
                                   cfg.stress_weight)
            scores += losses.detach().to(torch.float64) * len(batch)
        return (scores / len(data)).cpu().numpy()

    def monitor(self) -> dict[str, float]:
        """Errors of the current weights on the validation (else training) structures."""
        data = self.valid if self.valid else self.train
        metrics = evaluate_surrogate(self.model, [p.structure for p in data])
        return {f"valid_{k}": v for k, v in metrics.items() if k != "n_structures"}

    def keep_best(self, epoch: int, scores: np.ndarray) -> None:
        better = scores < self.best
        if not better.any():
            return
        idx = torch.as_tensor(np.flatnonzero(better), device=self.model.device)
        for name, p in self.model.networks.params.items():
            self.best_state[name][idx] = p.detach()[idx]
        self.best_theta[idx] = self.offsets.theta.detach()[idx]
        self.best[better] = scores[better]
        self.best_epoch[better] = epoch

    def run(self) -> int:
        cfg = self.cfg
        epoch = 0
        for epoch in range(cfg.epochs):
            train_loss = self.epoch(epoch)
            scores = self.validate()
            self.keep_best(epoch, scores)
            record = {"epoch": float(epoch), "train_loss": train_loss,
                      "valid_score": float(scores.mean()), "force_weight": self.force_weight(epoch)}
            if cfg.monitor_every and (epoch % cfg.monitor_every == 0 or epoch == cfg.epochs - 1):
                record.update(self.monitor())
            self.history.append(record)
            if self.progress is not None:
                self.progress(epoch, record)
            if cfg.patience and (epoch - self.best_epoch.max()) >= cfg.patience:
                break
        with torch.no_grad():
            for name, p in self.model.networks.params.items():
                p.copy_(self.best_state[name])
            self.offsets.theta.copy_(self.best_theta)
        return epoch + 1


def train_committee(train_set: Sequence[LabelledStructure | Any], valid_set: Sequence[LabelledStructure | Any],
                    descriptor_cfg: DescriptorConfig, model_cfg: CommitteeConfig,
                    train_cfg: TrainConfig, *, seed: int, warm_start: Committee | None = None,
                    progress: Progress | None = None) -> tuple[Committee, TrainReport]:
    """Train a committee on ``train_set`` (LabelledStructure, or Atoms with calculator results).

    An empty ``valid_set`` holds out ``train_cfg.validation_fraction`` of ``train_set``.
    """
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    train, valid = as_labelled(train_set, "training data"), as_labelled(valid_set, "validation data")
    if not train:
        raise UserError("no training structures")
    if not valid and train_cfg.validation_fraction > 0 and len(train) > 1:
        train, valid = split(train, train_cfg.validation_fraction, rng)
    device = _device(train_cfg)
    model = build_model(train, valid, descriptor_cfg, model_cfg, seed, warm_start).to(device)
    types = prep.fragment_types(train)
    unseen = [k for k in prep.fragment_types(valid) if k not in types]
    opts = dict(dtype=model.dtype, device=device, force_fraction=train_cfg.force_fraction, rng=rng,
                types=types | {k: len(types) + i for i, k in enumerate(unseen)},
                complete_only=train_cfg.fragment_forces == "complete")
    train_p = prep.prepare(train, model.spec, structure_fraction=train_cfg.force_structure_fraction, **opts)
    valid_p = prep.prepare(valid, model.spec, **opts) if valid else []
    _initialise(model, train_p, model_cfg, warm_start is not None, len(types))
    fit = _Fit(model, train_p, valid_p, train_cfg, rng, progress, Offsets(model, train_p, types))
    epochs = fit.run()
    model.energy_offsets = fit.offsets.as_dict()
    model = model.to("cpu")
    elapsed = time.perf_counter() - started
    metrics = {"train": evaluate_surrogate(model, train)}
    if valid:
        metrics["valid"] = evaluate_surrogate(model, valid)
    model.metadata = {"metrics": metrics, "training": {
        "seed": seed, "epochs": epochs, "n_train": len(train), "n_valid": len(valid),
        "seconds": elapsed, "train": to_dict(train_cfg), "model": to_dict(model_cfg),
        "warm_start": warm_start is not None}}
    report = TrainReport(epochs, tuple(int(e) for e in fit.best_epoch), tuple(map(float, fit.best)),
                         metrics["train"], metrics.get("valid", {}), elapsed, elapsed / max(epochs, 1),
                         len(train), len(valid), model.hidden, tuple(fit.history))
    return model, report
