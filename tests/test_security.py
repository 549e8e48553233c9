"""Privilege, secrets and unexpected input: every staff and admin action refused to a citizen,
forged buttons change nothing, the token never reaches logs, odd updates are handled politely."""

from __future__ import annotations

import io
import logging
import os
import stat
import time
from pathlib import Path

from bot.faces.cli import redact_secret
from bot.faces.telegram.app import COMMANDS
from bot.people import FloodGuard, Role
from tests.test_telegram_handlers import CITIZEN, bot, callback_update, message_update, user  # noqa: F401

PRIVILEGED_BUTTONS = (
    "bc:go:b1", "bc:no:b1", "bc:go:b999", "up:go:0123456789ab", "up:no:0123456789ab", "rb:00001", "ua:1", "ua:zz",
    "bc:go:../../x", "vote:1:1' OR 1=1", "entry:" + "x" * 60, "browse:policy:99999", "ask:" + "9" * 60, "",
    "st:7", "st:365", "st:99999", "ho:1", "ho:x",
)


def snapshot_files(folder: Path) -> dict[str, bytes]:
    """Every file's bytes, except SQLite's shared-memory index (`-shm`), which readers update too."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith("-shm")}


async def test_every_staff_and_admin_command_and_button_is_refused_to_a_citizen(bot, tmp_path):  # noqa: F811
    bot.application.bot_data["services"].assistant.flood = FloodGuard(10_000, 60)  # this test is not about flooding
    store = bot.store
    store.subscriptions.subscribe(5)
    store.broadcasts.create("b1", "草稿", created_by=1001)
    await bot.say(CITIZEN, "你好")  # the citizen is known before we take the snapshot
    before = snapshot_files(tmp_path)
    privileged = [command for command in COMMANDS if command.role > Role.CITIZEN]
    assert {c.name for c in privileged} >= {"stats", "staff", "unanswered", "broadcast", "schedule", "reminders",
                                           "cancel", "kb", "reload", "rollback"}
    for command in privileged:
        for arguments in ("", " add 2002", " remove 1001", " 2030-01-01 09:00 伪造提醒", " b1", " s1", " list"):
            texts = await bot.say(CITIZEN, f"/{command.name}{arguments}")
            assert texts and "仅限" in texts[0], (command.name, arguments, texts)
    for data in PRIVILEGED_BUTTONS:
        calls = await bot.send(callback_update(CITIZEN, data))
        assert all(call["method"] == "answerCallbackQuery" for call in calls), (data, calls)
    document = message_update(CITIZEN, "")
    del document["message"]["text"]
    document["message"]["document"] = {"file_id": "f", "file_unique_id": "u", "file_name": "faq.yaml", "file_size": 10}
    texts = [call["text"] for call in await bot.send(document) if call["method"] == "sendMessage"]
    assert texts and "仅限管理员" in texts[0]
    after = snapshot_files(tmp_path)
    changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    # Only the question log may grow (refused commands are not questions, so it must not).
    assert changed == set(), changed
    assert store.broadcasts.get("b1")["status"] == "draft"
    assert store.staff.ids() == []


async def test_unexpected_updates_are_ignored_or_answered_politely(bot):  # noqa: F811
    channel_post = {"update_id": 9_000_001, "channel_post": {"message_id": 1, "date": int(time.time()),
                                                             "chat": {"id": -100777, "type": "channel"},
                                                             "text": "频道消息"}}
    assert await bot.send(channel_post) == []
    no_sender = message_update(CITIZEN, "质量月是每年几月")
    del no_sender["message"]["from"]
    await bot.send(no_sender)  # no user: nothing to answer, no crash
    photo = message_update(CITIZEN, "")
    del photo["message"]["text"]
    photo["message"]["photo"] = [{"file_id": "p", "file_unique_id": "q", "width": 1, "height": 1}]
    texts = [call["text"] for call in await bot.send(photo) if call["method"] == "sendMessage"]
    assert texts and "文字" in texts[0]
    unknown = {"update_id": 9_000_002, "poll": {"id": "1", "question": "?", "options": [], "total_voter_count": 0,
                                               "is_closed": False, "is_anonymous": True, "type": "regular",
                                               "allows_multiple_answers": False, "allows_revoting": False,
                                               "members_only": False}}
    assert await bot.send(unknown) == []
    inline_empty = {"update_id": 9_000_003, "inline_query": {"id": "q", "from": user(CITIZEN), "query": "",
                                                             "offset": ""}}
    calls = await bot.send(inline_empty)
    assert calls and calls[0]["method"] == "answerInlineQuery"


def test_the_token_is_scrubbed_from_every_log_line_and_traceback():
    token = "123456:SECRET-token-value"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        redact_secret(token)
        log = logging.getLogger("httpx")
        log.warning("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", token)
        try:
            raise ConnectionError(f"cannot reach https://api.telegram.org/bot{token}/sendMessage")
        except ConnectionError:
            logging.getLogger("telegram").exception("network trouble")
    finally:
        root.removeHandler(handler)
    output = stream.getvalue()
    assert "SECRET-token-value" not in output
    assert output.count("<token>") >= 2


def test_broadcasts_keep_their_recipients_in_the_private_database_not_in_files(tmp_path):
    from bot.broadcasts.broadcaster import Broadcaster
    from bot.store.repositories import Store

    store = Store(tmp_path / "data")
    store.subscriptions.subscribe(1)
    store.broadcasts.create("b1", "x", created_by=1)
    Broadcaster(store, sender=None).start("b1")  # type: ignore[arg-type]
    assert store.deliveries.pending("b1") == [1]
    store.close()
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["bot.db"]
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "bot.db").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "data").st_mode) == 0o700
