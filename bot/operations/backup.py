"""`run_bot.py db backup FILE` and `db restore FILE`.

SQLite: the online backup API copies a consistent snapshot while the bot runs (readers and writers
keep going); a restore checks the file's integrity and copies it back the same way. PostgreSQL (or a
restore across backends): a portable dump, gzip-compressed JSON lines of every table, read and written
through SQLAlchemy, so no pg_dump of a matching version is needed. Either way the schema is brought
to the newest revision after a restore."""

from __future__ import annotations

import base64
import gzip
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, func, insert, inspect, select, text

from bot.store import schema as t
from bot.store.db import SQLITE_NAME, private_folder
from bot.store.repositories import Store

SQLITE_MAGIC = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"
DUMP_FORMAT = "qbot-dump"
BATCH = 1000


class BackupError(Exception):
    """One line for the operator: what is wrong with the file or the target."""


def _private(path: Path) -> None:
    os.chmod(path, 0o600)


def backup(data_dir: Path, url: str | None, target: Path) -> dict[str, int]:
    """Writes a backup of the bot's database to `target`; returns rows per table."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    if url is None:
        source_path = data_dir / SQLITE_NAME
        if not source_path.is_file():
            raise BackupError(f"{source_path}: no database here (check QBOT_DATA_DIR)")
        source = sqlite3.connect(source_path, timeout=30)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        _private(partial)
        counts = _sqlite_counts(partial)
    else:
        store = Store(data_dir, url, threads=1)
        try:
            counts = _dump(store, partial)
        finally:
            store.close()
    os.replace(partial, target)
    return counts


def _sqlite_counts(path: Path) -> dict[str, int]:
    connection = sqlite3.connect(path)
    try:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for name in names if name in t.metadata.tables}
    finally:
        connection.close()


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "$b64" in value:
        return base64.b64decode(value["$b64"])
    return value


def _dump(store: Store, path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with gzip.open(path, "wt", encoding="utf-8") as out, store.db.read() as c:
        revision = c.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        out.write(json.dumps({"format": DUMP_FORMAT, "version": 1, "revision": revision}) + "\n")
        for table in t.metadata.sorted_tables:
            counts[table.name] = 0
            for row in c.execute(select(table)).mappings():
                out.write(json.dumps({"t": table.name, "r": {k: _encode(v) for k, v in row.items()}},
                                     ensure_ascii=False) + "\n")
                counts[table.name] += 1
    _private(path)
    return counts


def _rows_of_dump(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        head = json.loads(next(lines, "{}"))
        if head.get("format") != DUMP_FORMAT:
            raise BackupError(f"{path}: not a qbot backup")
        for line in lines:
            record = json.loads(line)
            yield record["t"], {k: _decode(v) for k, v in record["r"].items()}


def _rows_of_sqlite(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        present = set(inspect(engine).get_table_names())
        with engine.connect() as c:
            for table in t.metadata.sorted_tables:
                if table.name in present:
                    for row in c.execute(text(f'SELECT * FROM "{table.name}"')).mappings():
                        yield table.name, dict(row)
    finally:
        engine.dispose()


def _check_sqlite(path: Path) -> None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
        has_schema = connection.execute("SELECT count(*) FROM sqlite_master WHERE name='alembic_version'").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path}: not a readable SQLite database ({error})") from None
    finally:
        connection.close()
    if verdict != "ok":
        raise BackupError(f"{path}: integrity check failed: {verdict}")
    if not has_schema:
        raise BackupError(f"{path}: not a qbot database (no schema version)")


def _has_data(store: Store) -> bool:
    with store.db.read() as c:
        return any(c.execute(select(func.count()).select_from(table)).scalar_one()
                   for table in t.metadata.sorted_tables)


def restore(data_dir: Path, url: str | None, source: Path, force: bool = False) -> dict[str, int]:
    """Restores a backup into the configured database; refuses a database that holds data unless
    `force`. Returns rows per table."""
    if not source.is_file():
        raise BackupError(f"{source}: file not found")
    magic = source.read_bytes()[:16]
    if magic == SQLITE_MAGIC:
        _check_sqlite(source)
    elif not magic.startswith(GZIP_MAGIC):
        raise BackupError(f"{source}: not a qbot backup (neither SQLite nor a qbot dump)")
    store = Store(data_dir, url, threads=1)  # creates the schema in an empty database
    try:
        if _has_data(store) and not force:
            raise BackupError("the database already holds data; restore into an empty one, or add --force "
                              "to replace everything in it")
        if url is None and magic == SQLITE_MAGIC:
            store.close()
            return _copy_sqlite(source, private_folder(data_dir) / SQLITE_NAME)
        rows = _rows_of_sqlite(source) if magic == SQLITE_MAGIC else _rows_of_dump(source)
        return _load(store, rows)
    finally:
        store.close()


def _copy_sqlite(source: Path, target: Path) -> dict[str, int]:
    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    destination = sqlite3.connect(target, timeout=30)
    try:
        origin.backup(destination)
    finally:
        destination.close()
        origin.close()
    _private(target)
    Store(target.parent, None, threads=1).close()  # an older backup is migrated to the newest schema
    return _sqlite_counts(target)


def _load(store: Store, rows: Iterator[tuple[str, dict[str, Any]]]) -> dict[str, int]:
    counts: dict[str, int] = {table.name: 0 for table in t.metadata.sorted_tables}
    with store.db.write() as c:
        for table in reversed(t.metadata.sorted_tables):
            c.execute(delete(table))
        batch: list[dict[str, Any]] = []
        current = ""
        for name, row in rows:
            if name not in t.metadata.tables:
                continue
            if name != current and batch:
                c.execute(insert(t.metadata.tables[current]), batch)
                batch = []
            current = name
            columns = t.metadata.tables[name].c
            batch.append({key: value for key, value in row.items() if key in columns})
            counts[name] += 1
            if len(batch) >= BATCH:
                c.execute(insert(t.metadata.tables[current]), batch)
                batch = []
        if batch:
            c.execute(insert(t.metadata.tables[current]), batch)
        if store.dialect == "postgresql":  # identity counters continue after the restored ids
            for table in t.metadata.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement is True:
                    c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                   f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"))
    return counts
