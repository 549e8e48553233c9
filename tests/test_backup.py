"""`db backup` / `db restore`: a backup taken while the store is open restores into a fresh folder with
everything in it; a non-empty target or a file that is not a backup is refused with one line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bot.operations.backup import BackupError, backup, restore
from bot.store.repositories import Store


def fill(store: Store) -> int:
    store.staff.add(7, added_by=1)
    store.subscriptions.subscribe(42)
    answer_id = store.questions.record(42, "质量月是几月", True, 90, "质量月")
    store.questions.vote(answer_id, 42, helpful=True)
    store.knowledge.add("instance", "faq/x.yaml", b"\x00\xffbinary")
    return answer_id


def url_of(store: Store) -> str | None:
    return store.engine.url.render_as_string(hide_password=False) if store.dialect == "postgresql" else None


def check(restored: Store, answer_id: int) -> None:
    assert restored.staff.ids() == [7]
    assert restored.subscriptions.active_ids() == [42]
    stats = restored.questions.stats(subscribers=1, users=0)
    assert (stats.questions, stats.answered, stats.up) == (1, 1, 1)
    assert restored.questions.vote(answer_id, 42, helpful=True) is False  # the vote is there
    assert restored.knowledge.since(0)[0].content == b"\x00\xffbinary"
    assert restored.questions.record(43, "新问题", False, 0, None) > answer_id  # ids continue after the old ones


def test_a_backup_restores_into_a_fresh_folder(store: Store, tmp_path: Path):
    answer_id = fill(store)
    counts = backup(tmp_path / "data", url_of(store), tmp_path / "backup.db")  # the store is still open
    assert counts["questions"] == 1 and counts["staff"] == 1
    assert (tmp_path / "backup.db").stat().st_mode & 0o077 == 0
    fresh = tmp_path / "fresh"
    restore(fresh, None, tmp_path / "backup.db")
    restored = Store(fresh)
    try:
        check(restored, answer_id)
    finally:
        restored.close()


def test_a_sqlite_backup_restores_into_postgresql(tmp_path: Path, postgres):
    source = Store(tmp_path / "data")
    answer_id = fill(source)
    source.close()
    backup(tmp_path / "data", None, tmp_path / "backup.db")
    url = postgres.new_database()
    restore(tmp_path / "unused", url, tmp_path / "backup.db")
    restored = Store(tmp_path / "unused", url)
    try:
        check(restored, answer_id)
    finally:
        restored.close()


def test_restore_refuses_a_database_with_data_and_files_that_are_not_backups(tmp_path: Path):
    source = Store(tmp_path / "data")
    fill(source)
    source.close()
    backup(tmp_path / "data", None, tmp_path / "backup.db")
    with pytest.raises(BackupError, match="already holds data"):
        restore(tmp_path / "data", None, tmp_path / "backup.db")
    restore(tmp_path / "data", None, tmp_path / "backup.db", force=True)
    (tmp_path / "notes.txt").write_text("not a backup")
    with gzip.open(tmp_path / "other.gz", "wt") as other:
        other.write('{"format": "something else"}\n')
    for bad in ("notes.txt", "other.gz", "missing.db"):
        with pytest.raises(BackupError):
            restore(tmp_path / "empty", None, tmp_path / bad)
