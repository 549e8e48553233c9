"""Crash safety: the real bot is killed with SIGKILL at random moments while users subscribe,
vote and ask; after every restart, each change the bot had confirmed is still there and every
file loads. Fixed seed, 20 kills."""

from __future__ import annotations

import random
from pathlib import Path

from bot.store.repositories import Store
from tests.botproc import BotProcess, buttons
from tests.fakes import FakeTelegram

KILLS = 20
USERS = list(range(930_001, 930_011))  # their changes are confirmed before the kill
BUSY_USERS = list(range(940_001, 940_006))  # their requests are in flight when the kill comes
QUESTIONS = ["质量月是每年几月", "郴州质量开放日发放了多少宣传单", "湖南有多少家检验检测机构", "今天天气怎么样"]


def test_no_confirmed_change_is_lost_across_20_sigkills(tmp_path: Path):
    rng = random.Random(20261121)
    confirmed_subscription: dict[int, bool] = {}  # last state each user saw confirmed
    confirmed_votes: set[tuple[int, int]] = set()  # (answer id, user)
    with FakeTelegram(token="919191:CRASH-TEST-TOKEN") as server:
        bot = BotProcess(server, tmp_path, QBOT_FLOOD_MESSAGES="100000")
        for _ in range(KILLS):
            bot.start()
            for _ in range(rng.randint(2, 6)):
                user = rng.choice(USERS)
                action = rng.choice(["subscribe", "unsubscribe", "ask"])
                if action == "ask":
                    reply = bot.ask(user, rng.choice(QUESTIONS))
                    vote = next((data for data in buttons(reply) if data.startswith("vote:")), None)
                    if vote:
                        thanks = bot.press(user, reply.result, vote)
                        assert "谢谢" in thanks.params["text"]
                        confirmed_votes.add((int(vote.split(":")[1]), user))
                else:
                    text = bot.command(user, f"/{action}").params["text"]
                    assert "订阅" in text
                    confirmed_subscription[user] = action == "subscribe"
            # Writes in flight at the kill (other users, so no reply can be mistaken for theirs).
            for _ in range(rng.randint(1, 6)):
                server.push_command(rng.choice(BUSY_USERS), rng.choice(["/subscribe", "/unsubscribe"]))
            bot.stop(kill=True)

        data = tmp_path / "data"
        assert not list(data.glob("*.corrupt-*")), "a database file was left unreadable"
        store = Store(data)  # opens (SQLite recovers its write-ahead log), integrity checked below
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        active = set(store.subscriptions.active_ids())
        for user, subscribed in confirmed_subscription.items():
            assert (user in active) is subscribed, user
        votes = set(store.questions.all_votes())
        assert confirmed_votes <= votes
        assert len(confirmed_votes) > 0 and len(confirmed_subscription) > 0
        print(f"\n{KILLS} SIGKILLs: {len(confirmed_subscription)} users' confirmed subscription states and "
              f"{len(confirmed_votes)} confirmed votes all survived; {len(active)} active subscribers")
