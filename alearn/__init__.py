"""alearn: active learning of machine-learning interatomic potentials.

Explore with MD on a committee of atomic neural networks or local GPR surrogates, select the
uncertain structures, label them with a reference code, augment forces into energies, retrain,
and keep every iteration as an immutable snapshot.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alearn")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
