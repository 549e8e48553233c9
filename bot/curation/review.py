"""Unanswered questions: merging near-identical ones, and attaching one to an entry's alternatives."""

from __future__ import annotations

import json
import re

from rapidfuzz import fuzz


def add_alternative(text: str, entry_line: int, question: str) -> str:
    """The YAML text with `question` appended to the `alternatives` of the entry that starts at
    `entry_line` (1-based, the line of its "- "). Edits the text in place, so comments and layout
    stay as the admin wrote them."""
    lines = text.splitlines(keepends=True)
    start = entry_line - 1
    dash = len(lines[start]) - len(lines[start].lstrip(" "))
    field_indent = dash + 2
    end = start + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.lstrip().startswith("#") and len(line) - len(line.lstrip(" ")) <= dash:
            break
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep blank lines between entries after the insertion
    item = json.dumps(question.strip(), ensure_ascii=False)
    key = re.compile(rf"^ {{{field_indent}}}alternatives:\s*(#.*)?$")
    for number in range(start + 1, end):
        if key.match(lines[number].rstrip("\n")):
            last = number
            item_indent = None
            for follower in range(number + 1, end):
                stripped = lines[follower].lstrip(" ")
                indent = len(lines[follower]) - len(stripped)
                if stripped.startswith("- ") and indent >= field_indent:
                    item_indent = item_indent if item_indent is not None else indent
                    last = follower
                elif stripped.strip() and indent <= field_indent:
                    break
            prefix = " " * (item_indent if item_indent is not None else field_indent + 2)
            lines.insert(last + 1, f"{prefix}- {item}\n")
            return "".join(lines)
    if not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    lines[end:end] = [f"{' ' * field_indent}alternatives:\n", f"{' ' * (field_indent + 2)}- {item}\n"]
    return "".join(lines)


def group_similar(rows: list[dict], threshold: float = 85.0) -> list[dict]:
    """Unanswered questions merged when their normal forms are near-identical, counts summed."""
    groups: list[dict] = []
    for row in rows:
        for group in groups:
            if fuzz.ratio(row["key"], group["key"]) >= threshold:
                group["count"] += row["count"]
                group["ids"].append(row["id"])
                break
        else:
            groups.append({"key": row["key"], "sample": row["sample"], "count": row["count"], "ids": [row["id"]]})
    return sorted(groups, key=lambda group: -group["count"])
