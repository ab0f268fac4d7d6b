"""One active-learning run of one arm on one benchmark system, in process.

The loop is the campaign's (explore on the current surrogate → validation draw → select →
label → warm-started training → evaluate), built from alearn's own pieces (``run_walkers``,
the gradient-feature, batch and calibration modules, ``train_increment``), without the store,
job directories and snapshots (their cost is measured elsewhere and counts no reference call).
Each arm is a :class:`Strategy`:

- where its candidate frames come from: walkers on the surrogate (``pool = "surrogate"``,
  optionally uncertainty-biased) or reference MD at the test conditions (``"reference"``:
  baseline B, its MD steps are baseline C's count);
- how it picks ``budget`` of them: ``random``, ``fps`` (farthest-point sampling in the
  structure fingerprint, from the most uncertain), ``top`` (most uncertain), ``kmeans``,
  ``maxdet`` or ``lcmd`` (gradient features, training posterior);
- which measure and trust window: the walkers' committee ``max_force_std`` per atom
  (``committee``), the gradient-feature posterior std per atom (``gf_atom``) or per structure
  (``gf_struct``), the D-optimal grade (``dopt``) or the GP's std (``gpr``).  ``trust =
  "target"`` (default) is the campaign's own target-based trust: the measure of the exploring
  model fitted to the true force errors of the validation frames so far by
  :func:`alearn.campaign.trusting.fit_window` (per element, per-component RMSE; the identity
  fallback before 3 frames), lo = target, hi = hi_factor × max(target, validation RMSE); the
  committee walkers are monitored with that calibrated measure and window (rollback at hi), as
  a campaign's are.  Frames at or above hi are never labelled (every surrogate arm, random
  included); the uncertainty arms label only frames predicted to miss the target (≥ lo).

Every arm draws ``validation_per_iteration`` frames uniformly from its own pool into its
validation set (never trained on; early stopping, calibration and the stop rule stand on it)
and labels up to ``budget`` frames per iteration; both count as reference calculations.  The
stop rule is the campaign's (:func:`alearn.campaign.stop.stop_reason`, ``[stop]`` defaults):
validation force RMSE ≤ target (and, for the uncertainty arms, at least
``target_accurate_ratio`` of the explored frames predicted to meet it) for
``accurate_iterations`` iterations in a row, the RMSE on the validation frames of the last
``[stop] validation_window`` iterations (default 3).  Once it holds no arm draws validation frames;
the random arms (A, B) stop labelling, the uncertainty arms keep exploring and label only the
frames predicted to miss the target (what a converged campaign would still send).
"""

from __future__ import annotations

import concurrent.futures
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from ase import Atoms

from al_systems import System, label

from alearn.explore.run import run_walkers

INSANE = 3


