"""`kb check` reports every problem as path:line: message and exits 1; clean knowledge exits 0."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answers.engine import Engine
from bot.faces.cli import main
from bot.knowledge.loader import load_folder
from tests.conftest import KNOWLEDGE

GOOD_ENTRY = """entries:
  - id: faq-sample
    type: faq
    title: 示例
    question: 示例问题？
    answer: 示例答案。
    source:
      title: 示例来源
      origin: 示例网站
"""


def check(folder: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["kb", "check", "--knowledge", str(folder)], out=out, err=err)
    return code, out.getvalue()


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_shipped_knowledge_is_clean_and_counted():
    code, out = check(KNOWLEDGE)
    assert code == 0, out
    assert out.startswith("ok: ")
    assert "5 article" in out and "faq" in out and "policy" in out and "event" in out
    counts, sources = out.splitlines()[:2]
    assert counts.endswith(", 4 reminder")
    addresses = int(sources.split("sources: ")[1].split()[0])
    assert addresses >= 30 and "official_doc" in sources and "template" in sources


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (GOOD_ENTRY.replace("    answer: 示例答案。\n", "    answer: [unclosed\n"), 7, "YAML 语法错误"),
        (GOOD_ENTRY.replace("    title: 示例\n", "    title: 示例\n    colour: red\n"), 5, "未知字段“colour”"),
        (GOOD_ENTRY.replace("    title: 示例\n", "    title: 示例\n    theme: x\n"), 5, "只用于 event 条目"),
        (GOOD_ENTRY.replace("    answer: 示例答案。\n", ""), 2, "缺少必填字段“answer”"),
        (GOOD_ENTRY.replace("    type: faq\n", "    type: faq\n    date: 2017-13-01\n"), 4, "日期 '2017-13-01' 有误"),
        (GOOD_ENTRY.replace("faq-sample", "Bad Id"), 2, "编号 'Bad Id' 有误"),
        (GOOD_ENTRY.replace("    type: faq\n", "    type: notice\n"), 3, "必须是 policy, event, faq 之一"),
        (GOOD_ENTRY.replace("    type: faq\n", "    type: faq\n    year: 'soon'\n"), 4, "年份 'soon' 有误"),
        (GOOD_ENTRY.replace("      origin: 示例网站\n", ""), 7, "source.origin"),
        (GOOD_ENTRY.replace("    title: 示例\n", "    title: 示例\n    title: 又一个\n"), 5, "键“title”重复"),
        ("entries: {}\n", 1, "顶层应是 'entries:' 列表"),
        ("items:\n  - 1\n", 1, "未知的顶层键“items”"),
    ],
)
def test_entry_file_problems_name_file_and_line(tmp_path, content, line, message):
    write(tmp_path, "faq.yaml", content)
    code, out = check(tmp_path)
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'faq.yaml'}:{line}: "), first
    assert message in first


GOOD_CALENDAR = """reminders:
  - id: opening-day
    date: "09-01"
    time: "09:00"
    text: "{year}年全国“质量月”今天开始。{theme_line}"
