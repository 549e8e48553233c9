"""The index cache (knowledge/.index): answers from a cached index are those of a fresh build, a
changed page is the only one cut again, and the disk watcher notices knowledge files only."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

import bot.knowledge.loader as loader
from bot.answers import index as index_module
from bot.answers.engine import Engine
from bot.curation.watcher import DiskWatcher
from bot.knowledge import cache as part_cache
from bot.knowledge.loader import load_folder
from tests.conftest import DATA, KNOWLEDGE, read_jsonl

QUESTIONS = [q["q"] for name in ("dev.jsonl", "tuning-2026-12-03/questions.jsonl") for q in read_jsonl(DATA / name)]
TODAY = dt.date(2026, 12, 3)
PAGE = "标题：缓存测试页\n日期：2026-12-01\n\n2026年柳州市举办质量月活动，主题为质量强国。\n"


def build(folder: Path) -> Engine:
    loader._READ_CACHE.clear()  # as a new process would: nothing in memory, only what is on disk
    index_module._RECENT = {}
    return Engine(load_folder(folder).snapshot, today=lambda: TODAY)


def replies(engine: Engine) -> list[dict]:
    return [engine.ask(question).as_json() for question in QUESTIONS]


@pytest.fixture
def folder(tmp_path: Path):
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target, ignore=shutil.ignore_patterns(".*"))
    yield target
    part_cache.use_cache(None)


def test_cached_index_answers_as_a_fresh_build(folder):
    part_cache.use_cache(None)
    fresh = replies(build(folder))
    part_cache.use_cache(folder / part_cache.CACHE_FOLDER)
    filling = build(folder)
    assert filling.index.pages_made == len(filling.snapshot.articles)
    assert replies(filling) == fresh
    opened = build(folder)
    assert opened.index.pages_made == 0
    assert len(opened.index.units._pickled) == len(opened.snapshot.articles)  # read only when asked for
    assert replies(opened) == fresh
    assert [(u.key, u.context, u.slots) for u in opened.index.units] == [
        (u.key, u.context, u.slots) for u in filling.index.units]


def test_a_changed_page_alone_is_cut_again_and_answers_match(folder):
    part_cache.use_cache(folder / part_cache.CACHE_FOLDER)
    build(folder)
    (folder / "articles" / "cache_test.txt").write_text(PAGE, encoding="utf-8")
    changed = build(folder)
    assert changed.index.pages_made == 1
    part_cache.use_cache(None)
    assert replies(changed) == replies(build(folder))


def test_a_damaged_cache_is_rebuilt(folder):
    part_cache.use_cache(folder / part_cache.CACHE_FOLDER)
    build(folder)
    part_cache.use_cache(None)
    for index_folder in (folder / part_cache.CACHE_FOLDER).glob("tantivy-*"):
        for file in index_folder.iterdir():
            if file.name != "complete":
                file.unlink()
    part_cache.use_cache(folder / part_cache.CACHE_FOLDER)
    assert build(folder).ask("质量月是几月").matched


def test_the_watcher_sees_knowledge_files_and_not_the_cache(folder):
    watcher = DiskWatcher(folder)
    assert not watcher._relevant(None, str(folder / ".index" / "parts.sqlite"))
    assert not watcher._relevant(None, str(folder / ".history" / "x" / "before"))
    assert watcher._relevant(None, str(folder / "articles" / "new.txt"))
    watcher.start()
    try:
        assert watcher.ready.wait(10) and watcher.running
        (folder / "articles" / "new.txt").write_text(PAGE, encoding="utf-8")
        assert watcher.changed.wait(10) and watcher.pending
        watcher.consume()
        assert not watcher.pending
    finally:
        watcher.stop()
    assert not watcher.running


def _figures(engine: Engine) -> tuple:
    index = engine.index
    return (index.size, index.df, index.char_weight, index.chars_by_syllable,
            [(u.key, u.context, u.text, u.slots) for u in index.units], list(index.contexts))


def test_a_reload_updates_the_index_page_by_page_as_a_fresh_build_would_make_it(folder):
    """Edited, removed and added pages: the corpus figures are adjusted and the tantivy index updated
    (not remade), and the figures and answers equal those of a fresh build without any cache."""
    # Pages without quoted names: a quoted name is a word the segmenter is given, and a change to
    # those words cuts every page again.
    edited, removed = folder / "articles" / "plain_a.txt", folder / "articles" / "plain_b.txt"
    edited.write_text(PAGE.replace("柳州", "梧州"), encoding="utf-8")
    removed.write_text(PAGE.replace("柳州", "桂林"), encoding="utf-8")
    part_cache.use_cache(folder / part_cache.CACHE_FOLDER)
    first = Engine(load_folder(folder).snapshot, today=lambda: TODAY)  # the bot's first build
    assert first.index.made == "fresh"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n2026年柳州市质量月新增一项活动。\n", encoding="utf-8")
    removed.unlink()
    (folder / "articles" / "cache_test.txt").write_text(PAGE, encoding="utf-8")
    reloaded = Engine(load_folder(folder).snapshot, today=lambda: TODAY)  # same process, as /reload does
    assert (reloaded.index.made, reloaded.index.stats_made, reloaded.index.pages_made) == ("updated", "adjusted", 2)
    assert reloaded.ask("柳州市质量月新增了什么").matched
    reopened = build(folder)  # a new process on the updated cache
    assert (reopened.index.made, reopened.index.stats_made) == ("opened", "cached")
    part_cache.use_cache(None)
    fresh = build(folder)
    assert _figures(reloaded) == _figures(fresh) == _figures(reopened)
    assert replies(reloaded) == replies(fresh) == replies(reopened)
    assert first.ask("质量月是几月").matched  # the engine still serving during the swap is untouched


def test_an_engine_let_go_of_is_freed_without_a_garbage_collection(folder):
    """A reload does only a cheap young-generation collection: the old engine must hold no cycles."""
    import gc
    import weakref

    engine = Engine(load_folder(folder).snapshot, today=lambda: TODAY)
    engine.ask("质量月是几月")
    refs = [weakref.ref(engine), weakref.ref(engine.index), weakref.ref(engine.analyzer)]
    gc.disable()
    try:
        del engine
        assert all(ref() is None for ref in refs)
    finally:
        gc.enable()


def test_pages_worked_in_worker_processes_index_as_in_one_process(folder, monkeypatch):
    """A full rebuild of many pages cleans, cuts and segments them in forked workers: same result."""
    part_cache.use_cache(None)
    alone = build(folder)
    monkeypatch.setattr(loader, "PARALLEL_FILES", 1)
    monkeypatch.setattr(index_module, "PARALLEL_PAGES", 1)
    monkeypatch.setattr(index_module, "PARALLEL_AT", 1)
    shared = build(folder)
    assert _figures(shared) == _figures(alone)
    assert replies(shared) == replies(alone)


def test_a_full_rebuild_made_in_a_child_process_is_opened_and_answers_as_one_made_here(folder, monkeypatch):
    """LiveKnowledge.replace with many unmade pages has another process build them at a lower priority;
    the engine then made here opens that process's parts and index, and answers as a build made here."""
    from bot.answers import live

    part_cache.use_cache(None)
    fresh = replies(build(folder))
    part_cache.use_cache(folder / part_cache.CACHE_FOLDER)
    snapshot = load_folder(folder).snapshot
    assert index_module.pages_unmade(snapshot) == len(snapshot.articles)
    children: list[bool] = []
    monkeypatch.setattr(live, "BUILD_ASIDE_PAGES", 1)
    real = live.build_aside
    monkeypatch.setattr(live, "build_aside", lambda *args: children.append(real(*args)))
    knowledge = live.LiveKnowledge(Engine(snapshot, today=lambda: TODAY))  # this process's own build
    part_cache.use_cache(folder / "other-cache")  # nothing made in it: a full rebuild
    knowledge.replace(snapshot)
    assert children == [True]
    assert (knowledge.engine.index.made, knowledge.engine.index.stats_made) == ("opened", "cached")
    assert knowledge.engine.index.pages_made == 0
    assert index_module.pages_unmade(snapshot) == 0
    assert replies(knowledge.engine) == fresh
    (folder / "articles" / "cache_test.txt").write_text(PAGE, encoding="utf-8")
    monkeypatch.setattr(live, "BUILD_ASIDE_PAGES", 2)
    knowledge.replace(load_folder(folder).snapshot)  # one new page: built here, no child
    assert children == [True]
    assert knowledge.engine.index.made == "updated"
    assert knowledge.ask("2026年柳州市质量月的主题是什么").matched


