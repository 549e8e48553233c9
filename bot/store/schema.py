"""The database schema (SQLAlchemy Core). Alembic revisions in bot/store/migrations create and change
it; this module is what the code queries. Every query the bot makes has an index (see README)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()
# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
SERIAL = BigInteger().with_variant(Integer, "sqlite")

users = Table(
    "users", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(64), nullable=False, default=""),
    Column("first_seen", Float, nullable=False),
    Column("username", String(64), nullable=False, default="", server_default=""),
)

staff = Table(
    "staff", metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("added_by", BigInteger),
    Column("at", Float, nullable=False),
)

subscriptions = Table(
    "subscriptions", metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("active", Boolean, nullable=False),
    Column("since", Float, nullable=False),
    Column("until", Float),
    Column("reason", String(32)),
    Index("ix_subscriptions_active", "active", "chat_id"),
)

questions = Table(
    "questions", metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, nullable=False),
    Column("question", Text, nullable=False),
    Column("matched", Boolean, nullable=False),
    Column("score", Integer, nullable=False),
    Column("answer_key", Text),
    Column("at", Float, nullable=False),
    Index("ix_questions_user", "user_id"),
    Index("ix_questions_at", "at"),
)

unanswered = Table(
    "unanswered", metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("sample", Text, nullable=False),
    Column("count", Integer, nullable=False),
    Column("first", Float, nullable=False),
    Column("last", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("closed", Float),
    Index("ix_unanswered_status_last", "status", "last"),
    Index("ix_unanswered_status_count", "status", "count"),
)

votes = Table(
    "votes", metadata,
    Column("question_id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("helpful", Boolean, nullable=False),
    Column("day", String(10), nullable=False),  # the day the vote is counted under in daily_stats
    Column("at", Float, nullable=False),
    Index("ix_votes_user", "user_id"),
    Index("ix_votes_at", "at"),
)

# Counters per day, kept as questions and votes are recorded: /stats reads these few hundred rows,
# and they stay when raw questions pass the retention period.
daily_stats = Table(
    "daily_stats", metadata,
    Column("day", String(10), primary_key=True),
    Column("questions", BigInteger, nullable=False, default=0),
    Column("answered", BigInteger, nullable=False, default=0),
    Column("up", BigInteger, nullable=False, default=0),
    Column("down", BigInteger, nullable=False, default=0),
)

# Suggestion and review buttons: callback data carries a random token, the text lives here.
buttons = Table(
    "buttons", metadata,
    Column("token", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("payload", Text, nullable=False),
    Column("expires", Float, nullable=False),
    Index("ix_buttons_expires", "expires"),
)

# Actions waiting for a confirm button (uploads, broadcasts, /forget): who may confirm, until when.
pending = Table(
    "pending", metadata,
    Column("token", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),
    Column("data", LargeBinary),
    Column("created", Float, nullable=False),
    Column("expires", Float, nullable=False),
    Index("ix_pending_expires", "expires"),
)

reminders = Table(
    "reminders", metadata,
    Column("id", String(100), primary_key=True),
    Column("text", Text, nullable=False),
    Column("fire_at", Float, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_by", BigInteger),
    Column("status", String(16), nullable=False),
    Column("at", Float, nullable=False),
    Column("changed", Float),
    Index("ix_reminders_status_fire", "status", "fire_at"),
    Index("ix_reminders_kind", "kind"),
)

broadcasts = Table(
    "broadcasts", metadata,
    Column("id", String(100), primary_key=True),
    Column("text", Text, nullable=False),
    Column("created_by", BigInteger),
    Column("status", String(16), nullable=False),
    Column("source", String(100), nullable=False),
    Column("at", Float, nullable=False),
    Column("report_chat", BigInteger),  # where the final report goes, also after a restart
    Column("started", Float),
    Column("finished", Float),
    Column("sent", Integer),
    Column("blocked", Integer),
    Column("failed", Integer),
    Index("ix_broadcasts_status_at", "status", "at"),
    Index("ix_broadcasts_source", "source"),
)

# One row per recipient, written when the broadcast starts; the status changes once it is handled.
deliveries = Table(
    "deliveries", metadata,
    Column("broadcast_id", String(100), primary_key=True),
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("status", String(8), nullable=False),  # pending | sent | blocked | failed
    Column("at", Float),
    Index("ix_deliveries_status", "broadcast_id", "status"),
)

# Knowledge files changed through one instance, for the others to apply (content None: deleted).
knowledge_changes = Table(
    "knowledge_changes", metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("instance", String(64), nullable=False),
    Column("path", String(300), nullable=False),
    Column("content", LargeBinary),
)

# Staff actions: never pruned.
audit = Table(
    "audit", metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("actor", BigInteger),
    Column("action", String(32), nullable=False),
    Column("target", String(200)),
    Column("detail", Text),
    Index("ix_audit_at", "at"),
)

# A citizen's question handed to a person: forwarded to the staff chat (staff_chat, staff_message), and
# answered when a staff member replies to that message. Shared by every instance.
handoffs = Table(
    "handoffs", metadata,
    Column("id", SERIAL, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("question", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open | answered
    Column("created", Float, nullable=False),
    Column("staff_chat", BigInteger),
    Column("staff_message", BigInteger),
    Column("answered", Float),
    Column("answered_by", BigInteger),
    Column("replies", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_handoffs_staff_message", "staff_chat", "staff_message"),
    Index("ix_handoffs_status_created", "status", "created"),
    Index("ix_handoffs_user", "user_id"),
)

# Install-wide values (the salt of the export's user pseudonyms).
meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
