"""The one place the core services are built: every face (Telegram, console, command line, tests)
gets a `Services` from `build_services` and calls its services; none builds its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from bot.answers.engine import Engine
from bot.answers.live import LiveKnowledge, load_engine
from bot.assistant import Assistant
from bot.broadcasts.broadcaster import Broadcaster, Transient
from bot.broadcasts.service import BroadcastService
from bot.curation.folder import KnowledgeFolder
from bot.curation.service import CurationService
from bot.operations.services import OpsServices, build_ops
from bot.people import FloodGuard, Roles
from bot.reminders.service import ReminderService
from bot.settings import Settings
from bot.store.repositories import Store


class _NoSender:
    """Until a face that can deliver messages connects itself, nothing is sent (and nothing is lost:
    the deliveries stay pending and are retried)."""

    async def send(self, chat_id: int, text: str) -> None:
        raise Transient("no messaging face connected")


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    knowledge: LiveKnowledge  # the engine answering right now; tells listeners when it is replaced
    roles: Roles
    assistant: Assistant  # questions, votes, subscriptions, privacy, staff, totals
    curation: CurationService  # uploads, reloads, rollbacks, shared changes
    broadcasts: BroadcastService
    reminders: ReminderService
    instance: str  # this process, among several sharing one store
    ops: OpsServices  # statistics over time, exports, hand-offs, metrics, error alerts

    def close(self) -> None:
        self.curation.stop_watching()
        self.curation.stop_listening()
        self.store.close()


def build_services(settings: Settings, engine: Engine | None = None, store: Store | None = None) -> Services:
    """Everything wired once. `engine` and `store` are for callers that already hold them (a face that
    reported the knowledge's problems while loading it, tests); otherwise they are made from settings."""
    if engine is None:
        engine, _ = load_engine(settings.knowledge_dir)
    store = store if store is not None else Store(settings.data_dir, settings.database_url)
    knowledge = LiveKnowledge(engine)
    roles = Roles(settings.admins, store)
    assistant = Assistant(knowledge, store, roles, FloodGuard(settings.flood_messages, settings.flood_seconds))
    confirmations = assistant.confirmations
    broadcaster = Broadcaster(store, _NoSender(), rate=settings.broadcast_rate)
    reminders = ReminderService(store, broadcaster, settings.timezone, settings.misfire_grace,
                                calendar=lambda: knowledge.snapshot.calendar, failed=assistant.store_failed)
    knowledge.subscribe(reminders.knowledge_changed)
    instance = uuid.uuid4().hex
    folder = KnowledgeFolder(settings.knowledge_dir, lambda: knowledge.snapshot, knowledge.replace)
    curation = CurationService(folder, knowledge, store, confirmations, assistant.audit, instance)
    broadcasts = BroadcastService(broadcaster, store, confirmations)
    return Services(settings, store, knowledge, roles, assistant, curation, broadcasts, reminders, instance,
                    build_ops(store, settings))
