"""Every user-facing sentence, in Simplified Chinese. Faces convert to the user's script."""

from __future__ import annotations

EMPTY_QUESTION = "请输入您想了解的问题，例如：“质量月是什么时候？”"
NO_CONTENT = (
    "您好！我是质量政策问答机器人，可以回答质量强国、质量强省/强市、《质量发展纲要》"
    "和每年9月“质量月”的相关问题。请直接输入您的问题。"
)
UNKNOWN = "抱歉，我在现有资料中没有找到可靠的答案。"
UNSURE = "抱歉，我不能确定您问的是哪一项。"
NOT_A_QUESTION = "这看起来不是一个问题。请用文字描述您想了解的内容，例如：“质量月是什么时候？”"
# The knowledge has the topic, but not for the year or place asked: say so, and what it does have.
NO_RECORD = "抱歉，资料中没有{asked}的相关记录。已收录的相近资料：{known}。"
AMBIGUOUS = "资料中有几条相近的记录，您问的是哪一条？"
POINTER_HEAD = "这个问题不在质量政策问答的范围内。"
NATIONAL_LABEL = "全国"
SUGGEST_HEAD = "您是不是想问："
TRY_HEAD = "您可以试试这样问："
ALSO_HEAD = "相关问题："
SOURCE_LABEL = "来源"
CONSOLE_WELCOME = ("质量政策问答机器人（本地对话）。输入问题后回车；方向键可编辑和翻看历史；"
                   "/help 查看帮助；Ctrl-D 或 Ctrl-C 退出。")
CONSOLE_HELP = (
    "直接输入问题即可，例如：\n"
    "  质量月是每年几月？\n"
    "  《质量发展纲要》是谁颁布的？\n"
    "  2017年江西省质量月启动仪式在哪里举行？\n"
    "支持简体、繁体和拼音（如 zhiliangyue）。输入数字可选择上一条回答下方的建议问题。\n"
    "命令：/help 帮助，/quit 退出。"
)
CONSOLE_BYE = "再见！"
CLI_CONFIRM_WRITE = "确认写入 {path}？[y/N] "
CLI_CONFIRM_ROLLBACK = "确认撤销？[y/N] "
CLI_CANCELLED = "已取消，知识库没有改动。"
CLI_DRY_RUN = "试运行（--dry-run）：没有写入任何文件。"
CLI_WRITTEN = "已写入 {path}（历史记录 {record}）。"
CLI_NO_HISTORY = "还没有知识库修改记录。"
CLI_UNDONE = "（已撤销）"
DEFAULT_SUGGESTIONS = ("质量月是什么？", "《质量发展纲要》是什么？", "什么是质量强国？")


# What kind of page a source is, named after the citation so a citizen can weigh it.
SOURCE_KIND_LABELS = {"official_doc": "官方文件", "official_news": "官方发布", "media": "媒体报道",
                      "qa": "问答网站，仅供参考", "template": "范文网站，仅供参考"}


