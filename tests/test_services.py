from pathlib import Path

from bot.services import Flood, FloodGuard, Role, Roles, SuggestionBook
from bot.store.repositories import Store


def test_flood_guard_warns_once_then_drops_until_the_window_passes():
    now = [0.0]
    guard = FloodGuard(limit=3, window=60, clock=lambda: now[0])
    assert [guard.check(1) for _ in range(3)] == [Flood.ALLOW] * 3
    assert guard.check(1) is Flood.WARN
    assert guard.check(1) is Flood.DROP
    assert guard.check(2) is Flood.ALLOW  # another user is not affected
    now[0] = 61
    assert guard.check(1) is Flood.ALLOW


def test_suggestion_book_gives_short_stable_tokens_and_forgets_the_oldest():
    book = SuggestionBook(capacity=2)
    first = book.remember("《质量发展纲要》是什么？")
    assert book.remember("《质量发展纲要》是什么？") == first
    assert len(f"ask:{first}".encode()) <= 64
    book.remember("质量月是什么？")
    book.remember("什么是质量强国？")
    assert book.recall(first) is None
    assert book.recall("nope") is None


def test_roles(tmp_path: Path):
    store = Store(tmp_path)
    roles = Roles(frozenset({1}), store)
    store.staff.add(2, added_by=1)
    assert roles.of(1) is Role.ADMIN and roles.of(2) is Role.STAFF and roles.of(3) is Role.CITIZEN
    assert roles.allows(1, Role.STAFF) and not roles.allows(3, Role.STAFF)
