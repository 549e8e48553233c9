"""Reads YAML entry files with line numbers and checks every field.

Parsing goes through PyYAML's node tree rather than `safe_load` so that each problem can name its
line, duplicate keys are caught, and aliases (the "billion laughs" bomb) are refused before anything
is expanded.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

from bot import strings
from bot.knowledge.model import ENTRY_TYPES, SOURCE_KINDS, Entry, Source

MAX_NODES = 50_000
MAX_DEPTH = 12
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

_COMMON_FIELDS = {"id", "type", "title", "answer", "details", "region", "date", "year", "source", "tags",
                  "alternatives"}
_TYPE_FIELDS = {
    "policy": {"issuer", "number", "key_points"},
    "event": {"place", "organisers", "theme", "key_figures"},
    "faq": {"question"},
}
_REQUIRED = ("id", "type", "title", "answer", "source")
_LIST_FIELDS = {"tags", "alternatives", "key_points", "organisers", "key_figures"}
_TEXT_LIMITS = {"title": 80, "answer": 500, "details": 5000, "question": 200}
_SOURCE_FIELDS = {"title", "origin", "date", "url", "article", "kind"}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        message = strings.PROBLEM_AT.format(line=self.line, message=self.message) if self.line else self.message
        return f"{self.path}:{self.line}: {message}"


class _TooDeep(yaml.YAMLError):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__(strings.P_TOO_DEEP.format(limit=MAX_DEPTH))
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text, so a bad date is reported by the validator, not PyYAML,
    and stops composing past the nesting limit: PyYAML's composer recurses once per level, so
    `[[[[…` 5000 deep would raise RecursionError instead of a file:line problem."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH + 1:  # one level of slack: check_tree words the exact limit
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self.depth -= 1


class NodeReader:
    """Turns a node tree into plain values, refusing aliases, duplicate keys and runaway nesting."""

    def __init__(self, path: str, loader: yaml.SafeLoader) -> None:
        self.path = path
        self.loader = loader
        self.seen: set[int] = set()
        self.problems: list[Problem] = []

    def fail(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(self.path, node.start_mark.line + 1, message))

    def check_tree(self, node: yaml.Node, depth: int = 0) -> bool:
        if id(node) in self.seen:
            self.fail(node, strings.P_ALIASES)
            return False
        self.seen.add(id(node))
        if len(self.seen) > MAX_NODES:
            self.fail(node, strings.P_TOO_MANY_NODES.format(limit=MAX_NODES))
            return False
        if depth > MAX_DEPTH:
            self.fail(node, strings.P_TOO_DEEP.format(limit=MAX_DEPTH))
            return False
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        self.fail(key, strings.P_DUPLICATE_KEY.format(key=key.value))
                        return False
                    keys.add(key.value)
                children.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        return all(self.check_tree(child, depth + 1) for child in children)

    def value(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)


def compose_checked(path: str, text: str) -> tuple[yaml.Node | None, NodeReader | None, list[Problem]]:
    """The checked node tree of YAML text, or the problems that stop it being read at all."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:  # a character YAML does not allow, found before parsing
        line = text[: error.position].count("\n") + 1
        return None, None, [Problem(path, line, strings.P_BAD_CHARACTER.format(character=repr(error.character)))]
    try:
        root = loader.get_single_node()
    except _TooDeep as error:
        return None, None, [Problem(path, error.mark.line + 1, str(error))]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        return None, None, [Problem(path, line, strings.P_YAML_SYNTAX.format(detail=error.problem or error))]
    except yaml.YAMLError as error:
        return None, None, [Problem(path, 1, strings.P_YAML_OTHER.format(detail=error))]
    finally:
        loader.dispose()
    if root is None:
        return None, None, [Problem(path, 1, strings.P_EMPTY)]
    reader = NodeReader(path, loader)
    if not reader.check_tree(root):
        return None, None, reader.problems
    return root, reader, []


def parse_entries_file(path: str, text: str) -> tuple[list[tuple[dict[str, Any], dict[str, int], int]], list[Problem]]:
    """Parses one YAML file into raw entries: (fields, line of each field, line of the entry)."""
    root, reader, problems = compose_checked(path, text)
    if root is None or reader is None:
        return [], problems
    entries_node = None
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "entries":
                entries_node = value
            else:
                reader.fail(key, strings.P_UNKNOWN_TOP_ENTRIES.format(key=key.value))
    if entries_node is None or not isinstance(entries_node, yaml.SequenceNode):
        reader.fail(entries_node or root, strings.P_NEED_ENTRIES)
        return [], reader.problems
    raw: list[tuple[dict[str, Any], dict[str, int], int]] = []
    for item in entries_node.value:
        if not isinstance(item, yaml.MappingNode):
            reader.fail(item, strings.P_ENTRY_NOT_MAPPING)
            continue
        fields: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for key, value in item.value:
            name = str(key.value)
            try:
                fields[name] = reader.value(value)
            except (yaml.YAMLError, ValueError, TypeError) as error:
                reader.fail(value, strings.P_FIELD_ERROR.format(name=name, error=error))
                continue
            lines[name] = key.start_mark.line + 1
        raw.append((fields, lines, item.start_mark.line + 1))
    return raw, reader.problems