class Inline:
    """An engine that runs each submitted task at once, in this process."""

    def submit(self, fn: Any, *args: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future


@dataclass(frozen=True)
class Strategy:
    """How an arm finds and picks its training frames (see the module docstring)."""

    name: str
    pool: str = "surrogate"
    selector: str = "random"
    measure: str = "committee"
    features: str = "last_layer"
    trust: str = "target"               # "target" (the campaign's target-based trust) or "raw"
    bias: float = 0.0
    bias_ramp_steps: int = 0
    guard: float = 0.0                  # [explore.monitor] rescale_above_factor (0: off)
    guard_ramp_steps: int = 0
    hi_factor: float | None = None      # None: the campaign default ([select] hi_factor)
    hi_follows_error: bool = True       # hi = hi_factor × max(target, validation RMSE) (else × target)
    use_lo: bool = True
    decorrelate: bool = True
    ridge: float = 1e-3
    replay: float | None = 2.0          # None: warm start on all data (no replay subsample)
    stops: bool = True                  # False: the stop rule is ignored (full budget to the end)
    fresh_training: bool = False


@dataclass(frozen=True)
class Config:
    """The alearn configuration objects of a system."""

    descriptor: Any
    model: Any
    train: Any
    explore: Any
    select: Any


def configs(system: System) -> Config:
    from alearn.config.ann import CommitteeConfig, DescriptorConfig, TrainConfig
    from alearn.config.explore import ExploreConfig, SelectConfig
    from alearn.config.gpr import GprConfig
    from alearn.config.schema import build

    model_cls = GprConfig if system.surrogate == "gpr" else CommitteeConfig
    return Config(build(DescriptorConfig, system.descriptor, path="descriptor"),
                  build(model_cls, system.model, path="model"),
                  build(TrainConfig, system.train, path="train"),
                  build(ExploreConfig, system.explore, path="explore"),
                  build(SelectConfig, system.select, path="select"))


def rows_of(frames: Sequence[Atoms]) -> list[Any]:
    from alearn.train.data import as_labelled

    return as_labelled(frames)


@dataclass
class ArmState:
    """Everything one arm carries from iteration to iteration."""

    train: list[Any]
    valid: list[Any]
    model: Any
    model_dir: Path
    calls: int
    md_steps: int = 0
    reference_walkers: list[Atoms] = field(default_factory=list)
    curve: list[dict[str, Any]] = field(default_factory=list)
    facts: list[Any] = field(default_factory=list)     # alearn.campaign.stop.IterationFacts
    converged_at: int | None = None                    # iteration after which the stop rule held
    initial_valid: int = 0                             # the first rows of valid: iteration 0's

    def explored_valid(self) -> list[Any]:
        """The validation frames drawn from exploration (a campaign's validation set: iteration
        0's rattled frames serve early stopping only)."""
        return self.valid[self.initial_valid:]


# --- training and evaluation ---------------------------------------------------------------

def fit(cfg: Config, system: System, strategy: Strategy, previous: Any, new: list[Any],
        old: list[Any], valid: list[Any], seed: int) -> tuple[Any, float]:
    """The next model (GPR: refitted on everything; committee: warm-started increment) and
    the CPU seconds its training took (this process; the machine is shared)."""
    began = time.process_time()
    if system.surrogate == "gpr":
        from alearn.models.gpr import LocalGPR

        return LocalGPR.fit(old + new, cfg.model, seed=seed), time.process_time() - began
    from alearn.train.incremental import train_increment

    warm = None if strategy.fresh_training else previous
    replay = float(len(old) + 1) if strategy.replay is None else strategy.replay
    model, report, _ = train_increment(warm, new, old, valid, cfg.descriptor, cfg.model, cfg.train,
                                       seed=seed, replay=replay, min_replay=len(old) if strategy.replay is None else 8)
    model.metadata.setdefault("training", {})["epochs_run"] = report.epochs
    return model, time.process_time() - began


def force_errors(model: Any, frames: Sequence[Atoms]) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-atom |F_pred − F_ref| of every frame, and the predicted energies."""
    prediction = model.predict([a.copy() for a in frames])
    errors = [np.linalg.norm(np.asarray(p) - a.calc.results["forces"], axis=1)
              for p, a in zip(prediction.forces, frames)]
    return errors, np.asarray(prediction.energy)


def evaluate(model: Any, test: dict[str, list[Atoms]]) -> dict[str, float]:
    """Force RMSE (eV/Å) and energy RMSE (eV/atom) on every test subset and on all frames."""
    out: dict[str, float] = {}
    sq_all, n_all = 0.0, 0
    for name, frames in test.items():
        errors, energy = force_errors(model, frames)
        sq = sum(float((e ** 2).sum()) for e in errors)
        n = sum(3 * len(e) for e in errors)
        de = np.array([(p - a.calc.results["energy"]) / len(a) for p, a in zip(energy, frames)])
        out[f"force_rmse_{name}"] = float(np.sqrt(sq / n))
        out[f"energy_rmse_{name}"] = float(np.sqrt(np.mean(de ** 2)))
        sq_all, n_all = sq_all + sq, n_all + n
    out["force_rmse"] = float(np.sqrt(sq_all / n_all))
    return out


# --- measures and calibration --------------------------------------------------------------

@dataclass(frozen=True)
class PoolMeasure:
    """Per-frame uncertainty of a pool: per-atom values (or None) and the frame value."""

    per_atom: list[np.ndarray] | None
    frame: np.ndarray


def measure_frames(strategy: Strategy, model: Any, frames: Sequence[Atoms], walker_values: Sequence[Any],
                   train: Sequence[Any]) -> PoolMeasure:
    """The strategy's raw measure on ``frames`` (``walker_values``: (per_atom, measure) stored
    by the walkers, used by ``committee``/``gpr``; None entries are recomputed)."""
    kind = strategy.measure
    if kind in ("committee", "gpr"):
        if any(v is None for v in walker_values):
            walker_values = surrogate_values(model, frames, kind)
        per = [None if v[0] is None else np.asarray(v[0]) for v in walker_values]
        if any(p is None for p in per):
            return PoolMeasure(None, np.array([v[1] for v in walker_values]))
        return PoolMeasure(per, np.array([p.max() for p in per]))
    from alearn.select import gradient_features as gf

    pool = features_of(model, frames, strategy.features)
    reference = features_of(model, [r.atoms for r in train], strategy.features)
    if kind == "gf_struct":
        return PoolMeasure(None, gf.structure_std(gf.FeaturePosterior.fit(reference.per_structure(),
                                                                          strategy.ridge), pool))
    if kind == "gf_atom":
        per_atom = gf.atomic_std(gf.element_posteriors(reference, strategy.ridge), pool)
    elif kind == "dopt":
        from alearn.select.doptimal import ActiveSet

        rows = {t: reference.atoms[reference.species == t][:, b] for t, b in enumerate(reference.blocks)
                if np.any(reference.species == t)}
        per_atom = ActiveSet.fit(rows).grades(pool.species, pool.atoms, pool.blocks)
    else:
        raise ValueError(f"unknown measure {kind!r}")
    split = [per_atom[pool.structure == b] for b in range(pool.n_structures)]
    return PoolMeasure(split, np.array([s.max() for s in split]))


_FEATURES: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def features_of(model: Any, frames: Sequence[Atoms], kind: str) -> Any:
    """``gradient_features(model, frames)``, computed once per model and list of frames (the
    trust fit, the measure and the selector of one iteration share them; pure bookkeeping)."""
    from alearn.select import gradient_features as gf

    key = (id(model), kind, tuple(id(a) for a in frames))
    if key not in _FEATURES:
        if len(_FEATURES) > 16:
            _FEATURES.clear()
        _FEATURES[key] = ((model, list(frames)), gf.gradient_features(model, frames, kind=kind))
    return _FEATURES[key][1]


def surrogate_values(model: Any, frames: Sequence[Atoms], kind: str) -> list[tuple[Any, float]]:
    """(per-atom force std, max) of the committee, or (None, energy std) of the GP."""
    prediction = model.predict([a.copy() for a in frames])
    if kind == "gpr":
        return [(None, float(s)) for s in prediction.energy_std]
    return [(np.asarray(s), float(np.max(s))) for s in prediction.forces_std]


@dataclass(frozen=True)
class Trust:
    """The campaign's target-based trust of one iteration (``alearn.campaign.trusting``)."""

    calibration: Any                # alearn.select.trust.ForceCalibration
    lo: float                       # predicted per-component force RMSE (eV/Å) below: accurate
    hi: float
    source: str
    quality: dict[str, Any]


