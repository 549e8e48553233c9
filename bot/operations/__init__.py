"""Running the bot: metrics, health, error alerts, database backup and restore (core)."""
