"""The SQL store, on a real SQLite file and a real PostgreSQL server (the `store` fixture runs each
test on both): records survive reopening, compare-and-set steps act once, votes belong to the asker,
buttons and pending actions expire, /forget and retention delete what they promise."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy import text as sql

from bot.store.importer import ImportRefused, import_json
from bot.store.repositories import Pending, Store


def reopen(store: Store, tmp_path: Path) -> Store:
    url = store.engine.url.render_as_string(hide_password=False) if store.dialect == "postgresql" else None
    store.close()
    return Store(tmp_path / "data", url=url)


def test_records_survive_reopening(store: Store, tmp_path: Path):
    store.subscriptions.subscribe(42)
    store.staff.add(7, added_by=1)
    answer_id = store.questions.record(42, "质量月是几月", True, 90, "质量月")
    store.questions.record(42, "今天天气怎么样", False, 0, None)
    assert store.questions.vote(answer_id, 42, helpful=True)
    again = reopen(store, tmp_path)
    try:
        assert again.subscriptions.active_ids() == [42]
        assert again.staff.ids() == [7]
        stats = again.questions.stats(subscribers=1, users=0)
        assert (stats.questions, stats.answered, stats.up, stats.down) == (2, 1, 1, 0)
        assert stats.top_unanswered == [("今天天气怎么样", 1)]
    finally:
        again.close()


def test_every_query_has_an_index(store: Store):
    inspector = inspect(store.engine)
    indexed = {name: {tuple(index["column_names"]) for index in inspector.get_indexes(name)}
               for name in inspector.get_table_names()}
    for table, columns in {"questions": ("user_id",), "votes": ("user_id",), "subscriptions": ("active", "chat_id"),
                           "unanswered": ("status", "last"), "reminders": ("status", "fire_at"),
                           "deliveries": ("broadcast_id", "status"), "audit": ("at",),
                           "handoffs": ("staff_chat", "staff_message")}.items():
        assert columns in indexed[table], (table, indexed[table])


def test_unanswered_questions_are_merged_by_normal_form(store: Store):
    for text in ("今天天气怎么样", "今天天氣怎麼樣", " 今天天气怎么样 "):
        store.questions.record(1, text, False, 0, None)
    rows = store.questions.recent_unanswered()
    assert len(rows) == 1 and rows[0]["count"] == 3
    assert store.questions.close_unanswered([rows[0]["id"]], "dismissed") == 1
    assert store.questions.recent_unanswered() == []


def test_a_vote_counts_once_and_only_from_the_asker(store: Store):
    answer_id = store.questions.record(10, "质量月是几月", True, 90, None)
    assert store.questions.vote(answer_id, 11, helpful=True) is None  # someone else's answer id
    assert store.questions.vote(answer_id + 1000, 10, helpful=True) is None  # no such answer
    assert store.questions.vote(answer_id, 10, helpful=True) is True  # a first vote
    assert store.questions.vote(answer_id, 10, helpful=True) is False  # counted already
    stats = store.questions.stats(0, 0)
    assert (stats.up, stats.down) == (1, 0)
    assert store.questions.vote(answer_id, 10, helpful=False) is False  # changing one's mind moves the count
    stats = store.questions.stats(0, 0)
    assert (stats.up, stats.down) == (0, 1)
    assert store.questions.all_votes() == [(answer_id, 10)]


def test_subscriptions_follow_migration_and_blocking(store: Store):
    assert store.subscriptions.subscribe(-100) and not store.subscriptions.subscribe(-100)
    store.subscriptions.migrate(-100, -1002)
    assert store.subscriptions.active_ids() == [-1002]
    store.subscriptions.deactivate(-1002, "blocked")
    assert store.subscriptions.count_active() == 0
    assert store.subscriptions.subscribe(-1002)  # coming back restarts it
    assert store.subscriptions.unsubscribe(-1002) and not store.subscriptions.unsubscribe(-1002)


def test_starting_a_broadcast_fixes_its_deliveries_in_the_same_step(store: Store):
    for chat in (1, 2, 3):
        store.subscriptions.subscribe(chat)
    store.broadcasts.create("b1", "通知", created_by=9)
    assert store.broadcasts.start("b1", report_chat=9) == 3
    assert store.broadcasts.start("b1") is None  # a second press starts nothing
    assert store.broadcasts.get("b1")["status"] == "running"
    store.subscriptions.subscribe(4)
    assert store.deliveries.pending("b1") == [1, 2, 3]
    store.deliveries.record("b1", 2, "sent")
    assert store.deliveries.counts("b1") == {"pending": 2, "sent": 1}


def test_a_reminder_fires_once_even_when_many_threads_race(store: Store):
    store.subscriptions.subscribe(5)
    store.reminders.add("s1", "提醒", time.time(), kind="staff")
    assert not store.reminders.add("s1", "again", time.time(), kind="staff")
    wins: list[bool] = []
    barrier = threading.Barrier(6)

    def fire() -> None:
        barrier.wait()
        wins.append(store.fire_reminder("s1", "r-s1"))

    threads = [threading.Thread(target=fire) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1
    assert store.reminders.get("s1")["status"] == "sent"
    assert store.deliveries.pending("r-s1") == [5]


def test_pending_actions_belong_to_their_owner_expire_and_act_once(store: Store):
    token = store.pending.create("upload", 1, {"path": "faq.yaml"}, ttl=60, data=b"\x00yaml")
    assert store.pending.take("upload", token, user_id=2) == Pending.NOT_YOURS
    assert store.pending.take("broadcast", token, user_id=1) == Pending.EXPIRED  # wrong kind
    action = store.pending.take("upload", token, user_id=1)
    assert action.payload == {"path": "faq.yaml"} and action.data == b"\x00yaml"
    assert store.pending.take("upload", token, user_id=1) == Pending.EXPIRED  # taken already
    stale = store.pending.create("upload", 1, {}, ttl=-1)
    assert store.pending.take("upload", stale, user_id=1) == Pending.EXPIRED


def test_button_tokens_are_random_and_expire(store: Store):
    answer_id, tokens = store.record_answer(1, "天气", False, 0, None, ["质量月是什么？", "什么是质量强国？"], ttl=60)
    assert answer_id > 0 and len(set(tokens)) == 2 and all(len(token) == 12 for token in tokens)
    assert store.buttons.recall("ask", tokens[0]) == "质量月是什么？"
    assert store.buttons.recall("ua", tokens[0]) is None
    assert store.buttons.recall("ask", "b") is None
    old = store.buttons.issue("ask", ["旧问题"], ttl=-1)[0]
    assert store.buttons.recall("ask", old) is None


def test_forget_deletes_a_citizens_questions_votes_and_subscription(store: Store):
    mine = store.questions.record(20, "我的问题", True, 80, None)
    store.questions.record(21, "别人的问题", True, 80, None)
    store.questions.vote(mine, 20, helpful=True)
    store.subscriptions.subscribe(20)
    store.users.seen(20, "张三")
    forgotten = store.forget(20)
    assert (forgotten.questions, forgotten.votes, forgotten.subscription) == (1, 1, True)
    assert store.questions.count_raw() == 1 and store.questions.votes_of(20) == []
    assert store.subscriptions.active_ids() == [] and store.users.count() == 0
    assert store.questions.stats(0, 0).questions == 2  # anonymous daily counts stay
    store.users.seen(20, "张三")  # writing again after /forget is a new record, not a stale cache hit
    assert store.users.describe(20) == ("张三", "")


async def test_users_first_seen_together_share_one_commit_and_keep_the_latest_names(store: Store):
    """A burst of first messages: the user records made while one commit is under way share the next,
    and a user seen twice in one batch keeps the later name, as one write after another would."""
    commits = 0
    real = store.record_users

    def counted(batch: list[tuple[int, str, str]]) -> list[Exception | None]:
        nonlocal commits
        commits += 1
        return real(batch)

    store.record_users = counted  # type: ignore[method-assign]
    await asyncio.gather(*(store.remember_user(user, f"用户{user}", "") for user in range(30, 40)),
                         store.remember_user(30, "改名", "new"))
    assert commits <= 2 and store.users.count() == 10
    assert store.users.describe(30) == ("改名", "new") and store.users.describe(39) == ("用户39", "")
    store.users.seen_many([(39, "用户39", "")])  # known: nothing to write
    assert store.users.describe(39) == ("用户39", "")


def test_retention_keeps_daily_counts_and_prunes_raw_rows(store: Store):
    store.questions.record(1, "旧问题", True, 80, None)
    store.questions.record(1, "无答案的旧问题", False, 0, None)
    store.audit.add(1, "staff-add", "2")
    removed = store.prune(keep_seconds=0, now=time.time() + 1)
    assert removed["questions"] == 2 and removed["unanswered"] == 1
    stats = store.questions.stats(0, 0)
    assert (stats.questions, stats.answered) == (2, 1) and stats.top_unanswered == []
    assert [row["action"] for row in store.audit.recent()] == ["staff-add"]  # the audit is never pruned


def _old_database(folder: Path) -> Path:
    """A bot.json as the TinyDB version wrote it, with a broadcast journal beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "users": {"1": {"id": 42, "name": "李", "first_seen": 1.0}},
        "staff": {"1": {"id": 7, "added_by": 1, "at": 2.0}},
        "subscriptions": {"1": {"chat_id": 42, "active": True, "since": 3.0},
                          "2": {"chat_id": 43, "active": False, "since": 3.0, "until": 4.0, "reason": "blocked"}},
        "questions": {"1": {"user": 42, "q": "质量月是几月", "matched": True, "score": 90, "key": "质量月", "at": 5.0},
                      "2": {"user": 42, "q": "今天天气", "matched": False, "score": 0, "key": None, "at": 6.0}},
        "unanswered": {"1": {"key": "今天天气", "sample": "今天天气", "count": 1, "first": 6.0, "last": 6.0,
                             "status": "open"}},
        "votes": {"1": {"answer": 1, "user": 42, "helpful": True, "at": 7.0}},
        "reminders": {"1": {"id": "s1", "text": "提醒", "fire_at": 4e9, "kind": "staff", "created_by": 7,
                            "status": "scheduled", "at": 8.0}},
        "broadcasts": {"1": {"id": "b1", "text": "通知", "created_by": 7, "status": "running", "source": "staff",
                             "at": 9.0},
                       "2": {"id": "b2", "text": "卡住的通知", "created_by": 7, "status": "confirmed",
                             "source": "staff", "at": 10.0}},
    }
    path = folder / "bot.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (folder / "broadcasts").mkdir()
    (folder / "broadcasts" / "b1.recipients.json").write_text("[42, 44]", encoding="utf-8")
    (folder / "broadcasts" / "b1.journal").write_text('{"chat": 42, "status": "sent"}\n{"chat": 4', encoding="utf-8")
    return path