def hi_factor(strategy: Strategy, cfg: Config) -> float:
    return cfg.select.hi_factor if strategy.hi_factor is None else strategy.hi_factor


def calibrate(strategy: Strategy, cfg: Config, model: Any, valid: Sequence[Any], train: Sequence[Any],
              target: float) -> Trust:
    """The campaign's trust for ``target``: the raw measure of the exploring model on the
    validation frames so far fitted to their true atomic force errors by
    :func:`alearn.campaign.trusting.fit_window` (per element, ``component_rms``; the identity
    fallback with fewer than 3 frames), lo = target, hi = hi_factor × max(target, validation
    force RMSE) (hi_factor × target for a strategy with ``hi_follows_error`` off)."""
    from alearn.campaign.trusting import fit_window

    frames = [r.atoms for r in valid]
    values: list[Any] = []
    errors: list[np.ndarray] = []
    if frames:
        values = measure_values(measure_frames(strategy, model, frames, [None] * len(frames), train))
        errors, _ = force_errors(model, [_with_forces(r) for r in valid])
    calibration, window, source = fit_window(values, frames, errors, target, hi_factor(strategy, cfg),
                                             strategy.hi_follows_error)
    summary = calibration.summary()
    return Trust(calibration, window.lo, window.hi, source,
                 {"scale": summary["scale"], "per_element": summary["per_element"],
                  "spearman": summary["spearman"], "frame_spearman": summary["frame_spearman"],
                  "miscalibration_area": summary["miscalibration_area"], "frames": summary["frames"],
                  "source": source})


