"""Child processes: timeouts and cancellation kill the whole group; nothing outlives its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from proctools import alive, wait_until

from alearn.label.process import run_command

pytestmark = pytest.mark.timeout(60)

SPAWNER = "sleep 3600 & echo $! > grandchild.pid; echo $$ > child.pid; sleep 3600"


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    result = run_command(["sh", "-c", SPAWNER], tmp_path, stdout=tmp_path / "out",
                         stderr=tmp_path / "err", timeout_s=0.5)
    assert result.timed_out and result.returncode is None
    pids = [int((tmp_path / f).read_text()) for f in ("child.pid", "grandchild.pid")]
    assert wait_until(lambda: not any(alive(p) for p in pids), 5.0)


def test_should_stop_cancels_and_kills(tmp_path: Path) -> None:
    flag = tmp_path / "CANCEL"
    result = run_command(["sh", "-c", f"touch {flag}; " + SPAWNER], tmp_path,
                         stdout=tmp_path / "out", stderr=tmp_path / "err", timeout_s=30,
                         should_stop=flag.exists)
    assert result.cancelled and not result.timed_out
    assert wait_until(lambda: not alive(int((tmp_path / "grandchild.pid").read_text())), 5.0)


def test_exit_status_and_output_are_kept(tmp_path: Path) -> None:
    result = run_command(["sh", "-c", "echo out; echo err >&2; exit 7"], tmp_path,
                         stdout=tmp_path / "out", stderr=tmp_path / "err", env={"X": "1"})
    assert result.returncode == 7
    assert (tmp_path / "out").read_text() == "out\n"
    assert (tmp_path / "err").read_text() == "err\n"


def test_children_die_with_a_sigkilled_parent(tmp_path: Path) -> None:
    """The parent-death signal reaches the guard, which kills the whole group."""
    script = textwrap.dedent(f"""
        from pathlib import Path
        from alearn.label.process import run_command
        d = Path({str(tmp_path)!r})
        run_command(["sh", "-c", {SPAWNER!r}], d, stdout=d / "out", stderr=d / "err")
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        assert wait_until(lambda: (tmp_path / "child.pid").exists()
                          and (tmp_path / "grandchild.pid").exists(), 30.0)
        pids = [int((tmp_path / f).read_text()) for f in ("child.pid", "grandchild.pid")]
        assert all(alive(p) for p in pids)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert wait_until(lambda: not any(alive(p) for p in pids), 10.0)
    finally:
        if parent.poll() is None:
            parent.kill()
