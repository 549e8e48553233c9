"""The two data files that steer answering rather than hold facts: `lexicon.yaml` (the word lists
questions are read with) and `pointers.yaml` (where to send questions outside quality policy).

Both are parsed through the same checked YAML reader as entries, so every problem has a line.
"""

from __future__ import annotations

from typing import Any

import yaml

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
        reader.fail(node, f"'{name}' must be a list of words")
        return None
    words: list[str] = []
    for item in node.value:
        value = reader.value(item) if isinstance(item, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
            reader.fail(item, f"'{name}': each item must be a non-empty word")
            continue
        word = normalise(str(value))
        if len(word) > _MAX_WORD:
            reader.fail(item, f"'{name}': '{word}' is longer than {_MAX_WORD} characters")
            continue
        words.append(word)
    return tuple(words)


def parse_lexicon(path: str, text: str) -> tuple[Lexicon, list[Problem]]:
    root, reader, problems = compose_checked(path, text)
    if root is None or reader is None:
        return Lexicon(), problems
    if not isinstance(root, yaml.MappingNode):
        reader.fail(root, "expected a mapping of word lists (stopwords:, synonyms:, asked: …)")
        return Lexicon(), reader.problems
    found: dict[str, Any] = {}
    for key, value in root.value:
        name = str(key.value)
        if name in _WORD_LISTS:
            found[name] = _words(reader, value, name)
        elif name == "synonyms":
            if not isinstance(value, yaml.SequenceNode):
                reader.fail(value, "'synonyms' must be a list of word groups")
                continue
            groups = [_words(reader, group, "synonyms") for group in value.value]
            for group, node in zip(groups, value.value, strict=True):
                if group is not None and len(group) < 2:
                    reader.fail(node, "'synonyms': a group needs at least two words")
            found[name] = tuple(group for group in groups if group and len(group) >= 2)
        elif name == "asked":
            if not isinstance(value, yaml.MappingNode):
                reader.fail(value, "'asked' must map a kind of fact to the words that ask for it")
                continue
            asked = []
            for kind_node, words_node in value.value:
                if kind_node.value not in ASKED_KINDS:
                    reader.fail(kind_node, f"unknown kind '{kind_node.value}' (use one of {', '.join(ASKED_KINDS)})")
                    continue
                words = _words(reader, words_node, f"asked.{kind_node.value}")
                if words:
                    asked.append((kind_node.value, words))
            found[name] = tuple(asked)
        else:
            reader.fail(key, f"unknown key '{name}' (expected {', '.join((*_WORD_LISTS, 'synonyms', 'asked'))})")
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
                reader.fail(key, f"unknown top-level key '{key.value}' (expected only 'pointers')")
    if not isinstance(items, yaml.SequenceNode):
        reader.fail(items or root, "expected a top-level 'pointers:' list")
        return (), reader.problems
    pointers: list[Pointer] = []
    seen: set[str] = set()
    for item in items.value:
        if not isinstance(item, yaml.MappingNode):
            reader.fail(item, "each pointer must be a mapping of fields")
            continue
        fields = {str(key.value): (key, value) for key, value in item.value}
        line = item.start_mark.line + 1
        for name in sorted(set(fields) - _POINTER_FIELDS):
            reader.fail(fields[name][0], f"unknown field '{name}' (allowed: {', '.join(sorted(_POINTER_FIELDS))})")
        missing = [name for name in ("id", "topic", "keywords", "answer", "source") if name not in fields]
        if missing:
            reader.fail(item, f"missing required field '{missing[0]}'")
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
            reader.fail(item, "id, topic, answer and keywords must not be empty")
            continue
        if pointer_id in seen:
            reader.fail(fields["id"][1], f"duplicate pointer id '{pointer_id}'")
            continue
        seen.add(pointer_id)
        pointers.append(Pointer(pointer_id, topic, keywords, answer, source, path, line))
    return tuple(pointers), reader.problems
