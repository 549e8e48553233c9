"""Shared fixtures: the shipped knowledge and one engine built from it (building takes ~1 s)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answers.engine import Engine
from bot.knowledge.loader import load_folder
from bot.store.repositories import Store
from tests.pg import SKIP_REASON, Server

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
DATA = Path(__file__).resolve().parent / "data"

logging.getLogger("jieba").setLevel(logging.WARNING)


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def engine() -> Engine:
    result = load_folder(KNOWLEDGE)
    assert result.ok, [str(problem) for problem in result.problems]
    return Engine(result.snapshot)


@pytest.fixture(scope="session")
def articles_only_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The raw pages alone (with the word lists questions are read with), as if an admin had dropped
    them in without writing any entries."""
    folder = tmp_path_factory.mktemp("articles_only")
    (folder / "articles").mkdir()
    (folder / "lexicon.yaml").write_bytes((KNOWLEDGE / "lexicon.yaml").read_bytes())
    for page in (KNOWLEDGE / "articles").glob("*.txt"):
        (folder / "articles" / page.name).write_bytes(page.read_bytes())
    return Engine(load_folder(folder).snapshot)


_SKIPPED: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One clear line when the PostgreSQL half of the suite could not run."""
    if _SKIPPED:
        terminalreporter.write_line(_SKIPPED[0], yellow=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """The test run's PostgreSQL server (see tests/pg.py); skips with one line where there is none."""
    server = Server.start()
    if server is None:
        _SKIPPED.append(SKIP_REASON)
        pytest.skip(SKIP_REASON)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store on each backend: a real SQLite file, and a new database on a real PostgreSQL."""
    url = request.getfixturevalue("postgres").new_database() if request.param == "postgresql" else None
    opened = Store(tmp_path / "data", url=url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(autouse=True)
def _no_index_cache_left_behind():
    """An in-process CLI call switches the process-wide index cache on for its folder; the next test
    must start without it, as a new process would."""
    yield
    from bot.answers import index
    from bot.knowledge import cache

    cache.use_cache(None)
    index.forget_recent_pages()