def format_source(title: str, origin: str, date: str | None, kind: str | None = None) -> str:
    details = "，".join(part for part in (origin, date, SOURCE_KIND_LABELS.get(kind or "")) if part)
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
VOTE_ALREADY = "您已经评价过这条回答了。"
VOTE_WHY = "哪里不对？"
VOTE_REASONS = ("答非所问", "信息过时", "不完整")
VOTE_REASON_NOTED = "谢谢！已记下“{reason}”，管理员会在未回答问题中查看：{question}"
CMD_WHOAMI = "查看我的用户 ID"
WHOAMI = "您的 Telegram 用户 ID：{id}\n名字：{name}\n用户名：{username}\n管理员可用 /staff add {id} 把您设为工作人员。"
NO_USERNAME = "（未设置）"
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
UNKNOWN_USER = "未知用户"
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
UNKNOWN_COMMAND = "没有 {command} 这个命令。发送 /help 查看可用命令，或直接发送您的问题。"

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
# Why a /schedule request is refused (bot.reminders.service.ScheduleError.reason).
SCHEDULE_ERRORS = {
    "usage": "格式：/schedule YYYY-MM-DD HH:MM[:SS] 提醒内容，例如 /schedule {example} 质量月今天开始",
    "no_such_time": "日期或时间不存在：{when}",
    "past": "时间已过：{when}（{zone}）。请填写将来的时间。",
    "too_far": "时间太远：{when}。提醒最多只能安排在两年之内（{limit} 之前）。",
    "too_long": "提醒内容太长（{size} 字），请控制在 {limit} 字以内。",
}
REMINDER_SENT = "您安排的提醒 {id} 已发出：成功 {sent}，已屏蔽 {blocked}，失败 {failed}，共 {total}。"
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
UPLOAD_CONVERTED = "文件编码为 {encoding}，已转换为 UTF-8 保存。"
UPLOAD_TOO_BIG = "文件太大，上限为 {limit} 字节。"
UPLOAD_DOWNLOAD_FAILED = "无法从 Telegram 下载这个文件，请稍后重新发送。"
UPLOAD_NOTHING = "内容与现有知识相同，没有条目变化。"
UPLOAD_CONFIRM = "确认更新"
UPLOAD_CANCEL = "取消"
UPLOAD_DONE = "已更新知识库（{record}）：{summary}\n当前版本 {version}。"
UPLOAD_CANCELLED = "已取消，知识库没有改动。"
UPLOAD_EXPIRED = "这个上传已过期或已处理，请重新发送文件。"
UPLOAD_FAILED = "更新失败，知识库保持原样：{error}"
FILE_CHANGED_SINCE_PLAN = "文件已被他人修改，请重新上传"
UNKNOWN_DATE = "未知"
KB_STATUS = "知识库版本 {version}\n{counts}\n最近一次修改：{last}"
KB_SOURCES = "来源：{addresses} 个不同网址；按类型：{kinds}"
SOURCE_KIND_NAMES = {"official_doc": "官方文件", "official_news": "官方发布", "media": "媒体", "qa": "问答网站",
                     "template": "范文网站", "unknown": "未标注"}
KB_NO_CHANGES = "（还没有通过机器人进行的修改）"
KB_CHANGE = "{id} {when} 由 {who} {action}：{summary}"
KB_ACTIONS = {"upload": "上传", "attach": "归入问题", "rollback": "撤销", "cli": "命令行导入"}
RELOADED = "已从磁盘重新加载知识库，当前版本 {version}：{counts}"
RELOAD_PROBLEMS = "磁盘上的知识文件有问题，继续使用原有知识（版本 {version}）：\n{problems}"
DISK_RELOADED = "知识库文件已在磁盘上修改，已自动重新加载：版本 {version}。"
ROLLBACK_NOTHING = "没有可以撤销的修改。"
ROLLBACK_PROMPT = "将撤销 {id}（{summary}），恢复之前的版本。确定吗？"
ROLLBACK_CONFIRM = "确认撤销"
ROLLBACK_DONE = "已撤销 {id}（{summary}）。\n当前版本 {version}。"
ROLLBACK_CANCEL = "取消"
ROLLBACK_STALE = "这条撤销请求已过期（知识库已有新的修改），请重新发送 /rollback。"
UNANSWERED_GROUP = "{number}. {sample}（{count} 次）"
UNANSWERED_HINT = "点击按钮：把问题归入一个已有条目（作为其他问法），或忽略。"
ATTACH_TO = "{number}→ {title}"
DISMISS = "{number}. 忽略"
ATTACHED = "已把“{question}”归入“{title}”，以后会直接回答。"
DISMISSED = "已忽略：{question}"
ATTACH_FAILED = "无法归入：{error}"

# --- Operator messages (log and terminal; bilingual because they are pasted into support requests) ---
TOKEN_REJECTED = ("启动失败：Telegram 拒绝了机器人令牌（已被吊销或填写错误），请检查 TELEGRAM_BOT_TOKEN。 / "
                  "start-up failed: Telegram rejected the bot token (revoked or mistyped); check TELEGRAM_BOT_TOKEN.")
TOKEN_REVOKED = ("Telegram 拒绝了机器人令牌（401），令牌可能已被吊销，请在 BotFather 检查。 / "
                 "Telegram rejected the bot token (401 Unauthorized): it may have been revoked; check with BotFather.")