def measure_values(measure: PoolMeasure) -> list[Any]:
    from alearn.select.protocol import MeasureValue

    if measure.per_atom is None:
        return [MeasureValue(float(v), None) for v in measure.frame]
    return [MeasureValue(float(v), p) for v, p in zip(measure.frame, measure.per_atom)]


def _with_forces(row: Any) -> Atoms:
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms = row.atoms.copy()
    atoms.calc = SinglePointCalculator(atoms, energy=row.labels.energy, forces=row.labels.forces)
    return atoms


def predicted_errors(measure: PoolMeasure, frames: Sequence[Atoms], trust: Trust) -> np.ndarray:
    """Each frame's predicted per-component force RMSE (eV/Å), as the campaign's
    ``CalibratedMeasure`` gives it."""
    return np.array([trust.calibration.predict(v, a.numbers).value
                     for v, a in zip(measure_values(measure), frames)])


def validation_rmse(model: Any, valid: Sequence[Any]) -> tuple[float | None, tuple[tuple[int, float], ...]]:
    """Per-component force RMSE of ``model`` on the validation rows (the whole set's figure)
    and every row's (atoms, force RMSE) in the order drawn (what the stop rule's
    ``validation_window`` reads, as a campaign's manifest records it)."""
    if not valid:
        return None, ()
    errors, _ = force_errors(model, [_with_forces(r) for r in valid])
    frames = tuple((len(e), float(np.sqrt(np.mean(e ** 2) / 3.0))) for e in errors)
    sq = sum(float((e ** 2).sum()) for e in errors)
    return float(np.sqrt(sq / sum(3 * len(e) for e in errors))), frames


# --- pools -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pool:
    """Candidate frames of one iteration with what their source knows about them."""

    frames: list[Atoms]                   # unlabelled (surrogate) or labelled (reference MD)
    walker: np.ndarray                    # walker of each frame
    step: np.ndarray
    values: list[Any]                     # (per_atom, measure) from the walkers, or None
    labelled: bool
    explored: int                         # frames the explorers produced (insane included)
    explored_steps: int = 0               # MD steps behind them (frames × the monitor's stride)