def _check_date(value: Any) -> str | None:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and 1900 <= value <= 2100:
        return str(value)
    if not isinstance(value, str) or not (match := _DATE.match(value.strip())):
        raise ValueError(strings.P_BAD_ENTRY_DATE.format(value=repr(value)))
    year, month, day = (int(part) if part else 1 for part in match.groups())
    try:
        dt.date(year, month, day)
    except ValueError as error:
        raise ValueError(strings.P_BAD_DATE_DETAIL.format(value=repr(value), error=error)) from None
    return value.strip()


def _check_id(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(strings.P_BAD_ENTRY_ID.format(value=repr(value)))
    return value


def _check_year(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 2100:
        raise ValueError(strings.P_BAD_YEAR.format(value=repr(value)))
    return value


def _text(name: str, value: Any, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(strings.P_MUST_BE_TEXT.format(name=name))
    text = str(value).strip()
    if required and not text:
        raise ValueError(strings.P_MUST_NOT_BE_EMPTY.format(name=name))
    limit = _TEXT_LIMITS.get(name)
    if limit and len(text) > limit:
        raise ValueError(strings.P_TEXT_TOO_LONG.format(name=name, length=len(text), limit=limit))
    return text


def _text_list(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list):
        raise ValueError(strings.P_MUST_BE_LIST.format(name=name))
    items = tuple(_text(name, item) for item in value)
    if any(not item for item in items):
        raise ValueError(strings.P_EMPTY_ITEM.format(name=name))
    return items


def _source_kind(value: Any) -> str | None:
    if value is None:
        return None
    if value not in SOURCE_KINDS:
        raise ValueError(strings.P_BAD_SOURCE_KIND.format(value=value, kinds=", ".join(SOURCE_KINDS)))
    return str(value)


def check_source(value: Any) -> Source:
    if not isinstance(value, dict):
        raise ValueError(strings.P_BAD_SOURCE)
    unknown = set(value) - _SOURCE_FIELDS
    if unknown:
        raise ValueError(strings.P_UNKNOWN_SOURCE_FIELD.format(name=sorted(unknown)[0],
                                                               allowed=", ".join(sorted(_SOURCE_FIELDS))))
    return Source(
        title=_text("source.title", value.get("title"), required=True),
        origin=_text("source.origin", value.get("origin"), required=True),
        date=_check_date(value["date"]) if value.get("date") is not None else None,
        url=_text("source.url", value.get("url")) or None,
        article=_text("source.article", value.get("article")) or None,
        kind=_source_kind(value.get("kind")),
    )


def build_entry(
    path: str, fields: dict[str, Any], lines: dict[str, int], line: int
) -> tuple[Entry | None, list[Problem]]:
    """Validates one raw entry; returns the entry, or the problems that keep it out."""
    problems: list[Problem] = []

    def fail(field: str | None, message: str) -> None:
        problems.append(Problem(path, lines.get(field, line) if field else line, message))

    kind = fields.get("type")
    if kind not in ENTRY_TYPES:
        fail("type", strings.P_BAD_TYPE.format(types=", ".join(ENTRY_TYPES), value=repr(kind))
             if "type" in fields else strings.P_MISSING_TYPE)
        return None, problems
    allowed = _COMMON_FIELDS | _TYPE_FIELDS[kind]
    for name in fields:
        if name not in allowed:
            other = [t for t, extra in _TYPE_FIELDS.items() if name in extra]
            hint = strings.P_ONLY_FOR.format(kind=other[0]) if other else ""
            fail(name, strings.P_UNKNOWN_FIELD.format(name=name, hint=hint))
    required = (*_REQUIRED, "question") if kind == "faq" else _REQUIRED
    for name in required:
        if fields.get(name) in (None, ""):
            fail(None, strings.P_MISSING_FIELD.format(name=name))
    if problems:
        return None, problems

    values: dict[str, Any] = {}
    checks = {
        "id": _check_id,
        "title": lambda v: _text("title", v, required=True),
        "answer": lambda v: _text("answer", v, required=True),
        "details": lambda v: _text("details", v),
        "region": lambda v: _text("region", v),
        "question": lambda v: _text("question", v, required=True),
        "date": _check_date,
        "year": _check_year,
        "source": check_source,
    }
    for name, value in fields.items():
        try:
            if name in checks:
                values[name] = checks[name](value) if value is not None else None
            elif name in _LIST_FIELDS:
                values[name] = _text_list(name, value)
            else:
                values[name] = _text(name, value)
        except ValueError as error:
            fail(name, str(error))
    if problems:
        return None, problems
    extra = tuple(
        (name, values[name]) for name in sorted(_TYPE_FIELDS[kind] - {"question"}) if values.get(name)
    )
    entry = Entry(
        id=values["id"], type=kind, title=values["title"], answer=values["answer"], source=values["source"],
        path=path, line=line, details=values.get("details") or "", region=values.get("region") or "",
        date=values.get("date"), year=values.get("year"), question=values.get("question") or "",
        tags=values.get("tags") or (), alternatives=values.get("alternatives") or (), extra=extra,
    )
    return entry, []