def test_import_of_an_old_bot_json_loses_nothing(store: Store, tmp_path: Path):
    store.questions.record(99, "导入前的问题", True, 80, None)  # a store already in use
    path = _old_database(tmp_path / "old")
    counts = import_json(store, path)
    assert counts["questions"] == 2 and counts["votes"] == 1 and counts["deliveries"] == 2
    assert store.users.count() == 1 and store.staff.ids() == [7]
    assert store.subscriptions.active_ids() == [42]
    stats = store.questions.stats(0, 0)
    assert (stats.questions, stats.answered, stats.up) == (3, 2, 1)
    assert stats.top_unanswered == [("今天天气", 1)]
    (voted, voter), = store.questions.all_votes()
    assert voter == 42 and store.questions.exists(voted)
    assert store.reminders.get("s1")["status"] == "scheduled"
    assert store.deliveries.outcomes("b1") == {42: "sent", 44: "pending"}  # resumes where the journal stopped
    assert store.broadcasts.get("b2")["status"] == "running"  # the stuck one is rescued with its recipients
    assert store.deliveries.pending("b2") == [42]
    with pytest.raises(ImportRefused, match="imported already"):
        import_json(store, path)
    assert store.questions.stats(0, 0).questions == 3


def test_sqlite_files_are_private(tmp_path: Path):
    store = Store(tmp_path / "data")
    store.subscriptions.subscribe(1)
    store.close()
    assert stat.S_IMODE(os.stat(tmp_path / "data").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "bot.db").st_mode) == 0o600


