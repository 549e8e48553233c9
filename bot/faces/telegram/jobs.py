"""The jobs that fire reminders (registered with fixed ids, so never twice), resume broadcasts after a
restart, and pick up work another instance scheduled."""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import Application, ContextTypes

from bot.reminders.service import ReminderService

from .handlers import services_of
from .progress import FinalReport, reminder_report

log = logging.getLogger(__name__)


# --- jobs -------------------------------------------------------------------------------------
async def fire_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    application = context.application
    services = services_of(application.bot_data)
    reminder_id = str(context.job.data) if context.job else ""
    broadcast_id, added = await services.reminders.fire_due(reminder_id)
    if broadcast_id:
        services.broadcasts.launch(broadcast_id, await reminder_report(application, reminder_id))
    for reminder in added:  # next year's occurrence
        register(application, services.reminders, reminder)


def register(application: Application, service: ReminderService, reminder: dict | None) -> None:
    """One job per reminder, named and identified by the reminder id: registering twice replaces."""
    if reminder is None or application.job_queue is None:
        return
    application.job_queue.run_once(
        fire_job, when=service.when(reminder), data=reminder["id"], name=reminder["id"],
        job_kwargs={"id": reminder["id"], "replace_existing": True,
                    "misfire_grace_time": int(service.grace.total_seconds())},
    )


def follow_knowledge_changes(application: Application, loop: asyncio.AbstractEventLoop) -> None:
    """When new knowledge changes the calendar (an upload, a reload, a file edited on disk), the jobs of
    the revised and added occurrences are registered again. The change is made on a worker thread; the
    job queue belongs to the event loop."""
    service = services_of(application.bot_data).reminders

    def rescheduled(reminders: list[dict]) -> None:
        for reminder in reminders:
            loop.call_soon_threadsafe(register, application, service, reminder)

    service.rescheduled = rescheduled


async def start_reminders(application: Application) -> None:
    """At start: schedule the calendar, fire or record what was missed while down, resume
    interrupted broadcasts, and register a job for every scheduled reminder."""
    services = services_of(application.bot_data)
    follow_knowledge_changes(application, asyncio.get_running_loop())
    started = await services.reminders.start()
    for record in started.unfinished:  # resumed: the staff member who started it still gets the final report
        services.broadcasts.launch(record["id"], FinalReport(application.bot, record.get("report_chat")))
    for broadcast_id in started.fired:  # a staff member's reminder tells them when it has gone out
        services.broadcasts.launch(broadcast_id,
                                   await reminder_report(application, broadcast_id.removeprefix("r-")))
    for reminder in started.scheduled:
        register(application, services.reminders, reminder)


async def sync_instances(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every QBOT_SYNC_SECONDS: take over running broadcasts nobody is sending (their sender died; on
    PostgreSQL the broadcast's advisory lock decides who sends), and register jobs for reminders
    another instance scheduled. Cheap indexed reads; with one instance it finds nothing to do."""
    application = context.application
    services = services_of(application.bot_data)
    running, scheduled = await services.reminders.shared_state()
    for record in running:
        if not services.broadcasts.running(record["id"]):
            services.broadcasts.launch(record["id"], FinalReport(application.bot, record.get("report_chat")))
    known = {job.name for job in application.job_queue.jobs()} if application.job_queue else set()
    for reminder in scheduled:
        if reminder["id"] not in known:
            register(application, services.reminders, reminder)


def start_syncing(application: Application, interval: float) -> None:
    if application.job_queue is not None:
        application.job_queue.run_repeating(sync_instances, interval=interval, first=interval, name="sync-instances",
                                            job_kwargs={"id": "sync-instances", "replace_existing": True})


async def stop_reminders(application: Application) -> None:
    await services_of(application.bot_data).broadcasts.stop()
