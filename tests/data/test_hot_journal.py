"""A process killed inside a store transaction leaves a hot journal; the store must still open."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alearn.data.store import Store

KILLED_WRITER = """
import os, signal, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA cache_size=1")  # spill pages to the file mid-transaction
con.execute("BEGIN IMMEDIATE")
for i in range(2000):
    con.execute("INSERT INTO information VALUES (?, ?)", (f"k{i}", "x" * 500))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_store_opens_after_a_kill_inside_a_transaction(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    Store.open(path).close()
    subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], check=False)
    assert Path(f"{path}-journal").exists(), "the killed writer should leave a hot journal"
    with Store.open(path) as store:  # rolled back, not "attempt to write a readonly database"
        assert len(store) == 0
    assert not Path(f"{path}-journal").exists()