def test_db_import_command_imports_into_the_configured_store(tmp_path: Path, monkeypatch):
    """`run_bot.py db import FILE` as an operator runs it, into the SQLite file in QBOT_DATA_DIR."""
    import io

    from bot.faces.cli import main

    path = _old_database(tmp_path / "old")
    monkeypatch.setenv("QBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("QBOT_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert main(["db", "import", str(path)], out=out, err=err) == 0, err.getvalue()
    assert "2 questions" in out.getvalue() and "1 votes" in out.getvalue()
    again = io.StringIO()
    assert main(["db", "import", str(path)], out=io.StringIO(), err=again) == 1
    assert "imported already" in again.getvalue()
    store = Store(tmp_path / "data")
    try:
        assert store.subscriptions.active_ids() == [42] and store.questions.count_raw() == 2
    finally:
        store.close()


def test_only_one_claim_on_a_broadcast_at_a_time(store: Store):
    first = store.claim_broadcast("b1")
    second = store.claim_broadcast("b1")
    assert first is not None
    if store.dialect == "postgresql":  # an advisory lock: another instance must wait for the holder
        assert second is None
        assert store.claim_broadcast("b2") is not None
        first.release()
        third = store.claim_broadcast("b1")
        assert third is not None
        third.release()
    else:  # one SQLite instance: nothing to hold
        assert second is not None


def test_an_old_bot_json_left_in_the_data_folder_is_pointed_out_until_imported(tmp_path: Path):
    from bot.store.importer import legacy_notice

    store = Store(tmp_path / "data")
    try:
        assert legacy_notice(store, tmp_path / "data") is None
        path = _old_database(tmp_path / "data")
        assert "db import" in (legacy_notice(store, tmp_path / "data") or "")
        import_json(store, path)
        assert legacy_notice(store, tmp_path / "data") is None
    finally:
        store.close()


async def test_a_knowledge_change_is_notified_to_other_instances_on_postgresql(store: Store, tmp_path: Path):
    """PostgreSQL: a change committed through one instance wakes the others' listeners at once
    (LISTEN/NOTIFY). SQLite has no listener: one instance, polling only."""
    loop = asyncio.get_running_loop()
    heard = asyncio.Event()
    listener = store.listen_for_knowledge(lambda: loop.call_soon_threadsafe(heard.set))
    if store.dialect != "postgresql":
        assert listener is None
        return
    assert listener is not None
    other = Store(tmp_path / "other", url=store.engine.url.render_as_string(hide_password=False))
    try:
        assert await asyncio.to_thread(listener.listening.wait, 30)
        change = other.knowledge.add("instance-b", "policies/new.yaml", b"title: x\n")
        await asyncio.wait_for(heard.wait(), timeout=30)
        assert [c.id for c in store.knowledge.since(change - 1)] == [change]
    finally:
        listener.stop()
        other.close()
    assert not listener.thread.is_alive()


async def test_answers_logged_at_once_share_commits_and_each_gets_its_own_id(store: Store):
    """Group commit: questions logged while a commit is under way go in the next one; every caller
    gets the id of its own question and its own button tokens, and every count is kept."""
    logged = await asyncio.gather(*(store.log_answer(500 + n, f"没有答案的问题{n % 3}", False, 5, None,
                                                     [f"建议{n}"], 60.0) for n in range(40)))
    assert len({answer_id for answer_id, _ in logged}) == 40
    for n, (answer_id, tokens) in enumerate(logged):
        assert store.questions.vote(answer_id, 500 + n, True) is True  # the id is that user's question
        assert store.buttons.recall("ask", tokens[0]) == f"建议{n}"
    stats = store.questions.stats(subscribers=0, users=0)
    assert (stats.questions, stats.answered, stats.up) == (40, 0, 40)
    assert sorted(count for _, count in stats.top_unanswered) == [13, 13, 14]


def test_only_the_question_log_commits_without_waiting_for_the_disk(store: Store):
    """A subscription or a role must survive a power cut; the question log may lose its last moments
    to one, so an answer never waits on an fsync for a statistic."""
    def durability(log: bool) -> str:
        with store.db.write(log=log) as connection:
            if store.dialect == "postgresql":
                return str(connection.execute(sql("SHOW synchronous_commit")).scalar())
            level = connection.execute(sql("PRAGMA synchronous")).scalar()
            return {0: "off", 1: "normal", 2: "full", 3: "extra"}[level]

    relaxed = "off" if store.dialect == "postgresql" else "normal"
    strict = "on" if store.dialect == "postgresql" else "full"
    assert durability(log=True) == relaxed
    assert durability(log=False) == strict
    assert durability(log=True) == relaxed and durability(log=False) == strict  # nothing leaks between them