def surrogate_pool(cfg: Config, system: System, strategy: Strategy, state: ArmState,
                   iteration: int, seed: int, workdir: Path, target: float) -> tuple[Pool, Trust | None]:
    """Sane frames of this iteration's walkers on the current surrogate.  With ``trust =
    "target"`` the walkers run as a campaign's do: their measure (the system's ``[select]
    measure``) calibrated on the validation frames so far (:func:`calibrate`) and monitored
    with the window lo = target, hi = hi_factor × target (rollback at hi); the frame values
    they store are then predicted force errors in eV/Å.  Returns the pool and that trust."""
    from alearn import registry
    from alearn.explore.monitor import TrustWindow
    from alearn.explore.run import plan_walkers, walker_plan

    explore = cfg.explore
    if strategy.guard > 0:
        explore = replace(explore, monitor=replace(explore.monitor, rescale_above_factor=strategy.guard,
                                                   ramp_steps=strategy.guard_ramp_steps))
    trust = None
    if strategy.trust == "target" and system.surrogate == "committee":
        from alearn.select.trust import CalibratedMeasure

        walker_strategy = replace(strategy, measure="committee")
        trust = calibrate(walker_strategy, cfg, state.model, state.explored_valid(), state.train, target)
        measure = CalibratedMeasure(registry.make(registry.MEASURES, cfg.select.measure), trust.calibration)
        plan = plan_walkers(explore, iteration, measure, TrustWindow(trust.lo, trust.hi))
    else:
        plan = walker_plan(explore, cfg.select, iteration)
    spec: Any = str(state.model_dir)
    if strategy.bias > 0:
        from alearn.explore.bias import BiasedSurrogate

        spec = BiasedSurrogate(str(state.model_dir), strategy.bias, strategy.bias_ramp_steps)
    result = run_walkers(list(system.starts), plan, spec, Inline(), seed, workdir)
    frames, walkers, steps, values, explored = [], [], [], [], 0
    for w in result.walkers:
        wf = result.walker_frames(w.walker)
        explored += len(wf)
        for k in range(len(wf)):
            if int(wf.status[k]) == INSANE:
                continue
            frame = wf.frame(k)
            frames.append(frame.atoms)
            walkers.append(w.walker)
            steps.append(frame.step)
            values.append((frame.per_atom, frame.measure))
    return Pool(frames, np.array(walkers, dtype=int), np.array(steps, dtype=int), values, False,
                explored, explored * explore.monitor.every_steps), trust


