"""Knowledge changes while running: refusal rules, validation and diff, atomic apply with history,
rollback, attaching unanswered questions, disk reloads, answering during reloads."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from bot import strings
from bot.answers.engine import Engine
from bot.answers.live import LiveKnowledge
from bot.curation.folder import KnowledgeFolder
from bot.curation.review import add_alternative, group_similar
from bot.curation.uploads import UploadRefused, target_path
from bot.knowledge.loader import load_folder
from tests.conftest import DATA, KNOWLEDGE

PAGE = (DATA / "holdout" / "pages" / "page_a.txt").read_bytes()
QUESTION = "柳州2021年质量月启动仪式在哪里举行"


@pytest.fixture
def setup(tmp_path: Path):
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, folder)
    knowledge = LiveKnowledge(Engine(load_folder(folder).snapshot))
    return folder, knowledge, KnowledgeFolder(folder, lambda: knowledge.snapshot, knowledge.replace)


@pytest.mark.parametrize(
    ("name", "size", "reason"),
    [
        ("../../etc/passwd.txt", 10, "不安全"),
        ("sub/dir.yaml", 10, "不安全"),
        (".hidden.yaml", 10, "不安全"),
        ("page.pdf", 10, "不支持"),
        ("page", 10, "不支持"),
        ("page.txt", 2_000_000, "太大"),
    ],
)
def test_unsafe_or_unsupported_uploads_are_refused(name, size, reason):
    with pytest.raises(UploadRefused) as refused:
        target_path(name, size)
    assert reason in strings.upload_refused(refused.value.reason, refused.value.values)


def test_targets():
    assert target_path("新闻 页面(1).txt", 100) == "articles/新闻 页面(1).txt"
    assert target_path("faq2.yaml", 100) == "faq2.yaml"


def test_a_new_page_is_planned_applied_and_answered(setup):
    folder, knowledge, manager = setup
    assert not knowledge.engine.ask(QUESTION).matched
    change = manager.plan("articles/liuzhou.txt", PAGE)
    assert change.ok and change.article is not None
    title, date, passages = change.article
    assert "柳州" in title and date == "2021-09-06" and passages >= 3
    record = manager.apply(change, who=42)
    assert (folder / "articles" / "liuzhou.txt").read_bytes() == PAGE
    answer = knowledge.engine.ask(QUESTION)
    assert answer.matched and "柳东新区" in answer.answer
    assert manager.history()[0] == record and record.who == 42 and not record.existed


def test_invalid_yaml_reports_its_line_and_changes_nothing(setup):
    folder, knowledge, manager = setup
    version = knowledge.snapshot.version
    change = manager.plan("faq.yaml", b"entries:\n  - id: x\n    type: faq\n    title: [oops\n")
    assert not change.ok
    assert str(change.problems[0]).startswith("faq.yaml:5: 第5行：YAML 语法错误") or ":4:" in str(change.problems[0])
    with pytest.raises(ValueError):
        manager.apply(change, who=1)
    assert knowledge.snapshot.version == version
    assert (folder / "faq.yaml").read_bytes() == (KNOWLEDGE / "faq.yaml").read_bytes()


def test_duplicate_ids_from_an_upload_are_caught(setup):
    _, _, manager = setup
    duplicate = (b"entries:\n  - id: faq-what-is-quality-month\n    type: faq\n    title: t\n    question: q\n"
                 b"    answer: a\n    source:\n      title: s\n      origin: o\n")
    change = manager.plan("extra.yaml", duplicate)
    assert any("编号“faq-what-is-quality-month”重复" in str(problem) for problem in change.problems)


def test_entry_changes_are_listed(setup):
    folder, _, manager = setup
    text = (folder / "faq.yaml").read_text(encoding="utf-8")
    edited = text.replace("每年9月开展", "每年九月开展", 1)
    change = manager.plan("faq.yaml", edited.encode())
    assert change.ok and change.changed and not change.added and not change.removed
    assert change.replaces


def test_rollback_restores_the_previous_answers(setup):
    folder, knowledge, manager = setup
    manager.apply(manager.plan("articles/liuzhou.txt", PAGE), who=1)
    assert knowledge.engine.ask(QUESTION).matched
    record = manager.rollback(who=1)
    assert record is not None and record.action == "rollback"
    assert not (folder / "articles" / "liuzhou.txt").exists()
    assert not knowledge.engine.ask(QUESTION).matched
    assert manager.rollback(who=1) is None  # the rollback itself is not undone by another rollback


def test_attaching_an_unanswered_question_makes_it_answerable(setup):
    folder, knowledge, manager = setup
    question = "每年秋天的质量节叫什么"
    assert not knowledge.engine.ask(question).matched
    guesses = knowledge.engine.guesses(question)
    assert guesses
    manager.attach("faq-what-is-quality-month", question, who=7)
    answer = knowledge.engine.ask(question)
    assert answer.matched and "质量月" in answer.answer
    assert f'"{question}"' in (folder / "faq.yaml").read_text(encoding="utf-8")
    assert manager.history()[0].action == "attach"


def test_add_alternative_keeps_comments_and_layout():
    text = "entries:\n  # the first\n  - id: a\n    title: T  # keep me\n    answer: A\n\n  - id: b\n    answer: B\n"
    edited = add_alternative(text, 3, "新问法")
    assert "# the first" in edited and "# keep me" in edited
    assert edited.index('    alternatives:\n      - "新问法"\n') < edited.index("  - id: b")
    again = add_alternative(edited, 3, "又一个")
    assert again.count("alternatives:") == 1 and '      - "又一个"\n' in again


def test_similar_unanswered_questions_are_merged():
    rows = [{"id": 1, "key": "质量月有什么活动", "sample": "质量月有什么活动", "count": 2},
            {"id": 2, "key": "质量月有什么活动吗", "sample": "质量月有什么活动吗", "count": 1},
            {"id": 3, "key": "护照怎么办", "sample": "护照怎么办", "count": 1}]
    groups = group_similar(rows)
    assert groups[0]["count"] == 3 and groups[0]["ids"] == [1, 2]
    assert len(groups) == 2


def test_disk_edits_reload_only_when_valid(setup):
    folder, knowledge, manager = setup
    assert not manager.changed_on_disk()
    (folder / "articles" / "liuzhou.txt").write_bytes(PAGE)
    assert manager.changed_on_disk()
    assert manager.reload().ok and knowledge.engine.ask(QUESTION).matched
    good = knowledge.snapshot.version
    (folder / "events.yaml").write_text("entries:\n  - id: [broken\n", encoding="utf-8")
    result = manager.reload()
    assert not result.ok and any(p.path == "events.yaml" for p in result.problems)
    assert knowledge.snapshot.version == good and knowledge.engine.ask(QUESTION).matched
    assert not manager.changed_on_disk()  # reported once, not on every poll


def test_questions_are_answered_correctly_while_reloads_run(setup):
    _, knowledge, manager = setup
    stop = threading.Event()
    reloads = 0

    def reload_loop() -> None:
        nonlocal reloads
        while not stop.is_set():
            manager.reload()
            reloads += 1

    thread = threading.Thread(target=reload_loop)
    thread.start()
    try:
        answers = [knowledge.engine.ask("郴州质量开放日发放了多少宣传单") for _ in range(60)]
    finally:
        stop.set()
        thread.join()
    assert reloads >= 1
    assert all(answer.matched and "6000" in answer.answer for answer in answers)


_DIE_WRITING_META = """
import os, signal, sys
from pathlib import Path
import bot.curation.folder as curation

