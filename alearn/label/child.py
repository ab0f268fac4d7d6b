"""``python -m alearn.label.child WORKDIR``: run an in-process calculator in a child process.

Used when ``[reference.profile] isolate = true``: the dispatcher pickles the calculator into the
attempt directory and runs this module under the same guard as an external code, so a timeout
kills it and a crash of the code (segfault, out of memory) cannot take the worker down.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Unpickle the calculator of ``argv[0]`` (an attempt directory) and run it there."""
    workdir = Path(argv[0])
    calculator = pickle.loads((workdir / "calculator.pkl").read_bytes())
    calculator.run_in_process(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