TOKEN_STOPPED = ("已停止：Telegram 拒绝了机器人令牌（401），令牌可能已被吊销，请检查 TELEGRAM_BOT_TOKEN 后重新启动。 / "
                 "stopped: Telegram rejected the bot token (401 Unauthorized); check TELEGRAM_BOT_TOKEN and restart.")
POLLING_CONFLICT = ("接收更新冲突（409）：另一个程序正在用同一个令牌运行，同一令牌只能运行一个实例。"
                    " / getUpdates conflict (409): another process is running with this token; run only one instance.")
START_FAILED = "启动失败 / start-up failed: {error}"
STARTED = "已启动 @{username} ({mode})"
TELEGRAM_UNREACHABLE = ("无法连接 Telegram API（{reason}），{delay:g} 秒后第 {attempt} 次重试；"
                        "在中国大陆请设置 QBOT_PROXY。 / cannot reach the Telegram API ({reason}); "
                        "retry {attempt} in {delay:g}s (set QBOT_PROXY if a proxy is needed).")
KNOWLEDGE_PROBLEMS = "警告：{count} 个知识文件问题，已跳过（运行 `qbot kb check` 查看）"
KNOWLEDGE_MISSING = ("启动失败：找不到知识库文件夹 {folder}，请检查 QBOT_KNOWLEDGE_DIR 或 --knowledge。 / "
                     "start-up failed: knowledge folder {folder} not found; check QBOT_KNOWLEDGE_DIR or --knowledge.")
KNOWLEDGE_EMPTY = ("启动失败：知识库文件夹 {folder} 中没有可用的条目或文章（运行 `qbot kb check` 查看）。 / "
                   "start-up failed: knowledge folder {folder} has no usable entries or pages; run `qbot kb check`.")

# --- Knowledge file problems (admins: `kb check`, uploads, /reload, the disk watcher) -------------
# Shown as "path:line: 第N行：<problem>"; names of fields and keys stay as they are written in the file.
PROBLEM_AT = "第{line}行：{message}"
P_EMPTY = "文件是空的"
P_TOO_BIG = "文件有 {size} 字节，上限为 {limit} 字节"
P_UTF16_NO_BOM = "文件是没有字节顺序标记（BOM）的 UTF-16 文本，请另存为 UTF-8"
P_BINARY = "含有二进制数据（NUL 字节），不是文本文件"
P_BAD_BOM_TEXT = "不是有效的 {encoding} 文本（第 {byte} 字节）"
P_NOT_TEXT = "既不是有效的 UTF-8（第 {byte} 字节），也不是 GB18030/GBK 中文文本，请另存为 UTF-8"
P_NO_ARTICLE = "清理后没有剩下正文（只有导航或杂项？）"
P_NESTING_UNREADABLE = "嵌套过深，无法读取"
P_UNREADABLE = "无法读取"
P_SECOND_CALENDAR = "第二个日历文件：只使用 {first}"
P_DUPLICATE_ID = "编号“{id}”重复（第一次出现在 {where}）"
P_FOLDER_MISSING = "找不到知识库文件夹"
W_ID_TOO_LONG = ("警告：{path}：编号“{id}”有 {size} 字节，放不进 Telegram 按钮数据（上限 {limit} 字节，含“{prefix}”），"
                 "按钮将改用短码；建议把编号缩短到 {room} 字节以内。")