real = curation.atomic_write

def dying(path, data):
    if path.name == "meta.json":  # the history entry is half written: SIGKILL, as a crash would
        os.kill(os.getpid(), signal.SIGKILL)
    real(path, data)

curation.atomic_write = dying
manager = curation.KnowledgeFolder(Path(sys.argv[1]), lambda: None, lambda snapshot: None)
manager.apply(manager.plan("extra.yaml", Path(sys.argv[2]).read_bytes()), who=1)
"""


def test_a_kill_while_writing_history_leaves_no_folder_without_meta(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    folder = tmp_path / "knowledge"
    folder.mkdir()
    shutil.copy(KNOWLEDGE / "faq.yaml", folder / "faq.yaml")
    manager = KnowledgeFolder(folder, lambda: None, lambda snapshot: None)  # type: ignore[arg-type,return-value]
    manager.apply(manager.plan("faq.yaml", (KNOWLEDGE / "faq.yaml").read_bytes() + b"\n"), who=1)
    extra = tmp_path / "extra.yaml"
    extra.write_bytes((KNOWLEDGE / "faq.yaml").read_bytes().replace(b"id: faq-", b"id: extra-"))
    killed = subprocess.run([sys.executable, "-c", _DIE_WRITING_META, str(folder), str(extra)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    assert not (folder / "extra.yaml").exists()

    restarted = KnowledgeFolder(folder, lambda: None, lambda snapshot: None)  # type: ignore[arg-type,return-value]
    leftovers = [p.name for p in (folder / ".history").iterdir() if not (p / "meta.json").exists()]
    assert leftovers == []
    assert [record.id for record in restarted.history()] == ["00001"]
    record = restarted.apply(restarted.plan("extra.yaml", extra.read_bytes()), who=1)
    assert record.id == "00002" and [r.id for r in restarted.history()] == ["00002", "00001"]
