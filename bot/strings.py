"""Every user-facing sentence, in Simplified Chinese. Faces convert to the user's script."""

from __future__ import annotations

EMPTY_QUESTION = "请输入您想了解的问题，例如：“质量月是什么时候？”"
NO_CONTENT = (
    "您好！我是质量政策问答机器人，可以回答质量强国、质量强省/强市、《质量发展纲要》"
    "和每年9月“质量月”的相关问题。请直接输入您的问题。"
)
UNKNOWN = "抱歉，我在现有资料中没有找到可靠的答案。"
UNSURE = "抱歉，我不能确定您问的是哪一项。"
SUGGEST_HEAD = "您是不是想问："
TRY_HEAD = "您可以试试这样问："
ALSO_HEAD = "相关问题："
SOURCE_LABEL = "来源"
SCORE_LABEL = "匹配度"
CONSOLE_WELCOME = "质量政策问答机器人（本地对话）。输入问题后回车；/help 查看帮助；Ctrl-D 退出。"
CONSOLE_HELP = (
    "直接输入问题即可，例如：\n"
    "  质量月是每年几月？\n"
    "  《质量发展纲要》是谁颁布的？\n"
    "  2017年江西省质量月启动仪式在哪里举行？\n"
    "支持简体、繁体和拼音（如 zhiliangyue）。输入数字可选择上一条回答下方的建议问题。\n"
    "命令：/help 帮助，/quit 退出。"
)
CONSOLE_BYE = "再见！"
DEFAULT_SUGGESTIONS = ("质量月是什么？", "《质量发展纲要》是什么？", "什么是质量强国？")


def format_source(title: str, origin: str, date: str | None) -> str:
    details = "，".join(part for part in (origin, date) if part)
    return f"《{title}》（{details}）" if details else f"《{title}》"
