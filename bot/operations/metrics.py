"""Prometheus metrics, one registry per bot (tests build several in one process). Counters are kept in
this process; broadcast progress, hand-offs waiting and subscribers are read from the store when
/metrics is asked for, so every instance reports the same shared figures."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select, text

from bot.store import schema as t
from bot.store.repositories import Store

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.questions = Counter("qbot_questions", "Questions answered by this instance, by outcome",
                                 ["outcome"], registry=r)
        self.answered_share = Gauge("qbot_answered_share",
                                    "Share of this instance's questions that got an answer (0-1)", registry=r)
        self.latency = Histogram("qbot_reply_seconds", "From a question's arrival to the reply sent",
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("qbot_errors", "Errors while handling updates, by kind", ["kind"], registry=r)
        self.handoffs = Counter("qbot_handoffs", "Hand-offs to a person, by event", ["event"], registry=r)
        self.broadcast_deliveries = Gauge("qbot_broadcast_deliveries",
                                          "Deliveries of running broadcasts, by status", ["status"], registry=r)
        self.broadcasts_running = Gauge("qbot_broadcasts_running", "Broadcasts being sent", registry=r)
        self.broadcast_progress = Gauge("qbot_broadcast_progress",
                                        "Share of the running broadcasts' deliveries handled (0-1; 1 when none)",
                                        registry=r)
        self.handoffs_waiting = Gauge("qbot_handoffs_waiting", "Hand-offs waiting for a person", registry=r)
        self.subscribers = Gauge("qbot_subscribers", "Active subscribers", registry=r)
        self.up = Gauge("qbot_database_up", "1 when the database answered the last scrape", registry=r)
        # The two children, looked up once: every answer counts in one of them.
        self.outcomes = {matched: self.questions.labels("answered" if matched else "unanswered")
                         for matched in (True, False)}
        self.answered_share.set(0)
        self.asked = self.matched = 0

    def question(self, matched: bool, started: float | None = None) -> None:
        self.outcomes[bool(matched)].inc()
        self.asked += 1
        self.matched += int(matched)
        self.answered_share.set(self.matched / self.asked)
        if started is not None:
            self.latency.observe(max(0.0, time.monotonic() - started))

    def error(self, kind: str) -> None:
        self.errors.labels(kind[:60]).inc()

    def _shared(self) -> dict[str, Any]:
        b, dl, h, s = t.broadcasts, t.deliveries, t.handoffs, t.subscriptions
        with self.store.db.read() as c:
            c.execute(text("SELECT 1"))
            running = select(b.c.id).where(b.c.status == "running")
            counts = dict(c.execute(select(dl.c.status, func.count()).where(dl.c.broadcast_id.in_(running))
                                    .group_by(dl.c.status)).all())
            return {
                "running": int(c.execute(select(func.count()).select_from(b).where(b.c.status == "running"))
                               .scalar_one()),
                "deliveries": {str(k): int(v) for k, v in counts.items()},
                "waiting": int(c.execute(select(func.count()).select_from(h).where(h.c.status == "open"))
                               .scalar_one()),
                "subscribers": int(c.execute(select(func.count()).select_from(s).where(s.c.active.is_(True)))
                                   .scalar_one()),
            }

    async def render(self) -> bytes:
        """The exposition text, after reading the shared figures from the store (off the event loop)."""
        try:
            shared = await asyncio.wait_for(self.store.call(self._shared), timeout=5)
        except Exception:  # the database is down: say so, and still serve this process's counters
            self.up.set(0)
        else:
            self.up.set(1)
            self.broadcasts_running.set(shared["running"])
            for status in ("pending", "sent", "blocked", "failed"):
                self.broadcast_deliveries.labels(status).set(shared["deliveries"].get(status, 0))
            total = sum(shared["deliveries"].values())
            handled = total - shared["deliveries"].get("pending", 0)
            self.broadcast_progress.set(handled / total if total else 1.0)
            self.handoffs_waiting.set(shared["waiting"])
            self.subscribers.set(shared["subscribers"])
        return generate_latest(self.registry)


async def healthy(store: Store) -> bool:
    """True when the database answers within 5 s."""

    def ping() -> None:
        with store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(store.call(ping), timeout=5)
    except Exception:
        return False
    return True
