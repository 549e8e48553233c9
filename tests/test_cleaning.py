"""Cleaning is tested on the real noise of the shipped seed pages."""

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.knowledge.cleaning import clean_page, is_boilerplate, is_spam, repair_mojibake
from bot.text import display_form
from tests.conftest import KNOWLEDGE

PAGES = sorted((KNOWLEDGE / "articles").glob("*.txt"))


def cleaned(name: str):
    path = KNOWLEDGE / "articles" / name
    return clean_page(path.read_text(encoding="utf-8"), name)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_noise_survives(page):
    result = clean_page(page.read_text(encoding="utf-8"), page.name)
    text = "\n".join(result.paragraphs)
    assert not re.search(r"\([a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔù][a-zü]*\)", text), "pinyin notes left"
    assert "?" not in text, "mojibake question marks left"
    for noise in ("版权", "分享到", "会员", "找回密码", "亚洲", "无码", "http", "当前的位置", "小编"):
        assert noise not in text
    assert result.paragraphs and all(len(p) >= 8 for p in result.paragraphs)


def test_titles_dates_and_origins_are_found():
    page = cleaned("002_54b1d66e9499e49e.txt")
    assert page.title == "2017年江西省“质量月”活动启动仪式在赣州拉开帷幕"
    assert page.date == "2017-09-22"
    assert page.origin == "中国计量网（来源：江西省质监局）"
    page = cleaned("001_debb321f37cf2fcf.txt")
    assert page.title == "四川五个推动掀起《质量发展纲要》宣贯热潮"
    assert page.date == "2012-05-25"
    assert page.url and page.url.startswith("http://zlgls.aqsiq.gov.cn/")
    assert cleaned("003_ae33467fe3dd0edb.txt").origin == "中国质量新闻网"
    assert cleaned("004_342c7815cd97eb2a.txt").title == "质量强市工作领导讲话"


def test_page_without_headline_gets_title_and_date_from_its_first_sentence():
    page = cleaned("000_66bba50b4dc6e5dd.txt")
    assert page.title.startswith("2022年益阳市“质量月”系列活动")
    assert page.date == "2022-09-13"
    assert page.origin == "益阳广播电视在线"


def test_facts_survive_cleaning():
    text = "".join(cleaned("003_ae33467fe3dd0edb.txt").paragraphs)
    for fact in ("建设质量强省 决胜全面小康", "1700家", "6000余份", "65家企业", "消费维权"):
        assert fact in text
    text = "".join(cleaned("004_342c7815cd97eb2a.txt").paragraphs)
    assert "每家获奖企业奖金提高到60万元" in text
    assert "定人员、定责任、定标准、定进度和定时限" in text


def test_mojibake_is_cut_without_eating_the_sentence():
    assert display_form(repair_mojibake("承諾”?,F(xiàn)場還有領導")) == "承诺”场还有领导"
    assert display_form(repair_mojibake("永恒主題?;庑鹿诜窝滓咔榻o經(jì)濟(jì)發(fā)展")) == "永恒主题经济发展"
    assert display_form(repair_mojibake("(周闖? 羅亮 記者")) == "(周闯 罗亮 记者"
    assert repair_mojibake("10:10????信息") == "10:10 信息"


def test_utf8_read_as_latin1_is_repaired():
    broken = "质量月活动在9月举行".encode().decode("latin-1")
    assert repair_mojibake(broken) == "质量月活动在9月举行"


def test_line_rules():
    assert is_spam("亚洲精品永久不卡一二三区,97SE狠狠狠狠狼鲁亚洲综合色")
    assert not is_spam("全省系统主动联合工商、建设、商务、卫生、药监等职能部门")
    assert is_boilerplate("分享到:")
    assert is_boilerplate("------------------")
    assert is_boilerplate("1007786")
    assert is_boilerplate("罗亮 摄")
    assert is_boilerplate("学习啦 > 实用范文 > 致辞讲话 > 会议发言稿")
    assert not is_boilerplate("讲座由市委党校副校长周铁涛主持,市市场监管局党组成员王猛出席。")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_any_page_text_is_cleaned_without_exception(text):
    page = clean_page(text, "page.txt")
    assert isinstance(page.title, str) and page.origin
    assert all(isinstance(paragraph, str) for paragraph in page.paragraphs)


# --- hostile input is linear (speed itself is measured by `make bench-abuse`) --------------------
_OLD_PROMO = re.compile(r"[^。!?]*(小编|仅供参考|本网|点击进入|更多精彩)[^。!?]*[。!?]?")
_PROMO_PARTS = ("小编", "仅供参考", "本网", "点击进入", "更多精彩", "。", "!", "?", "！", "质量", "编", " ", "a")


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(_PROMO_PARTS), max_size=20).map("".join))
def test_promo_sentences_are_dropped_exactly_as_before(paragraph):
    from bot.knowledge.cleaning import _strip_promo

    assert _strip_promo(paragraph) == _OLD_PROMO.sub("", paragraph).strip()


