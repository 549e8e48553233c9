"""Metrics read the shared figures from the store (both backends) and parse with prometheus_client's
parser; the error-alert throttle lets one alert per kind through per hour."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.operations.alerts import AlertThrottle
from bot.operations.metrics import Metrics, healthy
from bot.store.repositories import Store


def values(text: str) -> dict[tuple[str, tuple], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def test_broadcast_progress_and_counters_are_exposed(store: Store):
    for chat in range(1, 5):
        store.subscriptions.subscribe(chat)
    store.broadcasts.create("b1", "通知", created_by=1)
    assert store.broadcasts.start("b1") == 4
    store.deliveries.record("b1", 1, "sent")
    store.deliveries.record("b1", 2, "blocked")
    metrics = Metrics(store)
    metrics.question(True, started=None)
    metrics.question(False, started=None)
    metrics.question(True, started=0.0)
    metrics.error("BadRequest")
    shown = values((await metrics.render()).decode("utf-8"))
    assert shown[("qbot_broadcasts_running", ())] == 1
    assert shown[("qbot_broadcast_progress", ())] == 0.5
    assert shown[("qbot_broadcast_deliveries", (("status", "pending"),))] == 2
    assert shown[("qbot_subscribers", ())] == 4
    assert shown[("qbot_questions_total", (("outcome", "answered"),))] == 2
    assert abs(shown[("qbot_answered_share", ())] - 2 / 3) < 1e-9
    assert shown[("qbot_reply_seconds_count", ())] == 1
    assert shown[("qbot_errors_total", (("kind", "BadRequest"),))] == 1
    assert shown[("qbot_database_up", ())] == 1
    assert await healthy(store)
    store.deliveries.record("b1", 3, "sent")
    store.deliveries.record("b1", 4, "failed")
    store.broadcasts.update("b1", status="done")
    shown = values((await metrics.render()).decode("utf-8"))
    assert shown[("qbot_broadcasts_running", ())] == 0 and shown[("qbot_broadcast_progress", ())] == 1


def test_one_alert_per_kind_per_hour():
    now = [1000.0]
    throttle = AlertThrottle(clock=lambda: now[0])
    assert throttle.allow("BadRequest") and throttle.allow("TimedOut")
    assert not throttle.allow("BadRequest")
    now[0] += 3599
    assert not throttle.allow("BadRequest")
    now[0] += 1
    assert throttle.allow("BadRequest")