P_ALIASES = "知识文件中不允许使用锚点和别名（&、*）"
P_TOO_MANY_NODES = "文件过大：YAML 节点超过 {limit} 个"
P_TOO_DEEP = "嵌套超过 {limit} 层"
P_DUPLICATE_KEY = "键“{key}”重复"
P_BAD_CHARACTER = "YAML 错误：不允许的字符 {character}"
P_YAML_SYNTAX = "YAML 语法错误：{detail}"
P_YAML_OTHER = "YAML 错误：{detail}"
P_UNKNOWN_TOP_ENTRIES = "未知的顶层键“{key}”（只能有 'entries'）"
P_NEED_ENTRIES = "顶层应是 'entries:' 列表"
P_ENTRY_NOT_MAPPING = "每个条目都应是由字段组成的映射"
P_FIELD_ERROR = "字段“{name}”：{error}"
P_BAD_ENTRY_DATE = "日期 {value} 有误：请写成 YYYY-MM-DD、YYYY-MM 或 YYYY"
P_BAD_DATE_DETAIL = "日期 {value} 有误：{error}"
P_BAD_ENTRY_ID = "编号 {value} 有误：只能使用小写字母、数字、'-' 和 '_'"
P_BAD_YEAR = "年份 {value} 有误：请写数字，例如 2017"
P_MUST_BE_TEXT = "字段“{name}”必须是文字"
P_MUST_NOT_BE_EMPTY = "字段“{name}”不能为空"
P_TEXT_TOO_LONG = "字段“{name}”有 {length} 个字，上限为 {limit} 个"
P_MUST_BE_LIST = "字段“{name}”必须是文字列表"
P_EMPTY_ITEM = "字段“{name}”有空的项"
P_BAD_SOURCE = "字段 'source' 必须是映射，至少包含 'title' 和 'origin'"
P_UNKNOWN_SOURCE_FIELD = "未知字段“source.{name}”（可用：{allowed}）"
P_BAD_SOURCE_KIND = "source.kind {value} 有误：请写 {kinds} 之一"
# lexicon.yaml and pointers.yaml
P_NEED_WORD_LIST = "“{name}”必须是词语列表"
P_EMPTY_WORD = "“{name}”：每一项都必须是非空的词语"
P_WORD_TOO_LONG = "“{name}”：“{word}”超过 {limit} 个字"
P_NEED_SYNONYM_GROUPS = "“synonyms”必须是词组列表"
P_SYNONYM_GROUP_TOO_SMALL = "“synonyms”：每组至少要有两个词"
P_NEED_ASKED_MAP = "“asked”必须把一种问法对应到提问用词"
P_UNKNOWN_ASKED_KIND = "未知的问法“{kind}”（可用：{kinds}）"
P_UNKNOWN_LEXICON_KEY = "未知的键“{key}”（可用：{allowed}）"
P_NEED_LEXICON_MAP = "应是词表的映射（terms:、stopwords:、synonyms:、asked: …）"
P_UNKNOWN_TOP_POINTERS = "未知的顶层键“{key}”（只能有 'pointers'）"
P_NEED_POINTERS = "顶层应是 'pointers:' 列表"
P_POINTER_NOT_MAPPING = "每个指引都应是由字段组成的映射"
P_EMPTY_POINTER_FIELDS = "id、topic、answer 和 keywords 都不能为空"
P_DUPLICATE_POINTER = "指引编号“{id}”重复"
P_BAD_TYPE = "字段 'type' 必须是 {types} 之一，不能是 {value}"
P_MISSING_TYPE = "缺少必填字段 'type'"
P_UNKNOWN_FIELD = "未知字段“{name}”{hint}"
P_ONLY_FOR = "（只用于 {kind} 条目）"
P_MISSING_FIELD = "缺少必填字段“{name}”"
P_SINGLE_VALUE = "字段“{name}”必须是单个值，不能是列表或映射"
P_BAD_CAL_ID = "编号 {value} 有误：最多 {limit} 个小写字母、数字、'-' 或 '_'"
P_BAD_MONTH_DAY = "日期 {value} 有误：请写成 MM-DD，例如 \"08-25\"（提醒每年重复）"
P_BAD_MONTH = "月份 {value} 有误：请写 1 到 12 的数字"
P_BAD_WEEKDAY = "星期 {value} 有误：请写 monday..sunday 或 周一..周日"
P_BAD_TIME = "时间 {value} 有误：请用 24 小时制 HH:MM，例如 \"09:00\""
P_CAL_TEXT_TOO_LONG = "字段 'text' 有 {length} 个字，上限为 {limit} 个"
P_UNKNOWN_PLACEHOLDER = "'text' 中有未知占位符 {listed}（可用：{allowed}）"
P_UNMATCHED_BRACE = "'text' 中有不成对的 '{{' 或 '}}'（可用占位符：{allowed}）"
P_THEMES_NOT_MAPPING = "'themes' 必须是“年份: 主题”的映射"
P_BAD_THEME_YEAR = "主题年份 {value} 有误：请写 {first} 到 {last} 之间的年份"
P_EMPTY_THEME = "{year} 年的主题是空的"
P_THEME_TOO_LONG = "{year} 年的主题有 {length} 个字，上限为 {limit} 个"
P_UNKNOWN_CAL_FIELD = "未知字段“{name}”（可用：{allowed}）"
P_DATE_AND_WEEKDAY = "请使用 'date' 或 'month' + 'weekday' 其中一种，不能同时使用"
P_NEEDS_OTHER = "'{name}' 还需要 '{other}'（或用 'date: \"MM-DD\"' 表示固定日期）"
P_MISSING_WHEN = "缺少 'date'（或 'month' + 'weekday'）：这条提醒什么时候发送？"
P_NEED_REMINDERS_MAP = "顶层应是 'reminders:' 列表（可另加 'themes:'）"
P_UNKNOWN_TOP_CALENDAR = "未知的顶层键 {key}（应为 'reminders'，可另加 'themes'）"
P_NEED_REMINDERS = "顶层应是 'reminders:' 列表"
P_REMINDER_NOT_MAPPING = "每条提醒都应是由字段（id、date、time、text 等）组成的映射"
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
    "您选择“转人工”时，问题连同您的名字会转给工作人员，记录同样最多保存 {days} 天。\n"
    "工作人员可以导出统计表格（提问、评价、群发结果、人工咨询），表格中的用户以代号表示，不含您的编号和名字。\n"
    "发送 /forget 可随时删除您的提问、评价、人工咨询记录和订阅。"
)
FORGET_PROMPT = "将删除您的全部提问记录、评价和订阅（不可恢复）。确定吗？"
FORGET_CONFIRM = "确认删除"
FORGET_DONE = "已删除：提问 {questions} 条，评价 {votes} 条{subscription}。"
FORGET_SUBSCRIPTION = "，并取消了订阅"
FORGET_EXPIRED = "这个确认按钮已过期，请重新发送 /forget。"
NOT_YOUR_BUTTON = "这个按钮不是给您的。"
BROADCAST_EXPIRED = "这个群发预览已过期或已处理，请重新发送 /broadcast。"
BROADCAST_NOT_YOURS = "只有发起这次群发的工作人员可以确认或取消。"