def test_a_long_paragraph_without_full_stops_keeps_its_text_and_loses_its_promo():
    body = "质量发展纲要提出质量强国建设" * 15_000  # 210 KB of one sentence
    page = clean_page(f"标题：某市质量月活动\n{body}\n{body}小编提醒您关注\n", "long.txt")
    assert page.paragraphs == (body,)


def _unbounded(item: tuple) -> bool:
    from re import _constants as sre  # type: ignore[attr-defined]

    return item[0] in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and item[1][1] == sre.MAXREPEAT


def _char_test(items: list) -> object:
    """A predicate telling whether one character matches a single-character pattern item, or None."""
    from re import _constants as sre  # type: ignore[attr-defined]

    categories = {sre.CATEGORY_DIGIT: str.isdigit, sre.CATEGORY_SPACE: str.isspace,
                  sre.CATEGORY_WORD: lambda c: c.isalnum() or c == "_"}
    negated = {sre.CATEGORY_NOT_DIGIT: str.isdigit, sre.CATEGORY_NOT_SPACE: str.isspace,
               sre.CATEGORY_NOT_WORD: lambda c: c.isalnum() or c == "_"}
    if len(items) != 1:
        return None
    op, arg = items[0]
    if op == sre.ANY:
        return lambda c: c != "\n"
    if op == sre.LITERAL:
        return lambda c: ord(c) == arg
    if op == sre.NOT_LITERAL:
        return lambda c: ord(c) != arg
    if op != sre.IN:
        return None

    def member(c: str) -> bool:
        hit, negate = False, False
        for kind, value in arg:
            if kind == sre.NEGATE:
                negate = True
            elif kind == sre.LITERAL:
                hit |= ord(c) == value
            elif kind == sre.RANGE:
                hit |= value[0] <= ord(c) <= value[1]
            elif kind == sre.CATEGORY:
                hit |= categories[value](c) if value in categories else not negated[value](c)
        return hit != negate

    return member


_PROBES = "a1 \t中。!?？(（)）>:：,，-/.年月日来源小编httpü" + "āáǎà" + "\u3000"


def _problems_of(name: str, pattern: re.Pattern[str]) -> list[str]:
    from re import _constants as sre  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    items = list(_parser.parse(pattern.pattern, pattern.flags))
    problems = []
    anchored = items and items[0][0] == sre.AT
    # A search restarts at every position: a leading unbounded run followed by more pattern rescans
    # the run each time (quadratic) unless the whole pattern can match empty and so never fails.
    if not anchored and items and _unbounded(items[0]) and len(items) > 1 and not pattern.fullmatch(""):
        problems.append(f"{name}: starts with an unbounded repeat and can fail after it")
    # Two unbounded runs side by side that accept the same character can split a run in n ways.
    for first, second in itertools.pairwise(items):
        if _unbounded(first) and _unbounded(second):
            a, b = _char_test(list(first[1][2])), _char_test(list(second[1][2]))
            if a is None or b is None or any(a(c) and b(c) for c in _PROBES):  # type: ignore[operator]
                problems.append(f"{name}: adjacent unbounded repeats overlap")
    return problems


def test_no_regex_over_admin_files_can_backtrack_super_linearly():
    from bot import text
    from bot.knowledge import cleaning, loader, schema
    from bot.reminders import calendar

    problems = []
    for module in (cleaning, loader, schema, calendar, text):
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                problems += _problems_of(f"{module.__name__}.{name}", value)
    assert problems == []
    assert _problems_of("old promo", _OLD_PROMO)  # the check catches the pattern that froze the bot
    assert _problems_of("doubled", re.compile(r"x\s*\s*y"))


def test_passages_are_cut_from_cleaned_lines_already_in_matching_form():
    """The engine matches a passage's sentences in lower case only (Unit.fold), trusting cleaning to
    have put them in display form; were that to change, answers would silently miss words."""
    from bot.answers.units import build_units
    from bot.knowledge.loader import load_folder
    from bot.text import normalise
    from tests.conftest import KNOWLEDGE

    units = [unit for unit in build_units(load_folder(KNOWLEDGE).snapshot)[0] if unit.kind == "passage"]
    sentences = [sentence for unit in units for sentence in (unit.title, *unit.sentences)]
    same = sum(1 for sentence in sentences if normalise(sentence) == sentence.lower())
    assert sentences and same / len(sentences) >= 0.99  # OpenCC may settle a variant (著) in context
