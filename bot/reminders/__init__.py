"""Quality Month reminders for subscribers.

`calendar` is the pure core (no Telegram, no clock): it reads `knowledge/calendar.yaml` and works out
when each reminder is due and what it says; the other modules here deliver what it schedules.
"""
