"""Opening the database: SQLite (WAL) in the data folder by default, PostgreSQL when a URL is given.
Migrations run at open, so a fresh folder or an empty PostgreSQL database just works."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_NAME = "bot.db"
_MIGRATION_LOCK = 726_451_001  # PostgreSQL advisory lock id: one instance migrates at a time


def private_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def normalise_url(url: str) -> str:
    """postgres:// and postgresql:// mean the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def describe(url: str) -> str:
    """The URL without its password, for logs."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_engine(path: Path) -> Engine:
    private_folder(path.parent)
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(descriptor)
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30},
                           pool_size=8, max_overflow=8)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a confirmed write survives a power cut (see _begin)
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        # Writers take the write lock at BEGIN, so two writers queue on busy_timeout instead of one
        # failing when it upgrades a read lock; read-only transactions stay deferred.
        options = connection.get_execution_options()
        if options.get("read_only", False):
            connection.exec_driver_sql("BEGIN")
            return
        # The question log commits without an fsync (WAL + NORMAL: an application crash loses
        # nothing, a power cut may lose the last commits, the file stays sound); the rest with one.
        connection.exec_driver_sql(f"PRAGMA synchronous={'NORMAL' if options.get('log_write') else 'FULL'}")
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_engine(data_dir: Path, url: str | None = None) -> Engine:
    if url:
        engine = create_engine(normalise_url(url), pool_size=10, max_overflow=10, pool_pre_ping=True)
    else:
        engine = _sqlite_engine(private_folder(data_dir) / SQLITE_NAME)
    migrate(engine)
    return engine


def migrate(engine: Engine) -> None:
    """Brings the schema to the newest revision (Alembic)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