def test_the_cache_is_keyed_by_the_code_that_fills_it():
    """A release that changes how pages become units or index terms must not read old parts."""
    files = part_cache.code_files()
    names = {f"{path.parent.name}/{path.name}" for path in files}
    assert {"answers/units.py", "answers/index.py", "answers/slots.py", "knowledge/cleaning.py"} <= names
    assert all(path.exists() for path in files)


def test_passages_cut_by_jieba_rs_get_jiebas_own_words(folder, monkeypatch):
    """A rebuild cuts passages with jieba-rs (segment.Segmenter.bulk): word for word what jieba cuts,
    so the index and the answers are those of a build cut by jieba alone."""
    pytest.importorskip("rjieba")
    from bot.answers.segment import Segmenter
    from bot.answers.units import build_units

    part_cache.use_cache(None)
    fast = build(folder)
    segmenter = Segmenter(fast.tokenizer)
    texts = [unit.text for unit in build_units(fast.snapshot)[0]] + list(fast.index.contexts)
    # Text jieba leaves outside its blocks: line breaks, rare CJK extensions, symbols, capitals.
    texts += ["a\r\nb 质量月\r\n\r\n x", "㐀㐁质量 鿖鿗 豈更", "  质量  月\t\n", "ABC质量DEF-12.5%+#&_", "", "\x1c\x85"]
    with segmenter.bulk():
        assert segmenter._fast is not None
        assert [segmenter(text) for text in texts] == [fast.tokenizer.lcut(text, HMM=False) for text in texts]
    assert segmenter._fast is None  # its dictionary is not kept between rebuilds
    monkeypatch.setattr(index_module, "BULK_TEXTS", 10**9)
    plain = build(folder)
    assert _figures(plain) == _figures(fast)
    assert replies(plain) == replies(fast)