# A calendar reminder's {theme_line}, when the calendar knows that year's theme.
THEME_LINE = "今年“质量月”的主题是“{theme}”。"

# Why an uploaded file is not even looked at (bot.curation.uploads.UploadRefused.reason).
UPLOAD_REFUSED = {
    "too_big": "文件太大（{size} 字节），上限为 {limit} 字节。",
    "unsafe_name": "文件名“{name}”不安全：只能包含文字、数字、空格、-_.()，不能含路径。",
    "file_type": "不支持的文件类型“{suffix}”：请上传 .yaml、.yml、.txt 或 .md 文件。",
}
NO_SUFFIX = "无扩展名"


def upload_refused(reason: str, values: dict) -> str:
    shown = {**values, "suffix": values.get("suffix") or NO_SUFFIX} if reason == "file_type" else values
    return UPLOAD_REFUSED[reason].format(**shown)

# How a knowledge change is summed up in its history record (shown by /kb, /rollback, `kb history`).
HISTORY_SUMMARY = "{path}：{parts}"
HISTORY_ARTICLE = "文章《{title}》{passages}段"
HISTORY_COUNTS = ("新增{count}条", "修改{count}条", "删除{count}条")
HISTORY_UNCHANGED = "内容未变"
HISTORY_UNDO = "撤销 {id}：{summary}"
KNOWLEDGE_UNAVAILABLE = {"missing": KNOWLEDGE_MISSING, "empty": KNOWLEDGE_EMPTY}

# A page's own 今年/去年 shown with the page's year (or said to be undated); a template's 20xx hidden.
DATED_RELATIVE = "{word}（{year}年）"
UNDATED_RELATIVE = "{word}（原文未注明年份）"
SOME_YEAR = "某年"
MORE_PROBLEMS = "……另有 {more} 个问题"
LEGACY_NOTICE = ("注意 / notice: {legacy} is the old TinyDB database and has not been imported; "
                 "stop the bot and run `python run_bot.py db import {legacy}`")

