"""The shape of the code, checked by reading its imports and calls (nothing is imported or run):
no import circles, Telegram only in its face, handlers that never reach the store, one place that
builds the services."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bot"
TELEGRAM_FACE = "bot.faces.telegram"
SERVICES = ("Assistant", "LiveKnowledge", "Broadcaster", "BroadcastService", "ReminderService", "CurationService",
            "KnowledgeFolder", "Confirmations", "Roles", "FloodGuard", "Insight", "Exporter", "HandoffService",
            "Metrics", "AlertThrottle", "OpsServices")


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def imported(name: str, tree: ast.Module, known: set[str]) -> Iterator[tuple[str, int]]:
    """The bot modules `name` imports (at any depth, deferred imports too), with the line."""
    package = name if (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists() else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target, node.lineno


def graph() -> dict[str, set[str]]:
    trees = modules()
    known = set(trees)
    return {name: {target for target, _ in imported(name, tree, known)} for name, tree in trees.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def feature(module: str) -> str:
    """bot.answers.engine -> bot.answers; the faces count as one feature each (cli, console, telegram)."""
    parts = module.split(".")
    if len(parts) < 3:
        return module
    return ".".join(parts[:3] if parts[1] == "faces" else parts[:2])


def test_no_module_imports_itself_through_others():
    assert cycles(graph()) == []


def test_features_depend_on_each_other_in_one_direction():
    edges: dict[str, set[str]] = {}
    for module, targets in graph().items():
        edges.setdefault(feature(module), set()).update(feature(t) for t in targets if feature(t) != feature(module))
    assert cycles(edges) == []


def test_only_the_telegram_face_imports_telegram():
    offenders = []
    for name, tree in modules().items():
        if name.startswith(TELEGRAM_FACE):
            continue
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            offenders += [f"{name}:{node.lineno}" for n in names if n == "telegram" or n.startswith("telegram.")]
    assert offenders == []


def test_telegram_handlers_never_touch_the_store():
    """Handlers call a service; `.store`, the repositories and bot_data keys other than the services (and
    the face's own HTTP server) are not theirs to reach."""
    offenders = []
    for name, tree in modules().items():
        if not name.startswith(TELEGRAM_FACE):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "store":
                offenders.append(f"{name}:{node.lineno} .store")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot.store"):
                offenders.append(f"{name}:{node.lineno} imports {node.module}")
            if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "bot_data" and isinstance(node.slice, ast.Constant)
                    and node.slice.value not in ("services", "started", "http")):
                offenders.append(f"{name}:{node.lineno} bot_data[{node.slice.value!r}]")
    assert offenders == []


@pytest.mark.parametrize("service", SERVICES)
def test_services_are_built_in_one_place(service):
    builders = set()
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == service:
                builders.add(name)
    # The command line's knowledge tools (`kb add`, `kb history`, `kb rollback`) work on the folder alone,
    # without a store or a running bot; everything else is built by build_services.
    allowed = {"bot.services", "bot.operations.services"} | ({"bot.faces.cli"} if service == "KnowledgeFolder"
                                                              else set())
    # The assistant keeps its own confirmations for citizens' requests (forget), built with it.
    allowed |= {"bot.assistant"} if service == "Confirmations" else set()
    assert builders <= allowed, builders
