"""The TinyDB store: real files, atomic replacement, readable Chinese, recovery from damage."""

import json
import os
import stat
from pathlib import Path

from bot.store.repositories import Store
from bot.store.storage import AtomicJSONStorage


def test_records_survive_reopening_and_chinese_stays_readable(tmp_path: Path):
    store = Store(tmp_path / "data")
    store.subscriptions.subscribe(42)
    store.staff.add(7, added_by=1)
    answer_id = store.questions.record(42, "质量月是几月", True, 90, "质量月")
    store.questions.record(42, "今天天气怎么样", False, 0, None)
    store.questions.vote(answer_id, 42, helpful=True)
    store.close()

    raw = (tmp_path / "data" / "bot.json").read_text(encoding="utf-8")
    assert "今天天气怎么样" in raw and "\\u" not in raw
    again = Store(tmp_path / "data")
    assert again.subscriptions.active_ids() == [42]
    assert again.staff.ids() == [7]
    stats = again.questions.stats(subscribers=1, users=0)
    assert (stats.questions, stats.answered, stats.up, stats.down) == (2, 1, 1, 0)
    assert stats.top_unanswered == [("今天天气怎么样", 1)]


def test_unanswered_questions_are_merged_by_normal_form(tmp_path: Path):
    store = Store(tmp_path)
    for text in ("今天天气怎么样", "今天天氣怎麼樣", " 今天天气怎么样 "):
        store.questions.record(1, text, False, 0, None)
    rows = store.questions.recent_unanswered()
    assert len(rows) == 1 and rows[0]["count"] == 3


def test_data_folder_and_files_are_private(tmp_path: Path):
    store = Store(tmp_path / "data")
    store.subscriptions.subscribe(1)
    assert stat.S_IMODE(os.stat(tmp_path / "data").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "bot.json").st_mode) == 0o600


def test_unreadable_file_is_moved_aside_and_last_good_copy_used(tmp_path: Path, caplog):
    store = Store(tmp_path)
    store.subscriptions.subscribe(1)
    store.subscriptions.subscribe(2)  # the previous version (only chat 1) is now bot.json.bak
    store.close()
    (tmp_path / "bot.json").write_text('{"subscriptions": {"1": {"chat_id"', encoding="utf-8")  # torn write
    again = Store(tmp_path)
    assert again.subscriptions.active_ids() == [1]
    assert any(p.name.startswith("bot.json.corrupt-") for p in tmp_path.iterdir())
    assert "unreadable" in caplog.text


def test_no_temporary_files_are_left_behind(tmp_path: Path):
    storage = AtomicJSONStorage(tmp_path / "x.json")
    storage.write({"t": {"1": {"a": "质量"}}})
    storage.write({"t": {"1": {"a": "质量月"}}})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["x.json", "x.json.bak"]
    assert json.loads((tmp_path / "x.json").read_text(encoding="utf-8")) == {"t": {"1": {"a": "质量月"}}}
