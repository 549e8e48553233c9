"""Slots: years and places read from questions and pages, and the engine holding answers to them."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.answers.engine import Engine
from bot.answers.slots import Gazetteer, ordinals, relative_years, written_years
from bot.faces.cli import main
from bot.knowledge.loader import build_snapshot, load_folder
from tests.conftest import KNOWLEDGE

TODAY = dt.date(2026, 12, 3)


@pytest.fixture(scope="module")
def dated_engine() -> Engine:
    return Engine(load_folder(KNOWLEDGE).snapshot, today=lambda: TODAY)


def test_years_written_in_digits_or_chinese_numerals():
    assert written_years("二〇一七年质量月，2020年湖南") == {2017, 2020}
    assert written_years("第12345号文件") == set()


def test_relative_years_follow_the_reference_year():
    assert relative_years("今年和去年的主题", 2026) == {2026, 2025}
    assert relative_years("明年", 2017) == {2018}
    assert relative_years("今年", None) == set()


def test_places_come_with_their_level():
    found = {place.name: place.level for place in Gazetteer.shared().find("湖南省郴州市和益阳的活动")}
    assert found == {"湖南省": "province", "郴州市": "city", "益阳市": "city"}
    # A city whose short name is an everyday word counts only when written in full.
    assert Gazetteer.shared().find("欢迎各位来宾") == []
    assert [p.name for p in Gazetteer.shared().find("来宾市")] == ["来宾市"]
    # Other cities' short names are places whatever else a dictionary says they are.
    assert [p.name for p in Gazetteer.shared().find("合肥、大连和开封的质量奖")] == ["合肥市", "大连市", "开封市"]


def test_this_year_is_never_answered_with_another_years_fact(dated_engine):
    answer = dated_engine.ask("今年的质量月主题是什么")
    assert not answer.matched or "2026" in answer.answer
    assert answer.reason == "no_record" and "2026年" in answer.answer


def test_last_year_resolves_against_today(dated_engine):
    answer = dated_engine.ask("去年全国质量月的主题是什么")
    assert answer.matched and "2025" in answer.answer


def test_a_national_question_is_not_answered_with_a_provinces_fact(dated_engine):
    answer = dated_engine.ask("2020年全国质量月的主题是什么")
    assert "湖南" not in answer.answer and "2020" in answer.answer


@pytest.mark.parametrize("question", ["湖南省长质量奖奖金是多少", "浙江省政府质量奖奖金多少"])
def test_a_city_award_is_not_a_provincial_one(dated_engine, question):
    assert "60万" not in dated_engine.ask(question).answer


def test_an_asked_place_and_year_missing_says_what_is_known(dated_engine):
    answer = dated_engine.ask("2019年江西省质量月启动仪式在哪里举行")
    assert not answer.matched and answer.reason == "no_record"
    assert "2019年" in answer.answer and "2017年" in answer.answer


@pytest.mark.parametrize("question", ["2", "4", "？？", "12345"])
def test_digits_or_punctuation_are_not_a_question(dated_engine, question):
    answer = dated_engine.ask(question)
    assert not answer.matched and answer.reason == "not_question"


def test_out_of_scope_questions_are_pointed_elsewhere(dated_engine):
    answer = dated_engine.ask("买到假货怎么投诉")
    assert not answer.matched and answer.reason == "pointer"
    assert "12315" in answer.answer and answer.sources


def test_synonyms_come_from_the_lexicon(dated_engine):
    answer = dated_engine.ask("第一次质量月是哪年")
    assert answer.matched and "1978" in answer.answer


def test_page_relative_words_show_the_pages_year(dated_engine):
    answer = dated_engine.ask("浙江质量强省的若干意见是什么时候出台的")
    assert answer.matched and "今年（原文未注明年份）" in answer.answer  # an undated template page
    assert "20xx" not in answer.answer


def test_lexicon_problems_name_file_and_line():
    bad = b"stopwords: [\xe7\x9a\x84]\nasked:\n  weather: [\xe5\xa4\xa9\xe6\xb0\x94]\n"
    result = build_snapshot({"lexicon.yaml": bad})
    assert [str(p) for p in result.problems] == [
        "lexicon.yaml:3: 第3行：未知的问法“weather”（可用：number, day, date, place, person, title, theme, "
        "organisation, list）"]


def test_pointer_problems_name_file_and_line():
    text = "pointers:\n- id: p1\n  topic: 投诉\n  answer: 拨打12315\n  source: {title: t, origin: o}\n"
    result = build_snapshot({"pointers.yaml": text.encode()})
    assert [str(p) for p in result.problems] == ["pointers.yaml:2: 第2行：缺少必填字段“keywords”"]


def test_kb_check_explain_shows_years_places_and_kind(capsys):
    assert main(["kb", "check", "--knowledge", str(KNOWLEDGE), "--explain", "002_54b1d66e9499e49e.txt"]) == 0
    out = capsys.readouterr().out
    assert "002_54b1d66e9499e49e#1" in out and "年份：2017" in out and "江西省（省级）" in out
    assert "distinct addresses" in out


def test_a_round_asked_for_must_be_the_units_own(dated_engine):
    """第三届 is a slot like a year: the general entry about the award does not answer for a round
    the knowledge has no record of."""
    answer = dated_engine.ask("第三届中国质量奖都有谁获奖")
    assert not answer.matched


def test_a_pointer_topic_is_pointed_elsewhere_even_when_words_match_a_page(dated_engine):
    answer = dated_engine.ask("召回查询")
    assert answer.reason == "pointer" and not answer.matched


def test_spaced_pinyin_reads_lone_syllables_as_function_words(dated_engine):
    answer = dated_engine.ask("zhiliang yue shi ji yue")
    assert answer.matched and "9月" in answer.answer


def test_the_source_line_names_what_kind_of_page_it_is(capsys):
    assert main(["ask", "--knowledge", str(KNOWLEDGE), "--today", "2026-12-03", "2022年全国质量月的主题是什么"]) == 0
    source = [line for line in capsys.readouterr().out.splitlines() if line.startswith("来源")]
    assert source and any(label in source[0] for label in ("官方文件", "官方发布", "媒体报道", "问答网站"))


@pytest.mark.parametrize("year", range(2011, 2026))
def test_every_national_quality_month_year_the_pages_support_is_answered(dated_engine, year):
    answer = dated_engine.ask(f"{year}年全国质量月的主题是什么")
    assert answer.matched and f"{year}" in answer.answer and answer.sources


@pytest.mark.parametrize("year", [2008, 2010, 2026])
def test_a_year_the_pages_do_not_support_names_the_years_known(dated_engine, year):
    answer = dated_engine.ask(f"{year}年全国质量月的主题是什么")
    assert not answer.matched and answer.reason == "no_record" and f"{year}年" in answer.answer


def test_shou_jie_and_shou_pi_are_the_first_round():
    assert ordinals("首届中国质量奖") == {(1, "届")} and ordinals("首批示范城市") == {(1, "批")}
    assert ordinals("首次提出") == set()


def test_last_year_asks_for_that_years_own_fact_not_an_older_plan_for_it(dated_engine):
    """The 2023 outline sets targets for 2025; asked in 2026 what was reached 去年, it is not the answer."""
    assert not dated_engine.ask("去年全国的制造业产品质量合格率达到了多少").matched
    answer = dated_engine.ask("去年全国质量月的主题是什么")
    assert answer.matched and "2025" in answer.answer


def test_a_national_event_held_in_a_city_is_answered_by_the_national_record(dated_engine):
    answer = dated_engine.ask("首届中国质量奖是哪天在北京颁发的")
    assert answer.matched and "北京" in answer.answer and "12月16日" in answer.answer


def test_which_members_of_a_place_are_answered_from_a_national_list_naming_them(dated_engine):
    answer = dated_engine.ask("浙江有哪些城市在首批全国质量强市示范城市争创名单里")
    assert answer.matched and "宁波" in answer.answer
    assert not dated_engine.ask("湖南质量强市示范城市有哪些").matched  # the list names no city in 湖南
