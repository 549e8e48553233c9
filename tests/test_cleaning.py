"""Cleaning is tested on the real noise of the shipped seed pages."""

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
