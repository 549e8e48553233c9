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

# --- Telegram ---------------------------------------------------------------------------------
WELCOME = (
    "您好！我是质量政策问答机器人。\n"
    "我可以回答质量强国、质量强省/强市、《质量发展纲要》以及每年9月全国“质量月”的相关问题，"
    "并在质量月前后提醒您。直接发送问题即可，支持简体、繁体和拼音。\n"
    "常见问题："
)
HELP_HEAD = "可用命令："
HELP_TAIL = "直接发送文字即为提问；在群组中请用 /ask 问题，或 @我 提问。"
ROLE_HEADS = {0: "", 1: "工作人员命令：", 2: "管理员命令："}
CMD_START = "开始使用"
CMD_HELP = "帮助"
CMD_ASK = "提问（群组中使用）"
CMD_POLICIES = "浏览政策"
CMD_EVENTS = "浏览活动"
CMD_SUBSCRIBE = "订阅质量月提醒"
CMD_UNSUBSCRIBE = "取消订阅"
CMD_STATS = "统计数据"
CMD_STAFF = "管理工作人员：/staff add|remove|list 用户ID"
CMD_UNANSWERED = "最近未回答的问题"
ASK_USAGE = "请在命令后写上问题，例如：/ask 质量月是每年几月？"
VOTE_THANKS = "谢谢您的反馈！"
VOTE_EXPIRED = "这条回答已无法评价。"
BUTTON_EXPIRED = "这个按钮已过期，请重新提问。"
UP = "👍 有帮助"
DOWN = "👎 没帮助"
SUBSCRIBED = "已订阅质量月提醒。每年9月质量月前后，我会把重要提醒发给您。发送 /unsubscribe 可随时取消。"
ALREADY_SUBSCRIBED = "您已经订阅了质量月提醒。发送 /unsubscribe 可取消。"
UNSUBSCRIBED = "已取消订阅，您将不再收到质量月提醒。发送 /subscribe 可重新订阅。"
NOT_SUBSCRIBED = "您当前没有订阅质量月提醒。发送 /subscribe 即可订阅。"
REFUSED_STAFF = "抱歉，此功能仅限工作人员使用。"
REFUSED_ADMIN = "抱歉，此功能仅限管理员使用。"
SLOW_DOWN = "您发送得太快了，请稍等一分钟再提问。"
APOLOGY = "抱歉，处理您的消息时出了点问题，请稍后再试。"
STAFF_USAGE = "用法：/staff add 用户ID，/staff remove 用户ID，/staff list"
STAFF_ADDED = "已将 {user} 设为工作人员。"
STAFF_EXISTS = "{user} 已经是工作人员。"
STAFF_REMOVED = "已取消 {user} 的工作人员身份。"
STAFF_MISSING = "{user} 不是工作人员。"
STAFF_LIST = "工作人员：{users}"
STAFF_NONE = "目前没有工作人员。"
STATS = (
    "统计数据\n"
    "提问总数：{questions}\n"
    "已回答：{answered}（{share}）\n"
    "评价：👍 {up} / 👎 {down}\n"
    "订阅人数：{subscribers}\n"
    "用户数：{users}"
)
STATS_TOP = "最常见的未回答问题："
UNANSWERED_HEAD = "最近未回答的问题（次数）："
UNANSWERED_NONE = "目前没有未回答的问题。"
BROWSE_HEAD = {
    "policy": "政策文件（第{page}/{pages}页）：",
    "event": "活动（第{page}/{pages}页）：",
    "faq": "常见问题（第{page}/{pages}页）：",
}
BROWSE_EMPTY = "暂无内容。"
PREVIOUS_PAGE = "‹ 上一页"
NEXT_PAGE = "下一页 ›"
NOT_TEXT = "目前我只能回答文字问题，请用文字描述您想了解的内容。"

# --- Reminders and broadcasts (staff) ---------------------------------------------------------
CMD_BROADCAST = "群发通知（先预览再确认）"
CMD_SCHEDULE = "定时提醒：/schedule YYYY-MM-DD HH:MM 内容"
CMD_REMINDERS = "查看即将发送的提醒"
CMD_CANCEL = "取消提醒或群发：/cancel 编号"
BROADCAST_USAGE = "用法：/broadcast 通知内容"
BROADCAST_PREVIEW = "群发预览（将发送给 {count} 位订阅者）：\n\n{text}"
BROADCAST_CONFIRM = "确认发送"
BROADCAST_ABORT = "取消"
BROADCAST_ABORTED = "已取消群发 {id}。"
BROADCAST_NOT_DRAFT = "群发 {id} 已经开始或已取消。"
BROADCAST_PROGRESS = "群发 {id}：已处理 {handled}/{total}（成功 {sent}，已屏蔽 {blocked}，失败 {failed}）"
BROADCAST_DONE = "群发 {id} 完成：成功 {sent}，已屏蔽 {blocked}，失败 {failed}，共 {total}。"
BROADCAST_CANCELLED = "群发 {id} 已取消：取消前成功 {sent}，已屏蔽 {blocked}，失败 {failed}，共 {total}。"
SCHEDULED = "已安排提醒 {id}：{when}（{zone}）发送给订阅者。发送 /cancel {id} 可取消。"
REMINDERS_HEAD = "即将发送的提醒："
REMINDERS_NONE = "目前没有即将发送的提醒。"
REMINDERS_MISSED = "错过的提醒（机器人停机超过宽限时间）："
REMINDER_LINE = "{id}  {when}  {text}"
CANCEL_USAGE = "用法：/cancel 编号（编号见 /reminders）"
CANCELLED = "已取消 {id}。"
CANCEL_UNKNOWN = "没有可取消的 {id}（可能已发送、已取消或编号有误）。"

