"""The two data files that steer answering rather than hold facts: `lexicon.yaml` (the word lists
questions are read with) and `pointers.yaml` (where to send questions outside quality policy).

Both are parsed through the same checked YAML reader as entries, so every problem has a line.
"""

from __future__ import annotations

from typing import Any

import yaml

from bot import strings
from bot.knowledge.model import ASKED_KINDS, Lexicon, Pointer
from bot.knowledge.schema import NodeReader, Problem, check_source, compose_checked
from bot.text import normalise

LEXICON_FILES = ("lexicon.yaml", "lexicon.yml")
POINTER_FILES = ("pointers.yaml", "pointers.yml")
_WORD_LISTS = ("terms", "stopwords", "frame_words", "question_words", "asked_kinds", "titles")
_MAX_WORD = 20
_POINTER_FIELDS = {"id", "topic", "keywords", "answer", "source"}


def _words(reader: NodeReader, node: yaml.Node, name: str) -> tuple[str, ...] | None:
    if not isinstance(node, yaml.SequenceNode):
        reader.fail(node, strings.P_NEED_WORD_LIST.format(name=name))
        return None
    words: list[str] = []
    for item in node.value:
        value = reader.value(item) if isinstance(item, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
            reader.fail(item, strings.P_EMPTY_WORD.format(name=name))
            continue
        word = normalise(str(value))
        if len(word) > _MAX_WORD:
            reader.fail(item, strings.P_WORD_TOO_LONG.format(name=name, word=word, limit=_MAX_WORD))
            continue
        words.append(word)
    return tuple(words)


def parse_lexicon(path: str, text: str) -> tuple[Lexicon, list[Problem]]:
    root, reader, problems = compose_checked(path, text)
    if root is None or reader is None:
        return Lexicon(), problems
    if not isinstance(root, yaml.MappingNode):
        reader.fail(root, strings.P_NEED_LEXICON_MAP)
        return Lexicon(), reader.problems
    found: dict[str, Any] = {}
    for key, value in root.value:
        name = str(key.value)
        if name in _WORD_LISTS:
            found[name] = _words(reader, value, name)
        elif name == "synonyms":
            if not isinstance(value, yaml.SequenceNode):
                reader.fail(value, strings.P_NEED_SYNONYM_GROUPS)
                continue
            groups = [_words(reader, group, "synonyms") for group in value.value]
            for group, node in zip(groups, value.value, strict=True):
                if group is not None and len(group) < 2:
                    reader.fail(node, strings.P_SYNONYM_GROUP_TOO_SMALL)
            found[name] = tuple(group for group in groups if group and len(group) >= 2)
        elif name == "asked":
            if not isinstance(value, yaml.MappingNode):
                reader.fail(value, strings.P_NEED_ASKED_MAP)
                continue
            asked = []
            for kind_node, words_node in value.value:
                if kind_node.value not in ASKED_KINDS:
                    reader.fail(kind_node, strings.P_UNKNOWN_ASKED_KIND.format(kind=kind_node.value,
                                                                               kinds=", ".join(ASKED_KINDS)))
                    continue
                words = _words(reader, words_node, f"asked.{kind_node.value}")
                if words:
                    asked.append((kind_node.value, words))
            found[name] = tuple(asked)
        else:
            reader.fail(key, strings.P_UNKNOWN_LEXICON_KEY.format(
                key=name, allowed=", ".join((*_WORD_LISTS, "synonyms", "asked"))))
    lexicon = Lexicon(
        terms=frozenset(found.get("terms") or ()),
        stopwords=frozenset(found.get("stopwords") or ()),
        frame_words=frozenset(found.get("frame_words") or ()),
        question_words=frozenset(found.get("question_words") or ()),
        asked_kinds=frozenset(found.get("asked_kinds") or ()),
        titles=tuple(found.get("titles") or ()),
        synonyms=found.get("synonyms") or (),
        asked=found.get("asked") or (),
    )
    return lexicon, reader.problems


def parse_pointers(path: str, text: str) -> tuple[tuple[Pointer, ...], list[Problem]]:
    root, reader, problems = compose_checked(path, text)
    if root is None or reader is None:
        return (), problems
    items = None
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "pointers":
                items = value
            else:
                reader.fail(key, strings.P_UNKNOWN_TOP_POINTERS.format(key=key.value))
    if not isinstance(items, yaml.SequenceNode):
        reader.fail(items or root, strings.P_NEED_POINTERS)
        return (), reader.problems
    pointers: list[Pointer] = []
    seen: set[str] = set()
    for item in items.value:
        if not isinstance(item, yaml.MappingNode):
            reader.fail(item, strings.P_POINTER_NOT_MAPPING)
            continue
        fields = {str(key.value): (key, value) for key, value in item.value}
        line = item.start_mark.line + 1
        for name in sorted(set(fields) - _POINTER_FIELDS):
            reader.fail(fields[name][0], strings.P_UNKNOWN_CAL_FIELD.format(name=name,
                                                                            allowed=", ".join(sorted(_POINTER_FIELDS))))
        missing = [name for name in ("id", "topic", "keywords", "answer", "source") if name not in fields]
        if missing:
            reader.fail(item, strings.P_MISSING_FIELD.format(name=missing[0]))
            continue
        keywords = _words(reader, fields["keywords"][1], "keywords")
        try:
            values = {name: reader.value(fields[name][1]) for name in ("id", "topic", "answer", "source")}
            source = check_source(values["source"])
        except (ValueError, yaml.YAMLError) as error:
            reader.fail(item, str(error))
            continue
        pointer_id, topic, answer = (str(values[name] or "").strip() for name in ("id", "topic", "answer"))
        if not (pointer_id and topic and answer and keywords):
            reader.fail(item, strings.P_EMPTY_POINTER_FIELDS)
            continue
        if pointer_id in seen:
            reader.fail(fields["id"][1], strings.P_DUPLICATE_POINTER.format(id=pointer_id))
            continue
        seen.add(pointer_id)
        pointers.append(Pointer(pointer_id, topic, keywords, answer, source, path, line))
    return tuple(pointers), reader.problems