"""


def test_calendar_is_read_as_reminders_not_entries(tmp_path):
    write(tmp_path, "faq.yaml", GOOD_ENTRY)
    write(tmp_path, "calendar.yaml", GOOD_CALENDAR)
    code, out = check(tmp_path)
    assert code == 0, out
    assert "1 faq" in out and "1 reminder" in out


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (GOOD_CALENDAR.replace('"09-01"', '"02-30"'), 3, "日期 '02-30' 有误"),
        (GOOD_CALENDAR.replace('"09:00"', '"9 am"'), 4, "时间 '9 am' 有误"),
        (GOOD_CALENDAR.replace("{theme_line}", "{theme}"), 5, "未知占位符 {theme}"),
        (GOOD_CALENDAR.replace("    time:", "    weekday: monday\n    time:"), 4, "不能同时使用"),
        (GOOD_CALENDAR + "  - id: opening-day\n    date: '09-02'\n    time: '09:00'\n    text: x\n", 6,
         "编号“opening-day”重复（第一次出现在 calendar.yaml:2）"),
        ("entries: []\n", 1, "未知的顶层键 'entries'"),
        ("# nothing but a comment\n", 1, "文件是空的"),
    ],
)
def test_calendar_problems_name_file_and_line(tmp_path, content, line, message):
    write(tmp_path, "calendar.yaml", content)
    code, out = check(tmp_path)
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'calendar.yaml'}:{line}: "), first
    assert message in first


def test_only_one_calendar_file(tmp_path):
    write(tmp_path, "calendar.yaml", GOOD_CALENDAR)
    write(tmp_path, "calendar.yml", GOOD_CALENDAR)
    code, out = check(tmp_path)
    assert code == 1
    assert f"{tmp_path / 'calendar.yml'}:1: 第1行：第二个日历文件：只使用 calendar.yaml" in out


def test_duplicate_ids_across_files(tmp_path):
    write(tmp_path, "a.yaml", GOOD_ENTRY)
    write(tmp_path, "b.yaml", GOOD_ENTRY)
    code, out = check(tmp_path)
    assert code == 1
    assert f"{tmp_path / 'b.yaml'}:2: 第2行：编号“faq-sample”重复（第一次出现在 a.yaml:2）" in out


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("faq.yaml", b"", "文件是空的"),
        ("faq.yaml", b"   \n\n", "文件是空的"),
        ("articles/page.txt", "質量月".encode("big5"), "既不是有效的 UTF-8"),
        ("faq.yaml", b"entries:\n\x00\x01binary", "二进制数据"),
        ("articles/page.txt", "分享到:\n会员注册\n1007786\n".encode(), "没有剩下正文"),
        ("faq.yaml", b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "锚点和别名"),
    ],
)
def test_unusable_files_are_refused(tmp_path, name, content, message):
    write(tmp_path, name, content)
    code, out = check(tmp_path)
    assert code == 1
    assert message in out


def test_deeply_nested_yaml_is_refused(tmp_path):
    write(tmp_path, "faq.yaml", "entries:\n  - " + "[" * 40 + "]" * 40 + "\n")
    code, out = check(tmp_path)
    assert code == 1 and "嵌套超过 12 层" in out


@pytest.mark.parametrize("name", ["faq.yaml", "calendar.yaml"])
@pytest.mark.parametrize(("nesting", "line"), [
    (" " + "[" * 5000, 1), (" " + "{a: " * 5000, 1), ("\n" + "".join(" " * i + "-\n" for i in range(1, 1300)), 14),
], ids=["flow-lists", "flow-maps", "block-lists"])
def test_thousands_of_levels_are_a_file_line_problem_not_a_recursion_error(tmp_path, name, nesting, line):
    key = "reminders" if name.startswith("calendar") else "entries"
    write(tmp_path, name, f"{key}:{nesting}\n")
    code, out = check(tmp_path)
    assert code == 1 and f"{name}:{line}: 第{line}行：嵌套超过 12 层" in out
    shutil.copy(KNOWLEDGE / "faq.yaml", tmp_path / "other.yaml")
    answers, err = io.StringIO(), io.StringIO()
    assert main(["ask", "--knowledge", str(tmp_path), "质量月是每年几月"], out=answers, err=err) == 0
    assert "9月" in answers.getvalue() and "1 个知识文件问题" in err.getvalue()


def test_oversized_file_is_refused(tmp_path):
    write(tmp_path, "articles/huge.txt", "质量月。" * 300_000)
    code, out = check(tmp_path)
    assert code == 1 and "上限为 1000000 字节" in out


def test_history_and_hidden_folders_are_ignored(tmp_path):
    write(tmp_path, "faq.yaml", GOOD_ENTRY)
    write(tmp_path, ".history/faq.yaml", "not: [valid")
    write(tmp_path, "_drafts/x.yaml", "not: [valid")
    code, out = check(tmp_path)
    assert code == 0, out
    assert "1 faq" in out


def test_missing_folder(tmp_path):
    code, out = check(tmp_path / "nope")
    assert code == 1 and "找不到知识库文件夹" in out


def test_billion_laughs_is_refused_before_anything_expands(tmp_path):
    lines = ["entries:", '  - a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    write(tmp_path, "faq.yaml", "\n".join(lines) + "\n")
    code, out = check(tmp_path)  # 9**12 strings if expanded: only a refusal can finish
    assert code == 1 and "锚点和别名" in out


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_in_a_knowledge_file_give_problems_not_exceptions(data):
    from bot.knowledge.loader import build_snapshot

    result = build_snapshot({"faq.yaml": data, "articles/page.txt": data})
    assert all(problem.line >= 0 and problem.message for problem in result.problems)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "gb18030", "gbk"])
def test_utf16_with_bom_and_gbk_files_on_disk_are_read(tmp_path, encoding):
    data = GOOD_ENTRY.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    write(tmp_path, "faq.yaml", data)
    code, out = check(tmp_path)
    assert code == 0 and "1 faq" in out, out


def test_utf16_without_a_bom_is_named_not_called_binary(tmp_path):
    write(tmp_path, "faq.yaml", GOOD_ENTRY.encode("utf-16-le"))
    code, out = check(tmp_path)
    assert code == 1 and "UTF-16" in out


def test_ids_too_long_for_a_telegram_button_are_warned_about(tmp_path):
    long_id = "faq-" + "very-long-entry-id-" * 4
    write(tmp_path, "faq.yaml", GOOD_ENTRY.replace("faq-sample", long_id))
    code, out = check(tmp_path)
    assert code == 0, out
    assert f"编号“{long_id}”有 {len(long_id)} 字节，放不进 Telegram 按钮数据" in out
    assert "1 faq" in out


def themed(entry_id: str, theme: str, kind: str, origin: str) -> str:
    return (f"  - id: {entry_id}\n    type: event\n    title: 2031年全国“质量月”（主题：{theme}）\n"
            f"    answer: 2031年全国“质量月”的主题是“{theme}”。\n    year: 2031\n    region: 全国\n"
            f"    theme: {theme}\n    source:\n      title: {origin}的报道\n      origin: {origin}\n"
            f"      kind: {kind}\n")


def test_two_sources_giving_one_theme_differently_are_shown_and_the_official_one_answers(tmp_path):
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, folder)
    write(folder, "hearsay.yaml", "entries:\n" + themed("event-2031-hearsay", "质量天天见", "qa", "某问答网站"))
    write(folder, "official.yaml", "entries:\n" + themed("event-2031-official", "质量筑根基", "official_news",
                                                          "市场监管总局"))
    code, out = check(folder)
    assert code == 0
    conflict = next(line for line in out.splitlines() if line.startswith("冲突"))
    assert "2031年全国的质量月主题" in conflict and "hearsay.yaml:2" in conflict and "official.yaml:2" in conflict
    assert "“质量天天见”" in conflict and "“质量筑根基”" in conflict
    assert "回答采用来源更权威的 event-2031-official" in conflict
    answer = Engine(load_folder(folder).snapshot).ask("2031年全国质量月的主题是什么")
    assert answer.matched and "质量筑根基" in answer.answer and "质量天天见" not in answer.answer
    assert answer.sources[0].origin == "市场监管总局"


def test_themes_of_different_activities_in_one_year_are_not_a_conflict(tmp_path):
    folder = tmp_path / "knowledge"
    month = themed("event-2031-month", "质量筑根基", "official_news", "市场监管总局")
    lecture = month.replace("event-2031-month", "event-2031-lecture").replace("2031年全国“质量月”（主题：质量筑根基）",
                                                                             "2031年质量讲座").replace(
        "theme: 质量筑根基", "theme: 标准与创新")
    write(folder, "events.yaml", "entries:\n" + month + lecture)
    code, out = check(folder)
    assert code == 0 and "冲突" not in out, out
