"""A throw-away PostgreSQL server for the test run: QBOT_TEST_DATABASE_URL when set, otherwise one
started from the installed binaries (initdb/pg_ctl, as the `postgres` user when run as root) on a free
port in a temporary folder, stopped at the end. Each test gets its own empty database."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

SKIP_REASON = "PostgreSQL tests skipped: QBOT_TEST_DATABASE_URL is not set and initdb/pg_ctl are not installed"
_names = itertools.count(1)


def _binary(name: str) -> str | None:
    found = shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """Either an external server (admin URL given) or one we start and stop."""

    def __init__(self, admin_url: str, folder: Path | None = None, runner: list[str] | None = None,
                 pg_ctl: str | None = None) -> None:
        self.admin_url = admin_url
        self.folder = folder
        self.runner = runner or []
        self.pg_ctl = pg_ctl

    @classmethod
    def start(cls, durable: bool = False) -> Server | None:
        """`durable`: keep PostgreSQL's fsync on (benchmarks); tests run without it, for speed."""
        external = os.environ.get("QBOT_TEST_DATABASE_URL")
        if external:
            return cls(external.replace("postgresql+psycopg://", "postgresql://"))
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if not (initdb and pg_ctl):
            return None
        folder = Path(tempfile.mkdtemp(prefix="qbot-pg-"))
        runner: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                subprocess.run([_binary("useradd") or "useradd", "--system", "--no-create-home", "postgres"],
                               check=True)
            shutil.chown(folder, "postgres")
            runner = [_binary("runuser") or "runuser", "-u", "postgres", "--"]
        data, port = folder / "data", _free_port()
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        if not durable:
            options += " -c fsync=off -c full_page_writes=off"
        try:
            subprocess.run([*runner, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync",
                            "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
            subprocess.run([*runner, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w",
                            "start"], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return cls(f"postgresql://postgres@127.0.0.1:{port}/postgres", folder, runner, pg_ctl)

    def new_database(self) -> str:
        """An empty database; its URL (psycopg 3 driver)."""
        name = f"qbot_test_{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)

    def stop(self) -> None:
        if self.folder is None:
            return
        subprocess.run([*self.runner, self.pg_ctl or "pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)
