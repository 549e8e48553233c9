from bot.people import Flood, FloodGuard, Role, Roles
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


async def test_roles(store: Store):
    roles = Roles(frozenset({1}), store)
    store.staff.add(2, added_by=1)
    assert await roles.of(1) is Role.ADMIN and await roles.of(2) is Role.STAFF and await roles.of(3) is Role.CITIZEN
    assert await roles.allows(1, Role.STAFF) and not await roles.allows(3, Role.STAFF)
