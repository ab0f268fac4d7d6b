"""The store on a real PostgreSQL server: a throw-away server on 127.0.0.1, started per module.

Skipped when PostgreSQL's ``initdb``/``pg_ctl`` or the ``postgres`` extra (psycopg2,
ase-db-backends) are missing.  As root, PostgreSQL runs as the ``postgres`` system user (it
refuses to run as root), in a temporary directory that user can reach.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ase.build import molecule

from alearn.cli import main
from alearn.data.records import Labels, Provenance, Source
from alearn.data.store import Inserted, Rejected, Store

pytestmark = pytest.mark.postgres


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user() -> tuple[list[str], str | None]:
    """Command prefix running as a non-root user (PostgreSQL refuses root), and its name."""
    if os.geteuid() != 0:
        return [], None
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and no 'postgres' user to run the server as")
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and no runuser to start the server as 'postgres'")
    return [runuser, "-u", "postgres", "--"], "postgres"


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("psycopg2")
    pytest.importorskip("ase_db_backends.postgresql")
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed")
    prefix, user = _as_server_user()
    base = Path(tempfile.mkdtemp(prefix="alearn-pg-")) if user else tmp_path_factory.mktemp("pg")
    if user:
        shutil.chown(base, user=user)
    data, port = base / "data", _free_port()
    run = lambda *args: subprocess.run([*prefix, *args], check=True, capture_output=True,  # noqa: E731
                                       timeout=120)
    try:
        run(initdb, "-D", str(data), "-U", "alearn", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(pg_ctl, "-D", str(data), "-l", str(base / "log"), "-o", options, "-w", "-t", "60",
            "start")
        yield f"postgresql://alearn@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def test_store_on_postgresql(postgres_url: str, molecules) -> None:
    with Store.open(postgres_url) as store:
        first = store.add(molecules[0].atoms, molecules[0].labels,
                          Provenance(Source.REFERENCE, 1, "xtb", "ph", "job-1", "water"))
        assert first == Inserted(1)
        again = store.add(molecules[1].atoms, molecules[1].labels,
                          Provenance(Source.REFERENCE, 1, "xtb", "ph", "job-1"))
        assert again == Inserted(1, new=False)
        close = molecule("H2O")
        close.positions[1] = close.positions[0] + [0.1, 0, 0]
        assert isinstance(store.add(close, Labels(-1.0), Provenance(Source.IMPORTED)), Rejected)
        record = store.get(1)
        assert record.provenance.job_hash == "job-1" and record.provenance.calculator == "xtb"
        np.testing.assert_allclose(record.labels.forces, molecules[0].forces)
        assert store.job_hashes() == {"job-1"} and store.count(source="reference") == 1


def test_add_many_rolls_back_on_postgresql(postgres_url: str, molecules) -> None:
    with Store.open(postgres_url) as store:
        before = len(store)

        def items():
            yield molecules[2].atoms, molecules[2].labels, Provenance(Source.IMPORTED)
            raise RuntimeError("crash")

        with pytest.raises(RuntimeError):
            store.add_many(items())
        assert len(store) == before


def test_import_command_into_postgresql(postgres_url: str, tmp_path: Path, crystals, writers,
                                        capsys) -> None:
    path = tmp_path / "OUTCAR"
    writers["outcar"](path, crystals)
    assert main(["import", str(path), "--into", postgres_url, "--quiet"]) == 0
    assert "2 added" in capsys.readouterr().out
    assert main(["import", str(path), "--into", postgres_url, "--quiet"]) == 0
    assert "0 added, 2 already stored" in capsys.readouterr().out
