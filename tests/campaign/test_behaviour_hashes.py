"""Refactors keep behaviour: the shipped quick campaigns (shortened, every stage kept) commit
the same data sets, iteration by iteration, as the reference commit did.

The hashes below were recorded with ``python tests/campaign/quick_campaigns.py`` on main at
83e9071 (before the roles-and-registries refactor, issue 12).  A change of behaviour that is
intended (a new default, a fixed bug) records new ones and says so in its commit message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quick_campaigns import QUICK, dataset_hashes

RECORDED = {
    "h2-gpr": [
        "60c9d88a498c38e7bd9673260357a416fc8b32f2b0f7914df1a32bbc0f537ce1",
        "7a002985005f686fb40e2ca84959d1add1484cc3970fe25c4efface2baa02036",
    ],
    "cu-emt": [
        "ceaf997722c9a1e38cb28219e6f9c2f1af56323d06cbce40b9926361db6bb2df",
        "91fc611c9b252a43e0d854a282b1558994c95fc24628fc67cff6eea6e8b031d8",
        "8a89f2887b8e2d5cdeb80603ca0581e418af80943701ea593f0958714f07a9d2",
    ],
    "water-cluster-xtb": [
        "dfe0883e0f097c1d1f5bf11c9760dba5eab5996ecfa96b87bd6d66a8cfa92f7e",
        "4f6dad62a954a6d5f118a2f75a73cab00134e8350e0596e5303b10962b7c1ad9",
    ],
    "water-cluster-xtb-rollback": [
        "dfe0883e0f097c1d1f5bf11c9760dba5eab5996ecfa96b87bd6d66a8cfa92f7e",
        "4b074d173a4a00e07e7721f992ba28b2d1612189bd76a7de75c00a2e98f76bbd",
    ],
}


def test_every_quick_run_has_recorded_hashes() -> None:
    assert set(RECORDED) == set(QUICK)


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_quick_campaign_commits_the_recorded_data_sets(name: str, tmp_path: Path) -> None:
    assert dataset_hashes(name, tmp_path) == RECORDED[name]