def reference_pool(cfg: Config, system: System, state: ArmState, rng: np.random.Generator) -> Pool:
    """Baseline B: continue the reference MD walkers at the test temperature by as many steps
    as one iteration of surrogate walkers; a frame every ``every_steps``."""
    from ase import units
    from ase.md.langevin import Langevin

    from alearn.explore.integrators import initial_velocities
    from al_systems import labelled

    spec = next(iter(system.test.values()))
    stage = cfg.explore.stages[0]
    every = cfg.explore.monitor.every_steps
    if not state.reference_walkers:
        for k in range(cfg.explore.walkers):
            atoms = system.starts[k % len(system.starts)].copy()
            atoms.calc = system.reference()
            initial_velocities(atoms, spec.temperature_K, rng)
            state.reference_walkers.append(atoms)
    frames, walkers, steps = [], [], []
    for k, atoms in enumerate(state.reference_walkers):
        dyn = Langevin(atoms, system.timestep_fs * units.fs, temperature_K=spec.temperature_K,
                       friction=0.01 / units.fs, rng=rng, fixcm=False)
        for n in range(stage.steps // every):
            dyn.run(every)
            frames.append(labelled(atoms))
            walkers.append(k)
            steps.append((n + 1) * every)
        state.md_steps += stage.steps
    return Pool(frames, np.array(walkers), np.array(steps), [None] * len(frames), True, len(frames),
                len(frames) * every)


# --- selection ---------------------------------------------------------------------------------

def choose(strategy: Strategy, cfg: Config, model: Any, pool: Pool, candidates: np.ndarray,
           predicted: np.ndarray, train: Sequence[Any], budget: int, rng: np.random.Generator) -> list[int]:
    """``budget`` pool indices among ``candidates`` by the strategy's selector."""
    from alearn.select.diversity import decorrelate, element_pairs, farthest_point_sampling, fingerprint

    cand = np.asarray(candidates, dtype=int)
    if strategy.decorrelate and strategy.selector != "random" and len(cand):
        kept = []
        for w in np.unique(pool.walker[cand]):
            mine = cand[pool.walker[cand] == w]
            kept.extend(mine[decorrelate(pool.step[mine], predicted[mine], cfg.select.min_frame_gap)])
        cand = np.array(sorted(kept), dtype=int)
    if len(cand) <= budget:
        return cand.tolist()
    sel = strategy.selector
    if sel == "random":
        return sorted(rng.choice(cand, size=budget, replace=False).tolist())
    if sel == "top":
        return cand[np.argsort(-predicted[cand], kind="stable")[:budget]].tolist()
    frames = [pool.frames[i] for i in cand]
    if sel in ("fps", "kmeans"):
        pairs = element_pairs(frames)
        points = np.array([fingerprint(a, pairs, cfg.select.descriptor_cutoff_A) for a in frames])
        if sel == "fps":
            picked = farthest_point_sampling(points, budget, first=int(np.argmax(predicted[cand])))
        else:
            from alearn.select.diversity import representatives

            picked = representatives(points, predicted[cand], budget)
        return cand[picked].tolist()
    from alearn.select import gradient_features as gf
    from alearn.select.batch import lcmd, max_det

    feats = features_of(model, frames, strategy.features).per_structure()
    reference = features_of(model, [r.atoms for r in train], strategy.features).per_structure()
    posterior = gf.FeaturePosterior.fit(reference, strategy.ridge)
    psi = posterior.transform(feats)
    if sel == "maxdet":
        return cand[max_det(psi, budget)].tolist()
    if sel == "lcmd":
        return cand[lcmd(psi, posterior.transform(reference), budget)].tolist()
    raise ValueError(f"unknown selector {sel!r}")


# --- one run -----------------------------------------------------------------------------------

def initial_state(cfg: Config, system: System, seed: int, workdir: Path) -> ArmState:
    """Iteration 0, the same for every arm of a seed: rattled copies of the starts, labelled;
    ``initial_validation`` more of them are the first validation frames."""
    rng = np.random.default_rng([seed, 0])
    reference = system.reference()
    made = []
    for start in system.starts:
        for _ in range(system.initial_copies + system.initial_validation):
            atoms = start.copy()
            atoms.positions += rng.normal(0.0, system.initial_rattle_A, atoms.positions.shape)
            made.append(label(reference, atoms))
    n_valid = system.initial_validation * len(system.starts)
    order = rng.permutation(len(made))
    valid = rows_of([made[i] for i in sorted(order[:n_valid])])
    train = rows_of([made[i] for i in sorted(order[n_valid:])])
    model, _ = fit(cfg, system, Strategy("initial", fresh_training=True), None, train, [], valid,
                   seed=seed)
    model_dir = workdir / "model-0000"
    model.save(model_dir)
    return ArmState(train, valid, model, model_dir, calls=len(made), initial_valid=len(valid))


def copy_state(state: ArmState, workdir: Path) -> ArmState:
    import shutil

    model_dir = workdir / state.model_dir.name
    if not model_dir.exists():
        shutil.copytree(state.model_dir, model_dir)
    return ArmState(list(state.train), list(state.valid), state.model, model_dir, state.calls,
                    state.md_steps, [], [dict(p) for p in state.curve], list(state.facts),
                    state.converged_at, state.initial_valid)


def labels_after_convergence(strategy: Strategy) -> bool:
    """Whether an arm keeps labelling after its stop rule held: the uncertainty arms do (only
    frames predicted to miss the target, up to the budget: what a converged campaign would
    still send); the random arms A and B have nothing to decide with and stop labelling."""
    return strategy.pool == "surrogate" and strategy.selector != "random"


def stop_rules() -> Any:
    """The campaign's stop rules as shipped ([stop] defaults: target_accurate_ratio,
    accurate_iterations, validation_window), with no iteration bound (the harness runs its own count)."""
    from alearn.config.loop import StopConfig

    return StopConfig(max_iterations=10 ** 6)


def iteration(cfg: Config, system: System, strategy: Strategy, state: ArmState, it: int,
              seed: int, target: float, test: dict[str, list[Atoms]], workdir: Path) -> dict[str, Any]:
    """One iteration of the arm; appends its record to ``state.curve`` and returns it.

    Before the stop rule holds: explore, draw ``validation_per_iteration`` frames uniformly
    (labelled, never trained on), select, label, train.  The stop rule is the campaign's
    (``alearn.campaign.stop``): validation force RMSE ≤ target and (uncertainty arms) at least
    ``target_accurate_ratio`` of the explored frames predicted to meet it, for
    ``accurate_iterations`` iterations in a row; for the random arms the accuracy clause does
    not apply.  After it holds no arm draws validation frames; the uncertainty arms keep
    exploring and label the frames predicted to miss the target (``sent``), the random arms
    stop (their model stands and is still scored)."""
    rng = np.random.default_rng([seed, it, 1])
    converged = state.converged_at is not None
    timings: dict[str, float] = {}
    if converged and not labels_after_convergence(strategy):
        record = {"iteration": it, "reference": state.calls, "md_steps": state.md_steps, "epochs": 0,
                  "train_rows": len(state.train), "valid_rows": len(state.valid), "selected": 0,
                  "validation": 0, "explored": 0, "pool": 0, "converged": True,
                  **evaluate(state.model, test)}
        state.curve.append(record)
        return record
    began = time.process_time()
    walker_trust = None
    if strategy.pool == "reference":
        pool = reference_pool(cfg, system, state, rng)
    else:
        pool, walker_trust = surrogate_pool(cfg, system, strategy, state, it, _walker_seed(seed, it),
                                            workdir / f"explore-{it:04d}", target)
    timings["explore_cpu_s"] = time.process_time() - began
    began = time.process_time()
    window = judge(cfg, strategy, state, pool, target, walker_trust)   # the exploring model's
    timings["trust_cpu_s"] = time.process_time() - began
    reference = system.reference()
    available = np.arange(len(pool.frames))
    n_valid = 0 if converged else min(system.validation_per_iteration, len(available))
    picks = rng.choice(available, size=n_valid, replace=False) if n_valid else np.array([], dtype=int)
    new_valid = [pool.frames[i] if pool.labelled else label(reference, pool.frames[i]) for i in picks]
    state.valid.extend(rows_of(new_valid))
    state.calls += len(new_valid)
    rest = np.setdiff1d(available, picks)
    began = time.process_time()
    selected, info = select(cfg, strategy, state, pool, rest, window, rng)
    timings["select_cpu_s"] = time.process_time() - began
    new = [pool.frames[i] if pool.labelled else label(reference, pool.frames[i]) for i in selected]
    state.calls += len(new)
    new_rows = rows_of(new)
    model, timings["train_cpu_s"] = fit(cfg, system, strategy, state.model, new_rows, state.train,
                                    state.valid, seed=seed * 1000 + it) if new_rows else (state.model, 0.0)
    state.train.extend(new_rows)
    state.model = model
    if new_rows:
        state.model_dir = workdir / f"model-{it:04d}"
        model.save(state.model_dir)
    epochs = getattr(model, "metadata", {}).get("training", {}).get("epochs_run") if new_rows else 0
    valid_rmse, valid_frames = validation_rmse(model, state.explored_valid())
    record = {"iteration": it, "reference": state.calls, "md_steps": state.md_steps, "epochs": epochs,
              "train_rows": len(state.train), "valid_rows": len(state.valid), "selected": len(new),
              "validation": len(new_valid), "explored": pool.explored, "pool": len(pool.frames),
              "explored_md_steps": pool.explored_steps, "converged": converged,
              "validation_force_rmse": valid_rmse, **window.get("info", {}), **info, **timings,
              **evaluate(model, test)}
    if not converged and strategy.stops:
        from alearn.campaign.stop import IterationFacts, recent_validation_rmse, stop_reason

        uses_ratio = labels_after_convergence(strategy)
        ratio = record.get("accurate_ratio") if uses_ratio else 1.0
        state.facts.append(IterationFacts(it, ratio, None, state.calls, valid_rmse, valid_frames))
        rules = stop_rules()
        reason = stop_reason(state.facts, rules, 0.0, target)
        record["stop_validation_force_rmse"] = recent_validation_rmse(
            state.facts, len(state.facts) - 1, rules.validation_window)[0]
        if reason is not None and reason.startswith("converged"):
            state.converged_at = it
            record["stop_reason"] = reason
    state.curve.append(record)
    return record


def judge(cfg: Config, strategy: Strategy, state: ArmState, pool: Pool, target: float,
          walker_trust: Trust | None = None) -> dict[str, Any]:
    """Every pool frame's predicted force error and the window of this iteration (surrogate
    arms; B has none): the campaign's target-based trust (the walkers' own calibrated values
    when the strategy's measure is theirs), or the raw window of the system."""
    if strategy.pool == "reference":
        return {}
    frames = pool.frames
    if strategy.trust == "target":
        if walker_trust is not None and strategy.measure == "committee":
            trust = walker_trust
            predicted = np.array([float(v[1]) for v in pool.values])
        else:
            trust = calibrate(strategy, cfg, state.model, state.explored_valid(), state.train, target)
            measure = measure_frames(strategy, state.model, frames, [None] * len(frames), state.train) \
                if strategy.measure != "committee" or walker_trust is not None \
                else measure_frames(strategy, state.model, frames, pool.values, state.train)
            predicted = predicted_errors(measure, frames, trust)
        lo, hi, quality = trust.lo, trust.hi, trust.quality
    else:
        measure = measure_frames(strategy, state.model, frames, pool.values, state.train)
        predicted = measure.frame
        lo, hi, quality = cfg.select.trust.lo, cfg.select.trust.hi, {}
    accurate = int(np.sum(predicted < lo))
    failed = int(np.sum(predicted >= hi)) + (pool.explored - len(frames))   # insane count as failed
    info = {"lo": float(lo), "hi": float(hi), "calibration": quality,
            "accurate_ratio": accurate / pool.explored if pool.explored else None,
            "failed_fraction": failed / pool.explored if pool.explored else None,
            "predicted_median": float(np.median(predicted)) if len(predicted) else None}
    return {"predicted": predicted, "lo": lo, "hi": hi, "info": info}


def _walker_seed(seed: int, it: int) -> int:
    return int(np.random.SeedSequence([seed, it]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def select(cfg: Config, strategy: Strategy, state: ArmState, pool: Pool, rest: np.ndarray,
           window: dict[str, Any], rng: np.random.Generator) -> tuple[list[int], dict[str, Any]]:
    """The frames of ``rest`` to label, and what the record keeps about the choice: B any
    ``budget`` frames of its reference MD; A ``budget`` random frames predicted below hi; the
    uncertainty arms up to ``budget`` of the frames predicted to miss the target (lo ≤ predicted
    < hi), chosen by the selector."""
    budget = cfg.select.budget
    if strategy.pool == "reference":
        return sorted(rng.choice(rest, size=min(budget, len(rest)), replace=False).tolist()), {}
    predicted = window["predicted"][rest]
    below_hi = predicted < window["hi"]
    accurate = predicted < window["lo"]
    candidates = np.flatnonzero(below_hi & ~accurate) if strategy.selector != "random" \
        else np.flatnonzero(below_hi)
    chosen = choose(strategy, cfg, state.model, pool, rest[candidates], window["predicted"],
                    state.train, budget, rng)
    return chosen, {"candidates": int(len(candidates))}


def run_arm(system: System, strategy: Strategy, seed: int, target: float, test: dict[str, list[Atoms]],
            start: ArmState, workdir: Path, iterations: int, log: Any = None) -> dict[str, Any]:
    """Iterations 1 … ``iterations`` of one arm from the shared iteration-0 state."""
    cfg = configs(system)
    workdir.mkdir(parents=True, exist_ok=True)
    state = copy_state(start, workdir)
    began, cpu = time.perf_counter(), time.process_time()
    for it in range(1, iterations + 1):
        record = iteration(cfg, system, strategy, state, it, seed, target, test, workdir)
        if log is not None:
            log(f"{system.name} {strategy.name} seed {seed} it {it}: {record['reference']} calls, "
                f"force RMSE {record['force_rmse']:.4g}, valid {record.get('validation_force_rmse')}, "
                f"train {record.get('train_cpu_s', 0):.1f} CPU s, selected {record['selected']}, "
                f"candidates {record.get('candidates', '-')}, acc {record.get('accurate_ratio', '-')}"
                + (" [stopped]" if record.get("converged") else ""))
    return {"strategy": asdict(strategy), "seed": seed, "wall_s": time.perf_counter() - began,
            "cpu_s": time.process_time() - cpu, "target": target, "converged_at": state.converged_at,
            "curve": state.curve}


__all__ = ["ArmState", "Config", "Inline", "Strategy", "configs", "evaluate", "initial_state",
           "run_arm"]
