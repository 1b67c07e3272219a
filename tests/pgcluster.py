"""A throwaway PostgreSQL cluster from Debian's postgresql package, for tests that claim PostgreSQL.

PostgreSQL refuses to run as root, so when the tests run as root the cluster is initialised and
started as the ``postgres`` system user (``runuser``). It listens on loopback on a free port
with trust auth, lives in a temporary directory, and is stopped and removed at the end.
If it cannot start, the tests that need it fail (they never skip: PostgreSQL support is claimed).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.ports import free_port, wait_for_port


def _bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries not found (Debian package 'postgresql'; `make deps`)")
    return Path(candidates[-1]).parent


class PostgresCluster:
    def __init__(self) -> None:
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="scos-pg-"))
        self.datadir = self.root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def start(self) -> "PostgresCluster":
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        proc = self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-A", "trust", "-U", "postgres",
                         "--no-sync", "-E", "UTF8")
        if proc.returncode:
            raise RuntimeError(f"initdb failed: {proc.stderr or proc.stdout}")
        self.start_server()
        return self

    def start_server(self) -> None:
        """Start the (initialised) server; again after :meth:`stop_server` (a restart)."""
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        proc = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-o", opts, "-l",
                         str(self.root / "server.log"), "-w", "start")
        if proc.returncode:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {proc.stderr or proc.stdout} {log}")
        wait_for_port(self.port, time.monotonic() + 30, "PostgreSQL did not accept connections")

    def stop_server(self) -> None:
        """Stop the server, keeping its data (a database going away, as far as clients can tell)."""
        proc = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop")
        if proc.returncode:
            raise RuntimeError(f"pg_ctl stop failed: {proc.stderr or proc.stdout}")

    def create_database(self) -> str:
        """A fresh database; returns its DATABASE_URL."""
        import psycopg2

        name = "scos_" + uuid.uuid4().hex[:12]
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