# kb check: two entries stating one fact differently (bot.knowledge.conflicts).
CONFLICT_LINE = ("冲突：{year}年{region}的{field}有不同说法：{said}。"
                 "回答采用来源更权威的 {winner}，请核实后修改或删除另一条。")
CONFLICT_SIDE = "{path}:{line} {id}（{kind}）“{value}”"
CONFLICT_FIELDS = {"theme": "质量月主题"}
# --- Statistics over time, exports (staff) ------------------------------------------------------
CHART_TITLE = "近 {days} 天的提问情况"
CHART_DAILY = "每日提问数"
CHART_QUESTIONS = "提问"
CHART_ANSWERED = "已回答"
CHART_SHARE = "每日回答率（%）"
CHART_VOTES = "各条目的评价（赞 / 踩）"
CHART_UP = "赞"
CHART_DOWN = "踩"
CHART_THEMES = "最常见的未回答问题"
CHART_NONE = "暂无数据"
EXPORT_HEADERS = {
    "questions": ("编号", "时间", "用户代号", "问题", "已回答", "匹配分", "来源"),
    "unanswered": ("编号", "问题", "次数", "首次", "最近", "状态"),
    "votes": ("回答编号", "时间", "用户代号", "有帮助", "来源"),
    "deliveries": ("群发编号", "来源", "用户代号", "结果", "时间"),
    "handoffs": ("编号", "时间", "用户代号", "问题", "状态", "回复时间", "回复次数"),
}
EXPORT_USAGE = "用法：/export（近30天），/export 7d，/export 2026-11-01 2026-11-30"
CMD_EXPORT = "导出CSV：/export [7d|30d|开始日期 结束日期]"
STATS_WINDOW = ("近{days}天：提问 {questions}，已回答 {answered}（{share}），👍 {up} / 👎 {down}，"
                "人工咨询待回复 {waiting}，已回复 {handled}")
STATS_WINDOW_BUTTON = "近{days}天"
STATS_HANDOFFS = "人工咨询待回复：{waiting}"
STATS_CHART_FAILED = "图表生成失败，以上为文字统计。"
EXPORT_DONE = ("导出 {label}：{files} 个CSV文件（UTF-8，可用 Excel 打开）。提问原文只保留 {days} 天，"
               "更早的只剩每日统计数字；用户以代号表示，不含 Telegram 编号和名字。")
EXPORT_FAILED = "导出失败，请稍后再试。"

# --- Hand-off to a person ---------------------------------------------------------------------
HANDOFF_BUTTON = "🙋 转人工"
HANDOFF_SENT = "已转给工作人员（人工作答），他们回复后我会在这里转告您。编号：#{id}"
HANDOFF_NEEDS_QUESTION = "请在“转人工”后写上您的问题，例如：转人工：我们企业怎样申报质量奖？"
HANDOFF_OFF = "抱歉，目前没有开通人工咨询。您可以换个方式提问，或发送 /help 查看帮助。"
HANDOFF_TOO_MANY = "您已有几条人工咨询在等待回复，请耐心等待工作人员答复。"
HANDOFF_FAILED = "抱歉，暂时无法转给工作人员，请稍后再试。"
HANDOFF_STAFF = ("🙋 人工咨询 #{id}\n用户：{user}\n问题：{question}\n\n"
                 "请直接回复（引用）本消息作答，回复会以“工作人员回复”转给用户。")
HANDOFF_ANSWER = "👤 工作人员回复（人工作答，咨询 #{id}）：\n{text}"
HANDOFF_RELAYED = "✅ 已转达给用户（人工咨询 #{id}）。"
HANDOFF_UNDELIVERABLE = "未能转达：用户已屏蔽机器人或删除了对话（人工咨询 #{id}）。"
HANDOFF_NOT_A_HANDOFF = "这条消息不是人工咨询，回复无法转达。请回复（引用）“🙋 人工咨询”消息。"
HANDOFF_TEXT_ONLY = "只能转达文字回复。"

# --- Operations -------------------------------------------------------------------------------
ALERT_ERROR = "⚠️ 处理消息时出错：{kind}（{where}）。详情见日志；同类错误一小时内不再提醒。"