# --- Knowledge updates (admins) ---------------------------------------------------------------
CMD_KB = "知识库版本、数量和最近一次修改"
CMD_RELOAD = "从磁盘重新加载知识库"
CMD_ROLLBACK = "撤销最近一次知识库修改"
UPLOAD_PROBLEMS = "文件 {name} 有问题，知识库没有任何改动：\n{problems}"
UPLOAD_SUMMARY = "文件 {name} 校验通过{replace}。将要进行的改动：\n{lines}\n确认后立即生效。"
UPLOAD_REPLACES = "（将替换现有文件）"
UPLOAD_ARTICLE = "文章：《{title}》，日期：{date}，{passages} 段"
UPLOAD_ADDED = "新增条目：{ids}"
UPLOAD_CHANGED = "修改条目：{ids}"
UPLOAD_REMOVED = "删除条目：{ids}"
UPLOAD_NOTHING = "内容与现有知识相同，没有条目变化。"
UPLOAD_CONFIRM = "确认更新"
UPLOAD_CANCEL = "取消"
UPLOAD_DONE = "已更新知识库（{record}）：{summary}\n当前版本 {version}。"
UPLOAD_CANCELLED = "已取消，知识库没有改动。"
UPLOAD_EXPIRED = "这个上传已过期或已处理，请重新发送文件。"
UPLOAD_FAILED = "更新失败，知识库保持原样：{error}"
UNKNOWN_DATE = "未知"
KB_STATUS = "知识库版本 {version}\n{counts}\n最近一次修改：{last}"
KB_NO_CHANGES = "（还没有通过机器人进行的修改）"
KB_CHANGE = "{id} {when} 由 {who} {action}：{summary}"
KB_ACTIONS = {"upload": "上传", "attach": "归入问题", "rollback": "撤销", "cli": "命令行导入"}
RELOADED = "已从磁盘重新加载知识库，当前版本 {version}：{counts}"
RELOAD_PROBLEMS = "磁盘上的知识文件有问题，继续使用原有知识（版本 {version}）：\n{problems}"
DISK_RELOADED = "知识库文件已在磁盘上修改，已自动重新加载：版本 {version}。"
ROLLBACK_NOTHING = "没有可以撤销的修改。"
ROLLBACK_PROMPT = "将撤销 {id}（{summary}），恢复之前的版本。确定吗？"
ROLLBACK_CONFIRM = "确认撤销"
ROLLBACK_DONE = "已撤销：{summary}\n当前版本 {version}。"
ROLLBACK_STALE = "这条撤销请求已过期（知识库已有新的修改），请重新发送 /rollback。"
UNANSWERED_GROUP = "{number}. {sample}（{count} 次）"
UNANSWERED_HINT = "点击按钮：把问题归入一个已有条目（作为其他问法），或忽略。"
ATTACH_TO = "{number}→ {title}"
DISMISS = "{number}. 忽略"
ATTACHED = "已把“{question}”归入“{title}”，以后会直接回答。"
DISMISSED = "已忽略：{question}"
ATTACH_FAILED = "无法归入：{error}"

# --- Storage, privacy ---------------------------------------------------------------------------
SAVE_FAILED = "抱歉，暂时无法保存，请稍后再试。（服务器存储出现问题，管理员已收到通知。）"
ALERT_DISK_FULL = (
    "⚠️ 数据库写入失败：磁盘已满。机器人仍在回答问题，但提问记录、订阅和提醒暂时无法保存，请尽快清理磁盘空间。"
)
ALERT_STORE_FAILED = (
    "⚠️ 数据库写入失败（数据库不可用）。机器人仍在回答问题，但提问记录、订阅和提醒暂时无法保存，请检查数据库。"
)
CMD_PRIVACY = "我们保存哪些数据、保存多久"
CMD_FORGET = "删除我的数据"
PRIVACY = (
    "隐私说明\n"
    "我们保存：您的 Telegram 用户编号和名字（用于统计用户数）；您提出的问题及回答是否有帮助的评价"
    "（用于改进回答，保存 {days} 天后删除，此后只保留不含内容和编号的每日统计数字）；"
    "您是否订阅了质量月提醒。没有找到答案的问题会以不记名的方式交给管理员整理，同样最多保存 {days} 天。\n"
    "发送 /forget 可随时删除您的提问、评价和订阅。"
)
FORGET_PROMPT = "将删除您的全部提问记录、评价和订阅（不可恢复）。确定吗？"
FORGET_CONFIRM = "确认删除"
FORGET_DONE = "已删除：提问 {questions} 条，评价 {votes} 条{subscription}。"
FORGET_SUBSCRIPTION = "，并取消了订阅"
FORGET_EXPIRED = "这个确认按钮已过期，请重新发送 /forget。"
NOT_YOUR_BUTTON = "这个按钮不是给您的。"
BROADCAST_EXPIRED = "这个群发预览已过期或已处理，请重新发送 /broadcast。"
BROADCAST_NOT_YOURS = "只有发起这次群发的工作人员可以确认或取消。"
