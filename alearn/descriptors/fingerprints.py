"""Global structure fingerprints for local GPR, with their Jacobians w.r.t. atomic positions.

A fingerprint maps one structure of ``n`` atoms to a vector ``x`` of length ``D``; the GP needs
its Jacobian ``J = dx/dR`` (shape ``(D, 3n)``, positions flattened atom-major) to turn
kernel derivatives w.r.t. ``x`` into covariances of forces.

- :class:`InverseDistances` — ``1/r_ij`` for every pair ``i < j`` (non-periodic).  Invariant to
  rigid rotation and translation; the atom order must be the same across a subset (it is, since
  subsets share composition and atom count and the data keep their atom order).
- :class:`Soap` — DScribe's SOAP averaged over atoms (``average="inner"``).  Invariant (rotation,
  translation and permutation).  DScribe computes the position derivatives analytically only for
  non-periodic systems and for per-atom output with centres attached to their atoms (what a
  fingerprint of the structure needs: ``attach=True``); the average over atoms is taken here.
  For periodic systems DScribe only has central finite differences (slower, ~1e-7 accurate).  Structures are processed in chunks to bound memory.
- :class:`Cartesian` — the flattened coordinates, as in Yeu et al.; ``J`` is the identity.  It is
  **not** invariant to rotation or translation (kept to reproduce the paper).

All fingerprints return float64 arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Sequence

import numpy as np
from ase import Atoms

FingerprintKind = Literal["inverse_distances", "soap", "cartesian"]


@dataclass(frozen=True)
class Features:
    """Fingerprints ``x`` (N, D) and Jacobians ``jac`` (N, D, 3n) of N structures of n atoms."""

    x: np.ndarray
    jac: np.ndarray


class Fingerprint(Protocol):
    """What the GP needs from a fingerprint."""

    kind: FingerprintKind
    invariant: bool

    def compute(self, structures: Sequence[Atoms]) -> Features:
        """Fingerprints and Jacobians of structures that share atom count and order."""

    def spec(self) -> dict:
        """JSON-ready parameters (saved with a model, read back by :func:`make_fingerprint`)."""


def _check_same_size(structures: Sequence[Atoms]) -> int:
    sizes = {len(a) for a in structures}
    if len(sizes) != 1:
        raise ValueError(f"fingerprints need structures of one atom count, got {sorted(sizes)}")
    return sizes.pop()


@dataclass(frozen=True)
class InverseDistances:
    """``1/r_ij`` over all pairs ``i < j``; Jacobian analytic."""

    kind: FingerprintKind = "inverse_distances"
    invariant: bool = True

    def compute(self, structures: Sequence[Atoms]) -> Features:
        n = _check_same_size(structures)
        i, j = np.triu_indices(n, k=1)
        pos = np.stack([a.get_positions() for a in structures])          # (N, n, 3)
        vec = pos[:, i, :] - pos[:, j, :]                                 # (N, P, 3)
        r = np.linalg.norm(vec, axis=-1)                                  # (N, P)
        x = 1.0 / r
        grad = -vec / r[..., None] ** 3                                   # d(1/r)/dR_i
        jac = np.zeros((len(structures), len(i), n, 3))
        pairs = np.arange(len(i))
        jac[:, pairs, i, :] = grad
        jac[:, pairs, j, :] = -grad
        return Features(x=x, jac=jac.reshape(len(structures), len(i), 3 * n))

    def spec(self) -> dict:
        return {"kind": self.kind}


@dataclass(frozen=True)
class Cartesian:
    """Flattened Cartesian coordinates (not invariant; reproduces Yeu et al.)."""

    kind: FingerprintKind = "cartesian"
    invariant: bool = False

    def compute(self, structures: Sequence[Atoms]) -> Features:
        n = _check_same_size(structures)
        x = np.stack([a.get_positions().reshape(-1) for a in structures]).astype(float)
        jac = np.broadcast_to(np.eye(3 * n), (len(structures), 3 * n, 3 * n)).copy()
        return Features(x=x, jac=jac)

    def spec(self) -> dict:
        return {"kind": self.kind}


@dataclass(frozen=True)
class Soap:
    """Atom-averaged SOAP (DScribe) with position derivatives, computed ``chunk`` structures at a time."""

    species: tuple[str, ...]
    r_cut_A: float = 5.0
    n_max: int = 6
    l_max: int = 4
    sigma_A: float = 1.0
    periodic: bool = False
    chunk: int = 16
    kind: FingerprintKind = "soap"
    invariant: bool = True

    def _descriptor(self, average: str):
        from dscribe.descriptors import SOAP

        return SOAP(species=list(self.species), r_cut=self.r_cut_A, n_max=self.n_max,
                    l_max=self.l_max, sigma=self.sigma_A, periodic=self.periodic,
                    average=average, dtype="float64")

    def compute(self, structures: Sequence[Atoms]) -> Features:
        n = _check_same_size(structures)
        xs, jacs = [], []
        for start in range(0, len(structures), self.chunk):
            batch = list(structures[start:start + self.chunk])
            x, der = self._local(batch)
            xs.append(x)
            jacs.append(np.transpose(der, (0, 3, 1, 2)).reshape(len(batch), -1, 3 * n))
        return Features(x=np.concatenate(xs), jac=np.concatenate(jacs))

    def _local(self, batch: list[Atoms]) -> tuple[np.ndarray, np.ndarray]:
        """Per-atom SOAP with derivatives (centres move with their atoms), averaged over atoms.

        Returns (B, D) and (B, n, 3, D).  Analytical in DScribe for finite systems; numerical
        (central differences inside DScribe) for periodic ones.
        """
        soap = self._descriptor("off")
        method = "numerical" if self.periodic else "analytical"
        der, desc = soap.derivatives(batch, method=method, attach=True)
        n = len(batch[0])
        der = np.asarray(der).reshape(len(batch), n, n, 3, -1)
        desc = np.asarray(desc).reshape(len(batch), n, -1)
        return desc.mean(axis=1), der.mean(axis=1)

    def spec(self) -> dict:
        return {"kind": self.kind, "species": list(self.species), "r_cut_A": self.r_cut_A,
                "n_max": self.n_max, "l_max": self.l_max, "sigma_A": self.sigma_A,
                "periodic": self.periodic, "chunk": self.chunk}


def make_fingerprint(spec: dict) -> Fingerprint:
    """A fingerprint from its :meth:`spec` (or a config-derived dict with the same keys)."""
    kind = spec.get("kind")
    if kind == "inverse_distances":
        return InverseDistances()
    if kind == "cartesian":
        return Cartesian()
    if kind == "soap":
        return Soap(species=tuple(spec["species"]), r_cut_A=float(spec.get("r_cut_A", 5.0)),
                    n_max=int(spec.get("n_max", 6)), l_max=int(spec.get("l_max", 4)),
                    sigma_A=float(spec.get("sigma_A", 1.0)), periodic=bool(spec.get("periodic", False)),
                    chunk=int(spec.get("chunk", 16)))
    raise ValueError(f"unknown fingerprint kind {kind!r}")
