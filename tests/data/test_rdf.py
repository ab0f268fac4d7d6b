"""g(r): an ideal gas is flat at 1, the first fcc shell integrates to 12 neighbours, partials
and halves behave, bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from alearn.data.rdf import halves_distance, rdf, rdf_distance
from alearn.errors import UserError


def gas(seed: int, n: int = 400, edge: float = 12.0) -> Atoms:
    rng = np.random.default_rng(seed)
    return Atoms(["Ar"] * n, positions=rng.random((n, 3)) * edge, cell=[edge] * 3, pbc=True)


def test_ideal_gas_is_flat_at_one_beyond_half_the_cell():
    r, g = rdf([gas(k) for k in range(5)], r_max_A=9.0, bins=30)   # 9 Å > half of the 12 Å cell
    # counting noise per bin ~ 1/sqrt(pairs in the bin): bins beyond 2 Å hold thousands of pairs
    assert np.abs(g[r > 2.0] - 1.0).max() < 0.1
    assert rdf_distance(g[r > 2.0], np.ones(np.count_nonzero(r > 2.0))) < 0.03


def test_first_fcc_shell_integrates_to_twelve_neighbours():
    a = 3.6
    crystal = bulk("Cu", "fcc", a=a, cubic=True).repeat(2)
    crystal.rattle(0.02, seed=1)
    r, g = rdf([crystal], r_max_A=3.0, bins=300)
    rho = len(crystal) / crystal.get_volume()
    edges = np.linspace(0.0, 3.0, 301)
    neighbours = np.sum(rho * g * 4 / 3 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3))
    assert neighbours == pytest.approx(12.0, rel=1e-12)             # all first-shell pairs are < 3 Å
    assert r[np.argmax(g)] == pytest.approx(a / np.sqrt(2), abs=0.05)


def test_partial_and_total_agree_for_one_element_and_halves_of_one_sample_are_close():
    frames = [gas(k) for k in range(8)]
    _, total = rdf(frames, 6.0, 12)
    _, partial = rdf(frames, 6.0, 12, pair="Ar-Ar")
    np.testing.assert_allclose(partial, total, rtol=1e-12)
    # each half holds ~4·400²/2·(4π/3)(6³)/12³ ≈ 1.7e5 pairs within 6 Å: a few per cent of noise
    assert halves_distance(frames, 6.0, 12) < 0.05


def test_bad_input_is_refused():
    with pytest.raises(UserError, match="periodic"):
        rdf([Atoms("Ar2", positions=[[0, 0, 0], [1, 0, 0]])], 3.0)
    with pytest.raises(UserError, match="pair"):
        rdf([gas(0)], 3.0, pair="Ar")
    with pytest.raises(UserError, match="two structures"):
        halves_distance([gas(0)], 3.0)
