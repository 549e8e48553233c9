"""Query analysis: what a citizen typed becomes weighted content words, cues and constraints."""

from __future__ import annotations

import datetime as dt


def test_function_words_and_question_frames_are_dropped(engine):
    query = engine.analyzer.analyse("请问郑长征讲座的题目是什么？")
    assert "题目" not in query.words and "什么" not in query.words and "请问" not in query.words
    assert any("长征" in word for word in query.words)
    assert "title" in query.cues


def test_rare_words_weigh_more_than_common_ones(engine):
    query = engine.analyzer.analyse("赣州的质量考核")
    assert query.words["赣州"] > query.words["质量"]


def test_words_the_knowledge_never_uses_weigh_the_most(engine):
    query = engine.analyzer.analyse("护照质量")
    assert query.words["护照"] == max(query.words.values())


def test_full_pinyin_and_initials_become_characters(engine):
    assert "质量月" in engine.analyzer.analyse("zhiliangyue").words
    assert "质量月" in engine.analyzer.analyse("zly").words
    query = engine.analyzer.analyse("ganzhou zhiliang")
    assert "赣州" in query.text and "质量" in query.text


def test_homophone_typo_is_fixed_and_reported(engine):
    query = engine.analyzer.analyse("质量发展钢要")
    assert ("钢要", "纲要") in query.corrections
    assert "钢要" not in query.text


def test_small_numbers_match_either_way(articles_only_engine):
    query = articles_only_engine.analyzer.analyse("湖南质量月有哪六大系列活动")
    assert ("六大", "6大") in query.corrections and "6大" in query.text


def test_cues_years_and_places(engine):
    query = engine.analyzer.analyse("2017年江西省质量月启动仪式在哪里举行")
    assert query.years == {2017}
    assert "place" in query.cues
    assert [group[0].name for group in query.places] == ["江西省"]
    assert "day" in engine.analyzer.analyse("讲座是哪天举行的").cues
    assert "number" in engine.analyzer.analyse("奖金多少钱").cues


def test_a_lone_yi_that_counts_nothing_is_not_read_as_the_number_1(engine):
    words = engine.analyzer.analyse("这些单位一共有几家，是一起办的吗").words
    assert "1" not in words and not any(word.startswith("1") for word in words), words


def test_a_lone_pinyin_syllable_in_a_question_reads_as_the_question_word_first(engine):
    query = engine.analyzer.analyse("zhiliangyue shi ji yue")
    assert query.text == "质量月是几月" and "date" in query.cues


def test_an_unknown_token_around_a_question_character_is_frame_not_content(engine):
    words = engine.analyzer.analyse("江西质量月活动分几大板块").words
    assert not any(char in word for word in words for char in "几哪谁"), words
    assert "江西" in words and "板块" in words


def test_a_year_typed_with_two_digits_is_a_year_but_a_span_of_years_is_not(engine):
    today = dt.date(2026, 12, 3)
    assert engine.analyzer.analyse("23年质量月主题", today).years == {2023}
    assert engine.analyzer.analyse("78年质量月的口号", today).years == {1978}
    assert engine.analyzer.analyse("近10年质量月的主题", today).years == set()
    assert engine.analyzer.analyse("80年代的质量月", today).years == set()


def test_pinyin_with_tone_marks_reads_as_plain_pinyin(engine):
    query = engine.analyzer.analyse("zhìliàng fāzhǎn gāngyào shì nǎ jǐ nián de")
    assert "质量发展纲要" in query.words


def test_a_spaced_syllable_is_one_character_not_a_place_it_could_spell(engine):
    query = engine.analyzer.analyse("zhi liang qiang guo jian she gang yao")
    assert query.places == [] and "质量强国建设纲要" in query.text


def test_a_typo_that_splits_a_term_into_two_words_is_joined_back(engine):
    query = engine.analyzer.analyse("质量粤是几月份")
    assert ("质量粤", "质量月") in query.corrections and query.places == []


def test_a_long_word_written_shorter_on_the_page_is_judged_by_its_dictionary_parts(engine):
    query = engine.analyzer.analyse("2012年质量月启动仪式在哪个城市")
    assert query.pieces("启动仪式") == ["启动", "仪式"]
    named = engine.analyzer.analyse("世界质量日是哪天")
    assert "世界质量日" in named.words and named.pieces("世界质量日")[1::2] == ["界质", "量日"]


def test_a_piece_another_asked_word_holds_is_no_sign_of_this_word(engine):
    query = engine.analyzer.analyse("浙江省政府质量奖奖金是多少")
    assert "奖" not in query.pieces("奖金") and "金" in query.pieces("奖金")


def test_together_and_in_total_are_how_a_question_is_put_not_its_topic(engine):
    words = engine.analyzer.analyse("2021年质量月是几个部门一起搞的").words
    assert "一起" not in words and "部门" in words


def test_a_way_of_asking_is_segmented_whole_and_carries_no_topic(engine):
    words = engine.analyzer.analyse("2017年江西省质量月启动仪式在哪个市办的").words
    assert "市办" not in words and "哪个市" not in words
    assert {"江西省", "启动仪式"} <= set(words)


def test_a_place_where_a_national_event_was_held_does_not_narrow_the_question(engine):
    venue = engine.analyzer.analyse("首届中国质量奖在北京颁发是哪天")
    assert not venue.places and venue.national and "北京" in venue.words
    assert [group[0].name for group in engine.analyzer.analyse("杭州的质量奖").places] == ["杭州市"]
    assert engine.analyzer.analyse("在湖南举办的质量月活动").places  # no national event: 湖南 is the scope


def test_a_long_name_is_found_across_quotes_or_a_bracketed_aside_but_not_across_other_words(engine):
    query = engine.analyzer.analyse("中国质量大会在哪开")
    word = next(word for word in query.words if word.startswith("中国质量"))
    assert query.found(word, "中国质量(杭州)大会开幕")
    assert not query.found(word, "第二届中国质量奖颁奖大会于3月29日在北京举行")


def test_a_way_of_asking_typed_in_pinyin_reads_as_that_way_of_asking(engine):
    query = engine.analyzer.analyse("yuyao zhengfu zhiliangjiang meinian ping jijia")
    assert query.text.endswith("几家")
    assert "number" in query.cues and not any("济" in word for word in query.words)


def test_asking_which_province_is_not_a_national_question(engine):
    assert not engine.analyzer.analyse("哪个省最早经国家批准设立省政府质量奖").national
    assert engine.analyzer.analyse("国家质量奖是谁评的").national
