from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text import (
    cjk_bigrams,
    in_script_of,
    is_traditional,
    normalise,
    pinyin_initials,
    strip_pinyin_notes,
)


def test_pinyin_notes_glued_into_words_are_removed():
    assert strip_pinyin_notes("質(zhì)量強(qiáng)市戰(zhàn)略") == "質量強市戰略"
    assert strip_pinyin_notes("發(fā)展（fā）") == "發展"


def test_ordinary_parentheses_are_kept():
    assert strip_pinyin_notes("《質量發展綱要(2011-2020年)》(以下簡稱《綱要》)") == (
        "《質量發展綱要(2011-2020年)》(以下簡稱《綱要》)"
    )
    assert strip_pinyin_notes("English (text) stays") == "English (text) stays"


def test_normalise_folds_width_script_case_and_controls():
    assert normalise("ＡＢＣ１２３　質量月\u200b！") == "abc123 质量月!"
    assert normalise("質(zhì)量發展綱要") == "质量发展纲要"


def test_script_detection_and_reply_script():
    assert is_traditional("江西質量月啟動儀式由誰宣布啟動?")
    assert not is_traditional("江西质量月启动仪式由谁宣布启动?")
    assert not is_traditional("zhiliangyue")
    assert in_script_of("質量月是幾月", "质量月每年9月举行") == "質量月每年9月舉行"
    assert in_script_of("质量月是几月", "质量月每年9月举行") == "质量月每年9月举行"


def test_pinyin_initials():
    assert pinyin_initials("质量月") == "zly"


def test_bigrams():
    assert cjk_bigrams("质量月a纲") == ["质量", "量月", "纲"]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalise_accepts_any_text(text):
    result = normalise(text)
    assert isinstance(result, str)
    assert normalise(result) == result  # idempotent: queries and passages meet in one form


def test_answers_are_typeset_as_chinese_publishers_print_them():
    from bot.text import typeset

    assert typeset("启动仪式上,南宁市(广西)提出:做到3,000家") == "启动仪式上，南宁市（广西）提出：做到3,000家"
    assert typeset("《关于印发《质量发展纲要》的通知》") == "《关于印发〈质量发展纲要〉的通知》"
    assert typeset("ISO 9001 (GB/T 19001), 2.5") == "ISO 9001 (GB/T 19001), 2.5"


def test_scraped_variant_characters_become_standard_simplified():
    from bot.text import to_simplified

    assert to_simplified("這標志著江西") == "这标志着江西"
