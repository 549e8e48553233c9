"""The services added for staff and operators, built once per bot from the store and the settings and
handed to the faces together (the Telegram face reaches them as `context.ops`)."""

from __future__ import annotations

from dataclasses import dataclass

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


def build_ops(store: Store, settings: Settings) -> OpsServices:
    return OpsServices(insight=Insight(store), exporter=Exporter(store, settings.timezone),
                       handoffs=HandoffService(store, settings.staff_chat), metrics=Metrics(store),
                       alerts=AlertThrottle())
