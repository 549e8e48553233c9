"""Audit lines: who changed staff, the knowledge, reminders and broadcasts, and how broadcasts ended.

They go to their own logger, which main() keeps at INFO whatever QBOT_LOG_LEVEL says: the default level
(WARNING) hides routine INFO chatter, but an operator must always be able to tell who did what.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def audit(event: str, **fields: object) -> None:
    """One line, `event key=value …`; never message texts (they may hold personal data)."""
    log.info("%s %s", event, " ".join(f"{key}={value}" for key, value in fields.items()))
