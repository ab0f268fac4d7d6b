"""Checks a labelled structure must pass before it enters the store, and its content hash.

Every check returns the reason in words (``None`` when the structure is fine), so the store can
report a rejected structure instead of dropping it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
from ase import Atoms

from alearn.data.records import Labels

#: decimals kept by the content hash (Å, eV, eV/Å; stress in eV/Å³ keeps more).  Eight is
#: what ASE's extended XYZ writer keeps for positions and forces, so an export → import round
#: trip hashes to the same value (rounding twice to the same grid changes nothing)
_HASH_DECIMALS = {"positions": 8, "cell": 8, "energy": 8, "forces": 8, "stress": 10}


def voigt_stress(stress: np.ndarray | None) -> np.ndarray | None:
    """Stress as a Voigt 6-vector (ASE order xx yy zz yz xz xy); a 3×3 tensor is converted."""
    if stress is None:
        return None
    array = np.asarray(stress, dtype=float)
    if array.shape == (3, 3):
        return array[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
    return array


def _geometry_problem(atoms: Atoms) -> str | None:
    if len(atoms) == 0:
        return "the structure has no atoms"
    if not np.isfinite(atoms.positions).all():
        return "positions contain NaN or infinite values"
    cell = atoms.cell.array
    if not np.isfinite(cell).all():
        return "the cell contains NaN or infinite values"
    pbc = atoms.pbc
    if not pbc.any():
        return None
    for axis in range(3):
        if pbc[axis] and not cell[axis].any():
            return f"periodic along cell vector {axis + 1}, but that cell vector is zero"
    if pbc.all() and abs(atoms.cell.volume) < 1e-9:
        return "periodic in 3D, but the cell has zero volume"
    return None


def _labels_problem(labels: Labels, natoms: int) -> str | None:
    energy = labels.energy
    if energy is None or isinstance(energy, bool) or not np.isscalar(energy):
        return f"energy must be a number (eV), found {energy!r}"
    if not np.isfinite(float(energy)):
        return f"energy is not finite ({energy!r})"
    if labels.forces is not None:
        forces = np.asarray(labels.forces, dtype=float)
        if forces.shape != (natoms, 3):
            return f"forces have shape {forces.shape}, expected ({natoms}, 3) for {natoms} atoms"
        if not np.isfinite(forces).all():
            return "forces contain NaN or infinite values"
    if labels.stress is not None:
        stress = np.asarray(labels.stress, dtype=float)
        if stress.shape not in ((6,), (3, 3)):
            return f"stress has shape {stress.shape}, expected (6,) (Voigt) or (3, 3)"
        if not np.isfinite(stress).all():
            return "stress contains NaN or infinite values"
    return None


#: structures up to this many atoms compare all pairs directly (faster than any neighbour list)
_ALL_PAIRS_MAX = 256


def closest_pair(atoms: Atoms, cutoff_A: float) -> tuple[int, int, float] | None:
    """The closest pair of atoms (periodic images included) nearer than ``cutoff_A``, if any.

    Small molecules, and small fully periodic cells whose narrowest width exceeds twice the
    cutoff (so the nearest image of every pair within it is the minimum image), compare all
    pairs directly; larger molecules use a k-d tree, anything else ASE's neighbour list, which
    handles every combination of pbc."""
    periodic = bool(atoms.pbc.all())
    if len(atoms) <= _ALL_PAIRS_MAX:
        if not atoms.pbc.any():
            return _closest_of_all_pairs(atoms.positions, cutoff_A)
        inverse = _wide_inverse(atoms.cell.array, cutoff_A) if periodic else None
        if inverse is not None:
            return _closest_of_all_pairs(atoms.positions, cutoff_A, atoms.cell.array, inverse)
    if atoms.pbc.any():
        from ase.neighborlist import neighbor_list

        first, second, distance = neighbor_list("ijd", atoms, cutoff_A, self_interaction=False)
    else:
        from scipy.spatial import cKDTree

        pairs = cKDTree(atoms.positions).query_pairs(cutoff_A, output_type="ndarray")
        first, second = pairs[:, 0], pairs[:, 1]
        distance = np.linalg.norm(atoms.positions[first] - atoms.positions[second], axis=1)
    if len(distance) == 0:
        return None
    k = int(np.argmin(distance))
    return int(first[k]), int(second[k]), float(distance[k])


def _wide_inverse(cell: np.ndarray, cutoff_A: float) -> np.ndarray | None:
    """The inverse of ``cell`` when every perpendicular width exceeds ``2 cutoff_A`` (else
    ``None``): then a pair closer than the cutoff has its fractional separation inside
    (-1/2, 1/2), and no atom is within the cutoff of its own image.  The widths are the
    inverse lengths of the reciprocal vectors, the columns of the inverse."""
    try:
        inverse = np.linalg.inv(cell)
    except np.linalg.LinAlgError:
        return None
    widths = 1.0 / np.sqrt((inverse * inverse).sum(axis=0))
    return inverse if bool(np.all(widths > 2.0 * cutoff_A)) else None


def _closest_of_all_pairs(positions: np.ndarray, cutoff_A: float, cell: np.ndarray | None = None,
                          inverse: np.ndarray | None = None) -> tuple[int, int, float] | None:
    if cell is not None and inverse is not None:
        fractional = positions @ inverse
        delta = fractional[:, None, :] - fractional[None, :, :]
        delta = (delta - np.round(delta)) @ cell
    else:
        delta = positions[:, None, :] - positions[None, :, :]
    squared = np.einsum("ijk,ijk->ij", delta, delta)
    np.fill_diagonal(squared, np.inf)
    i, j = divmod(int(np.argmin(squared)), len(positions))
    distance = float(np.sqrt(squared[i, j]))
    return (min(i, j), max(i, j), distance) if distance < cutoff_A else None


def problem(atoms: Atoms, labels: Labels, min_distance_A: float) -> str | None:
    """Why the structure may not be stored, or ``None`` when it passes every check."""
    reason = _geometry_problem(atoms) or _labels_problem(labels, len(atoms))
    if reason is not None:
        return reason
    pair = closest_pair(atoms, min_distance_A)
    if pair is not None:
        i, j, d = pair
        symbols = atoms.get_chemical_symbols()
        image = " (periodic images)" if i == j else ""
        return (f"atoms {i} ({symbols[i]}) and {j} ({symbols[j]}) are {d:.3f} Å apart{image}, "
                f"closer than the minimum distance {min_distance_A} Å")
    return None


def _hash_parts(atoms: Atoms, labels: Labels) -> Iterator[bytes]:
    def rounded(values: object, name: str) -> bytes:
        array = np.asarray(values, dtype=float).round(_HASH_DECIMALS[name]) + 0.0
        return name.encode() + array.tobytes()  # tobytes() is C order whatever the layout

    yield np.asarray(atoms.numbers, dtype=np.int64).tobytes()
    yield rounded(atoms.positions, "positions")
    yield rounded(atoms.cell.array, "cell")
    yield np.asarray(atoms.pbc, dtype=np.int8).tobytes()
    yield rounded([labels.energy], "energy")
    if labels.forces is not None:
        yield rounded(labels.forces, "forces")
    if labels.stress is not None:
        yield rounded(voigt_stress(labels.stress), "stress")


def content_hash(atoms: Atoms, labels: Labels) -> str:
    """SHA-256 of (numbers, positions, cell, pbc, energy, forces, stress), rounded (see above)."""
    digest = hashlib.sha256()
    for part in _hash_parts(atoms, labels):
        digest.update(part)
    return digest.hexdigest()
