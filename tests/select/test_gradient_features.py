"""Gradient features: last-layer features reproduce the members' energies, the sketch is the
projected exact gradient, features are invariant, and the posterior behaves like one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms

from alearn.descriptors.chebyshev import ChebyshevSpec, features
from alearn.models.committee import Committee
from alearn.select.gradient_features import (FeaturePosterior, atomic_std, element_posteriors,
                                             gradient_features, projections, structure_std)

torch.set_num_threads(1)


def committee(members: int = 2, hidden=(5, 4)) -> Committee:
    spec = ChebyshevSpec(("H", "O"), 4.0, 3.0, 4, 2)
    model = Committee(spec, hidden, "softplus", members, seeds=range(members))
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        model.scale.copy_(0.2 + torch.rand(model.scale.shape, generator=gen, dtype=torch.float64))
        model.reference_energy.copy_(torch.tensor([-1.5, -7.0], dtype=torch.float64))
        model.energy_scale.fill_(0.7)
    return model


def water(seed: int, n: int = 2) -> Atoms:
    rng = np.random.default_rng(seed)
    base = np.array([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]])
    pos = np.concatenate([base + [2.9 * k, 0.3 * k, 0.0] for k in range(n)])
    return Atoms("OH2" * n, positions=pos + rng.normal(0, 0.05, pos.shape))


def _energies(model, structures):
    graph = model.graph(structures)
    pos = torch.as_tensor(np.concatenate([a.positions for a in structures]))
    out = model.evaluate_graph(graph, pos, forces=False)
    return out.energy.detach().numpy()          # (K, B)


def test_last_layer_features_reproduce_member_energies():
    model = committee()
    structures = [water(0), water(1, 3), water(2, 1)]
    feats = gradient_features(model, structures, kind="last_layer")
    phi = feats.per_structure()
    energies = _energies(model, structures)
    params = model.networks.params
    width = model.networks.widths[-2] + 1
    for m in range(model.members):
        theta = np.zeros(feats.dim)
        for t, element in enumerate(model.spec.elements):
            w = params[f"{element}_2_weight"].detach()[m].numpy().reshape(-1)
            b = params[f"{element}_2_bias"].detach()[m].numpy().reshape(-1)
            start = feats.blocks[t].start + m * width
            theta[start:start + width] = np.concatenate([w, b])
        reference = np.array([sum(model.reference_energy[model.spec.elements.index(s)].item()
                                  for s in a.get_chemical_symbols()) for a in structures])
        np.testing.assert_allclose(phi @ theta, energies[m] - reference, rtol=1e-10, atol=1e-10)


def test_sketch_is_the_projected_exact_gradient():
    model = committee(members=2)
    atoms = water(4)
    feats = gradient_features(model, [atoms], kind="sketch", dim=7, seed=5)
    graph = model.graph([atoms])
    pos = torch.as_tensor(atoms.positions)
    g = features(model.spec, graph, pos).detach()
    params = model.networks.params
    n_layers = len(model.networks.widths) - 1
    from alearn.select.gradient_features import _sketch_seed
    for i, symbol in enumerate(atoms.get_chemical_symbols()):
        t = model.spec.elements.index(symbol)
        for m in range(model.members):
            atomic = model.atomic_energies(graph, g)[m, i]
            names = [f"{symbol}_{layer}_{kind}" for layer in range(n_layers) for kind in ("weight", "bias")]
            grads = torch.autograd.grad(atomic, [params[n] for n in names])
            layers = [(params[f"{symbol}_{l}_weight"].detach()[m], params[f"{symbol}_{l}_bias"].detach()[m, 0])
                      for l in range(n_layers)]
            expected = torch.zeros(7, dtype=torch.float64)
            for layer, (p_w, p_b) in enumerate(projections(layers, 7, _sketch_seed(5, symbol))):
                gw, gb = grads[2 * layer][m], grads[2 * layer + 1][m, 0]
                expected += gw.reshape(-1) @ p_w + gb @ p_b
            start = feats.blocks[t].start + m * 7
            got = feats.atoms[i, start:start + 7]
            np.testing.assert_allclose(got, expected.numpy(), rtol=1e-9, atol=1e-12)
        others = np.delete(np.arange(feats.dim), np.r_[feats.blocks[t]])
        assert np.all(feats.atoms[i, others] == 0.0)


@pytest.mark.parametrize("kind", ["last_layer", "sketch"])
def test_features_are_invariant_to_rotation_translation_and_permutation(kind):
    model = committee()
    atoms = water(7)
    moved = atoms.copy()
    moved.rotate(37, (1, 2, 3), center="COM")
    moved.translate((1.0, -2.0, 0.5))
    order = [3, 4, 5, 0, 2, 1]
    moved = moved[order]
    a = gradient_features(model, [atoms], kind=kind).per_structure()
    b = gradient_features(model, [moved], kind=kind).per_structure()
    scale = np.abs(a).max()
    np.testing.assert_allclose(a, b, atol=1e-10 * scale)


def test_posterior_leverages_and_out_of_span_rows():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(40, 6)) @ np.diag([1, 1, 1, 1, 1, 0])      # last direction unseen
    post = FeaturePosterior.fit(rows, ridge=1e-6)
    leverage = post.variance(rows)
    assert np.all(leverage <= 1.0 + 1e-9)
    assert abs(leverage.sum() - 5.0) < 1e-3                              # trace of the hat matrix
    inside = post.variance(rows[:1] * 2.0)[0]
    outside = post.variance(np.eye(6)[5:])[0]
    assert outside > 1e3 * inside
    psi = post.transform(rows[:3])
    np.testing.assert_allclose(np.einsum("ij,ij->i", psi, psi), leverage[:3], rtol=1e-10)


def test_atomic_and_structure_std_grow_away_from_the_training_data():
    model = committee()
    train = [water(s) for s in range(40)]
    feats = gradient_features(model, train)
    near, far = water(20), water(21)
    far.positions[2] += [0.5, 0.4, 0.0]                                  # stretch one O–H
    pool = gradient_features(model, [near, far])
    per_atom = atomic_std(element_posteriors(feats), pool)
    split = pool.split_atoms()
    assert len(split) == 2 and per_atom.shape == (12,)
    assert per_atom[6:].max() > 1.5 * per_atom[:6].max()
    total = structure_std(FeaturePosterior.fit(feats.per_structure()), pool)
    assert total[1] > total[0]
