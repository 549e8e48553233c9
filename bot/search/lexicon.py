"""Word lists the query analysis needs: function words, question frames and answer-type cues.

All entries are in the canonical (Simplified, lower-case) form produced by bot.text.normalise.
"""

from __future__ import annotations

import re

# Function words and chat filler: they carry no topic, so they neither find nor confirm an answer.
STOPWORDS = frozenset(
    """
    后来 之后 以后 最后 的 了 是 在 和 与 及 或 也 都 就 还 又 并 而 但 把 被 让 给 对 从 向 为 以 于
    之 其 该 这 那 哪 此 些 个 吗 呢 吧 啊 呀 哦 嘛 么 着 过 得 地 很 太 最 更 再
    才 只 能 会 要 想 可 可以 可能 应该 需要 请 请问 问 问下 问一下 一下 下 我 你 您 他
    她 它 我们 你们 他们 咱们 大家 自己 有 有没有 没有 没 不 是不是 是否 吗 什么 啥 怎么
    怎么样 怎样 如何 为什么 为何 多少 几 几个 哪个 哪些 哪里 哪儿 哪天 哪年 哪位 谁 何时
    何地 什么样 多久 多大 多长 多少钱 多少人 多少家 多少个 几年 几月 几天 几次 几家 几项
    几个月 告诉 知道 了解 介绍 说说 讲讲 查 查询 帮 帮我 帮忙 麻烦 一下子 呢 么 呗 哈 嗯
    好 你好 您好 谢谢 感谢 hi hello 嗨 早上好 晚上好 这个 那个 这次 那次 那场 这场
    那些 这些 这里 那里 一个 一些 一张 一种 当时 当年 现在 目前 今年 去年 曾经 已经 举行
    举办 开展 进行 活动 相关 有关 关于 方面 情况 具体 主要 都是 分别 还有 以及 等 等等 呀
    哇 么样 如何是好 是谁 叫 叫做 称为 指 指的是 意思 含义 内容 包括 包含 哪几个 哪几 哪五个
    哪三个 哪六个 哪四个 哪两个 的话 到底 究竟 一共 总共 共 有多少 怎么回事
    """.split()
)

# Nouns that name what is asked ("the *title* of the lecture"), not what it is about. They are not
# expected in the answer's wording, so they neither count for nor against a candidate.
FRAME_WORDS = frozenset(
    """
    题目 名称 名字 标题 期限 年限 时间 时候 日期 日子 地点 场所 人数 数量 数目
    金额 钱 费用 规模 期间 时段 年份 月份 号 哪一天 哪一年 什么时候 几号 日 成员 组成 目的
    作用 原因 每年 每年度 文件 政策文件 文件名 全称 简称 具体内容
    """.split()
)

# Question words that say which kind of fact the citizen wants; a sentence that holds such a fact
# is preferred when picking the answer.
CUE_PATTERNS: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"多少|几[个位家项名次年天人场届份条种万]|数量|人数|金额|钱|规模|比例|百分"),
    "day": re.compile(r"哪天|哪一天|几号|几月几[日号]|什么日子|何日|具体日期"),
    "date": re.compile(r"何时|什么时候|几月|哪年|哪一年|日期|时间|期限|年限|哪几年|每年"),
    "place": re.compile(r"哪里|哪儿|在哪|何地|地点|什么地方|哪个城市|哪座城市|哪个市"),
    "person": re.compile(r"谁|何人|哪位|什么人|哪个人|[长记任授者人员]叫什么|[长记任授者人员]的?名字"),
    "title": re.compile(r"题目|名称|标题|哪份|文件|哪部|什么书|(讲座|报告|文章|书|文件|课程)叫什么"),
    "theme": re.compile(r"主题|口号|标语"),
    "organisation": re.compile(r"哪所|哪个大学|哪家|哪个部门|哪个单位|哪个机构|什么机构"),
    "list": re.compile(r"哪些|哪几|哪[一二两三四五六七八九十\d]+[个项大条种类]|分别|包括什么|有什么|"
                       r"[一二两三四五六七八九十\d]+[大个项条种类]"),
}

# What a sentence must hold for each cue to count as answered.
CUE_EVIDENCE: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"\d|[一二两三四五六七八九十百千万]+[个位家项名次年天月人场届份条种万]"),
    "day": re.compile(r"\d{1,2}月\d{1,2}日|[一二三四五六七八九十]+月[一二三四五六七八九十]+日"),
    "date": re.compile(r"\d{1,2}月|\d{4}|[一二三四五六七八九十]+月"),
    "place": re.compile(r"在.{1,12}(举行|召开|开展|举办|拉开|签订)|[省市县区镇]"),
    "person": re.compile(
        r"(局长|市长|省长|书记|教授|主任|同志|副市长|副局长|副校长|校长|专家|主编)[\u4e00-\u9fff]{2,3}|"
        r"[\u4e00-\u9fff]{2,3}(局长|市长|省长|书记|教授|主任|同志)|主持|宣布|颁布|印发|出台"
    ),
    "title": re.compile(r"《[^》]+》"),
    "theme": re.compile(r"“[^”]+”|\"[^\"]+\""),
    "organisation": re.compile(r"大学|学院|研究院|国务院|政府|[局委厅部办]|公司|集团|协会|中心"),
    # Three or more short items in one clause: "知识产权战略、标准化战略、品牌战略".
    "list": re.compile(
        r"[^、,，。;；]{1,14}、[^、,，。;；]{1,14}[、和及与][^、,，。;；]{1,14}|一是.*二是|[;；].*[;；]"
        r"|(“[^”]{1,14}”[、]?){3,}|(《[^》]{1,30}》[、]?){2,}"
    ),
}

# Generic nouns that only name the kind of answer after a question word: 哪个*部门*, 什么*机构*.
ASKED_KINDS = frozenset("部门 单位 机构 组织 地方 城市 人 领导 文件 时候 时间 位置 名字 东西 方面 内容".split())
QUESTION_WORDS = frozenset("哪个 哪些 什么 哪家 哪所 哪位 哪 哪几个 何 什么样".split())

CHINESE_DIGITS = {"一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7",
                  "八": "8", "九": "9", "十": "10"}

# Words citizens use for what pages say differently. A question word counts as found when any
# word of its group is there. Kept small and general: each group is one meaning, not a topic.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("奖金", "奖励", "奖金额"),
    ("改成", "改为", "调整为", "更名为", "改名为", "变成", "改名", "更名"),
    ("听", "聆听", "听讲", "参加"),
    ("主持人", "主持"),
    ("参加", "参与", "出席"),
    ("发布", "印发", "颁布", "出台", "发布实施", "颁布实施"),
    ("开始", "启动", "开幕", "拉开帷幕"),
    ("获奖", "获得", "授予"),
    ("签订", "签署", "签约"),
    ("组成", "构成"),
    ("目标", "任务"),
    ("提到", "提高到", "提升到", "增加到", "提高至", "提升至"),
    ("口号", "主题"),
    ("领导", "负责人"),
    ("政策", "政策文件", "意见", "办法", "规定", "措施", "纲要"),
)

# A title that the page gives with 副 ("副市长") is not the title asked for ("市长").
TITLES = ("长", "书记", "主任", "主席", "组长", "校长", "秘书长")
