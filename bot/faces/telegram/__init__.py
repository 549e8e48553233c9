"""The Telegram face: thin handlers, one routing table, rendering for chat."""
