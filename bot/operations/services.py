"""The services added for staff and operators, built once per bot from the store and the settings and
handed to the faces together (the Telegram face reaches them as `context.ops`)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.handoff.service import HandoffService
from bot.insight.export import Exporter
from bot.insight.series import Insight
from bot.settings import Settings
from bot.store.repositories import Store

from .alerts import AlertThrottle
from .metrics import Metrics


@dataclass(frozen=True)
class OpsServices:
    insight: Insight
    exporter: Exporter
    handoffs: HandoffService
    metrics: Metrics
    alerts: AlertThrottle


def build_reports(store: Store, timezone: ZoneInfo) -> tuple[Insight, Exporter]:
    """Statistics and exports over a store: all the offline commands (`qbot stats`, `qbot export`) need."""
    return Insight(store), Exporter(store, timezone)


def build_ops(store: Store, settings: Settings) -> OpsServices:
    """Called by build_services (bot/services.py), the one place the bot's services are built."""
    insight, exporter = build_reports(store, settings.timezone)
    return OpsServices(insight=insight, exporter=exporter, handoffs=HandoffService(store, settings.staff_chat),
                       metrics=Metrics(store), alerts=AlertThrottle())
