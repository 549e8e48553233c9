"""Facts the knowledge states twice, differently: the same region's Quality Month theme for the same
year given one way by an official page and another way by a Q&A page, say. The most official source
wins (answers use it); `kb check` lists each conflict so that an admin can settle it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bot.knowledge.model import SOURCE_KINDS, Entry
from bot.text import normalise

# Fields that hold one fact per region and year, and the word an entry's title has when the field is
# that fact: a region has one Quality Month theme a year, while its lectures and open days have
# themes of their own (and a place or date may differ between two events of the same year).
SINGLE_FACT_FIELDS = {"theme": "质量月"}
_RANK = {kind: rank for rank, kind in enumerate(SOURCE_KINDS)}


@dataclass(frozen=True)
class Conflict:
    field: str
    region: str
    year: int
    entries: tuple[Entry, ...]  # the winner first: the most official source, then file order

    @property
    def winner(self) -> Entry:
        return self.entries[0]

    def value(self, entry: Entry) -> str:
        return next(str(value) for name, value in entry.extra if name == self.field)


def source_rank(entry: Entry) -> int:
    return _RANK.get(entry.source.kind or "", len(SOURCE_KINDS))


def find_conflicts(entries: tuple[Entry, ...] | list[Entry]) -> list[Conflict]:
    groups: dict[tuple[str, str, int], list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.year is None:
            continue
        for name, value in entry.extra:
            if (name in SINGLE_FACT_FIELDS and isinstance(value, str) and value.strip()
                    and SINGLE_FACT_FIELDS[name] in normalise(entry.title)):
                groups[(name, entry.region, entry.year)].append(entry)
    conflicts = []
    for (name, region, year), members in sorted(groups.items(), key=lambda item: (item[0][2], item[0][1])):
        values = {normalise(next(str(v) for n, v in entry.extra if n == name)) for entry in members}
        if len(values) > 1:
            ordered = sorted(members, key=lambda entry: (source_rank(entry), entry.path, entry.line))
            conflicts.append(Conflict(name, region, year, tuple(ordered)))
    return conflicts


def superseded(entries: tuple[Entry, ...] | list[Entry]) -> dict[str, str]:
    """Entry id -> the id of the more official entry that contradicts it."""
    return {loser.id: conflict.winner.id for conflict in find_conflicts(entries)
            for loser in conflict.entries[1:]
            if source_rank(loser) > source_rank(conflict.winner)}
