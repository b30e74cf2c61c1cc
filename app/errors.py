"""Domain errors carry their HTTP status; one handler renders them all in one body shape.

Body: {"code", "message", "field"} plus "errors" (a list of the same shape) when there are several.
"""

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: list["AppError"] | None = None,
        headers: dict[str, str] | None = None,
        after_rollback: Callable[[Session], None] | None = None,
        persist: bool = False,
        message_zh: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.given_zh = message_zh
        self.field = field
        self.errors = errors or []
        self.headers = headers or {}
        # Work that must persist although the request fails (e.g. counting a failed login);
        # the session dependency runs it in a new transaction after rolling back.
        self.after_rollback = after_rollback
        # The request fails, but what it wrote stands (a failed login counts, under the row lock).
        self.persist = persist

    def body(self) -> dict[str, Any]:
        body = self.item()
        if self.errors:
            body["errors"] = [e.item() for e in self.errors]
        return body

    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = {"code": self.code, "message": self.message, "field": self.field}
        chinese = self.given_zh or message_zh(self.message)
        if chinese is not None:
            item["message_zh"] = chinese
        return item


# The refusals the web app's users meet most, in Chinese (`message_zh` beside the API's English `message`,
# which integrators read). A pattern's groups carry the values the English names (a report's id, a count).
# tests/test_error_messages_zh.py checks every pattern still matches a message the code writes.
CHINESE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(english), chinese)
    for english, chinese in (
        (r"^ID number must have 18 characters", "身份证号必须是 18 位"),
        (r"^ID number must be 17 digits followed by a digit or X", "身份证号必须是 17 位数字加 1 位数字或 X"),
        (r"^ID number checksum \(GB 11643\) does not match", "身份证号校验位不对（GB 11643），请核对每一位"),
        (r"^ID number begins with \d+, which is not", "身份证号前 6 位不是中国的行政区划代码（GB/T 2260）"),
        (r"^ID number encodes a birth date that does not exist", "身份证号中的出生日期不存在"),
        (r"^ID number encodes an impossible birth date", "身份证号中的出生日期不可能"),
        (r"^phone must be an 11-digit mobile", "电话须为 11 位手机号或带区号的座机号"),
        (r"^a disabled member needs a disability grade", "健康状况为残疾时，须填写残疾等级（1–4 级）"),
        (r"^a disability grade is only for a member whose health is", "只有健康状况为残疾时才填写残疾等级"),
        (r"^period_end must not be before period_start", "结束日期不能早于开始日期"),
        (r"^a report covers at most 12 months", "一份报告最多覆盖 12 个月"),
        (
            r"^the period overlaps report (\d+); to correct it, send supersedes",
            r"这段时间与已存的报告（编号 \1）重叠；如要更正那份报告，请选择“更正”",
        ),
        (r"^the period overlaps another report in this batch", "这段时间与同批的另一份报告重叠"),
        (r"^(\d+) report error\(s\); nothing was stored", r"\1 处有误，报告没有保存"),
        (r"^client_ref was already used for a different report", "这份草稿已用不同的内容发送过"),
        (
            r"^a correction must cover the period of the report it supersedes",
            "更正的报告须覆盖原报告的时间段",
        ),
        (r"^that report was already superseded", "那份报告已被更正过"),
        (r"^an event must not be after the report's period_end", "事件日期不能晚于报告的结束日期"),
        (r"^the household's signed consent is required", "入户核实前须由农户签署承诺授权书"),
        (r"^each risk type once", "每种风险类型只能选一次"),
        (r"^date must not be in the future", "日期不能晚于今天"),
        (r"^date must not be before (\S+)", r"日期不能早于 \1"),
        (r"^date must not be after (\S+)", r"日期不能晚于 \1"),
        (r"^required for a natural disaster", "自然灾害须填写"),
        (r"^only for a natural disaster", "只有自然灾害才填写"),
        (r"^the record was changed by someone else", "这条记录已被他人修改，请重新读取后再改"),
        (r"^household number \S+ is already registered", "这个户编号已经登记过"),
        (r"^this person is already registered in another household", "此人已登记在另一户"),
        (r"^this person is already an active member of household (\S+)", r"此人已是户 \1 的成员"),
        (r"^the change conflicts with stored data", "与已存的数据冲突，请重新读取后再试"),
        (r"^required to confirm an identification \(1 to 5\)", "认定为监测对象须选择风险类型（1 至 5 项）"),
        (r"^required to confirm an identification", "认定为监测对象须选择监测类别"),
        (r"^the visit is on or after (\S+), when verification", r"入户核实日期不能早于 \1（核实开始之日）"),
        (r"^the review is on or after the visit \((\S+)\)", r"民主评议日期不能早于入户核实日期（\1）"),
        (
            r"^the notice starts between the review \((\S+)\) and (\d+) days",
            r"公示开始日期须在民主评议（\1）之后、\2 天之内",
        ),
        (r"^the public notice runs until (\S+): approval", r"公示到 \1 结束，之后才能审核通过"),
        (r"^user \d+ works outside this case's region", "此人不在这个案件的辖区"),
        (r"^user \d+ cannot take the step", "此人不能办理这一环节"),
        # an import's problems (app/services/imports), as the district office reads them
        (r"^required; the cell is empty", "必须填写，此格为空"),
        (
            r"^unknown value (\S+); expected one of (\S+) \(or a translation",
            r"无法识别的值 \1；应为 \2 之一（或在映射文件中加一条对照）",
        ),
        (r"^(\S+) is neither yes nor no", r"\1 不是“是”或“否”"),
        (r"^not a date in the mapping's formats", "不是映射文件所列格式的日期"),
        (r"^(\S+) is not between 1900-01-01 and today", r"日期 \1 不在 1900-01-01 至今天之间"),
        (r"^(\S+) is not an amount in yuan", r"\1 不是以元为单位的金额"),
        (r"^an amount is between 0 and 999,999,999,999.99 yuan", "金额须在 0 至 999,999,999,999.99 元之间"),
        (r"^an amount has at most 2 decimals", "金额最多两位小数（分）"),
        (r"^(\S+) is not a whole number", r"\1 不是整数"),
        (r"^a whole number from (\d+) to (\d+)", r"须为 \1 至 \2 的整数"),
        (
            r"^the year (\d+) is not over: import a year's income",
            r"\1 年尚未结束：年度收入须在该年结束后导入",
        ),
        (r"^unknown risk type (\S+); risk types are", r"无法识别的风险类型 \1"),
        (r"^one to five risk types, each once", "风险类型为 1 至 5 项，每项一次"),
        (r"^a household number is 1 to 32 letters", "户编号为 1 至 32 位字母、数字或连字符"),
        (r"^a village code is the 12-digit", "村代码须为 12 位统计用区划代码"),
        (r"^the ID number says (\S+), the row (\S+)", r"身份证号显示为“\1”，此行填写为“\2”"),
        (
            r"^household (\S+)'s rows must be together; it began on line (\d+)",
            r"户 \1 的各行须排在一起；它从第 \2 行开始",
        ),
        (r"^differs from line (\d+) of the same household", r"与同户第 \1 行不一致"),
        (r"^no such village in the county", "本县（区）没有这个村"),
        (r"^a household has at most (\d+) members", r"一户最多 \1 人"),
        (r"^the household has no head \(户主\)", "这户没有户主"),
        (r"^a second head \(户主\); the first is on line (\d+)", r"第二个户主；第一个在第 \1 行"),
        (r"^the same person as line (\d+)", r"与第 \1 行是同一个人"),
        (r"^the same person is in household (\S+) \(line (\d+)\)", r"此人也在户 \1（第 \2 行）"),
        (r"^the person is an active member of household (\S+)", r"此人已是户 \1 的成员"),
        (r"^a monitoring record needs its category", "监测记录须填写监测对象类别"),
        (r"^(\S+) does not fit the household type (\S+)", r"“\1”与户类型“\2”不符"),
        (r"^required for a monitored household", "监测对象须填写"),
        (
            r"^no household was identified before (\S+) \(the mechanism",
            r"\1 之前没有识别过监测对象（机制自此开始）",
        ),
        (r"^required when the risk is eliminated", "风险已消除时须填写"),
        (r"^an elimination date needs 是 here", "填写了风险消除时间，此处须为“是”"),
        (r"^before the identification date", "早于识别监测时间"),
        (r"^required with the household's income figures", "填写了收入时须一并填写"),
        (
            r"^因病 needs compliant out-of-pocket medical spending",
            "因病须有合规自付医疗支出（近 12 个月内，或导入文件的收入年度）",
        ),
        (r"^因务工就业不稳 needs a member able to work", "因务工就业不稳须有能劳动的成员，这户没有"),
        (
            r"^缺劳动力 applies when at most ¼ of members can work; (\d+) of (\d+) can",
            r"缺劳动力须至多四分之一的成员能劳动；这户 \2 人中有 \1 人能劳动",
        ),
        (r"^household (\S+) is registered in another village", r"户 \1 登记在另一个村"),
        (
            r"^kept (\S+): a household type changes by a correction the",
            r"保留“\1”：户类型须经乡镇审批的更正修改",
        ),
        (
            r"^kept as left on (\S+): correct the leaving in Shouwang",
            r"保留为 \1 已离开本户：如有误，请在守望中更正",
        ),
        (
            r"^kept Shouwang's record \((\S+)\): once monitored",
            "保留守望中的监测记录：纳入监测后，记录须通过案件修改",
        ),
        (
            r"^a school level is required for, and only for, a member in school",
            "在校生须填写、且只有在校生才填写就读学段",
        ),
        (
            r"^a dropout reason is required for, and only for, a member who dropped out",
            "辍学的须填写、且只有辍学的才填写辍学原因",
        ),
        (r"^migrant months are only for a member in migrant work", "只有外出务工的才填写务工时间"),
        (
            r"^the registry has another head \(户主\): record the head leaving",
            "登记中的户主是另一人：请先在守望中登记原户主离开，并指定新户主",
        ),
        (
            r"^none of these people is a member of registered household (\S+): ",
            r"这些人都不是已登记的户 \1 的成员：请核对户编号",
        ),
        (
            r"^this household's rows must be together; they continue on line (\d+)",
            r"这户的各行须排在一起；第 \1 行还有这户的人",
        ),
        (
            r"^the ID number is stored as a number in Excel, which keeps only 15 digits",
            "身份证号在 Excel 中存成了数字，只保留 15 位：请把这一列设为文本后重新填写",
        ),
        (
            r"^the mapping translates (\S+) to (\S+), not one of its values",
            r"映射文件把 \1 对照成了 \2，这不是它的取值之一",
        ),
        (r"^row (\d+) lacks the mapping's columns: (\S+)", r"第 \1 行缺少映射文件所列的列：\2"),
        (r"^the file is not a readable XLSX workbook", "文件不是可读取的 Excel（xlsx）工作簿"),
        (
            r"^no sheet has a row (\d+) with the mapping's columns",
            r"没有哪张工作表的第 \1 行是映射文件所列的表头",
        ),
        (r"^the workbook has no sheet (\S+); its sheets", r"工作簿中没有工作表 \1"),
        (
            r"^the file is not text in (\S+) \(see the mapping's encoding\)",
            r"文件不是 \1 编码的文本（请改映射文件的 encoding，如 gb18030）",
        ),
        (
            r"^line (\d+) is not text in (\S+)",
            r"第 \1 行不是 \2 编码的文本（请改映射文件的 encoding，如 gb18030）",
        ),
        (
            r"^the file is neither an XLSX workbook nor a CSV text",
            "文件既不是 Excel（xlsx）工作簿，也不是 CSV 文本",
        ),
        (r"^columns appear twice: (\S+)", r"这些列出现了两次：\1"),
        (r"^the file has no row (\d+)", r"文件没有第 \1 行"),
        (r"^the mapping is not valid YAML", "映射文件不是有效的 YAML"),
        (r"^the mapping is invalid at (\S+)", r"映射文件有误（\1）"),
    )
)


def message_zh(message: str) -> str | None:
    """The Chinese of a known refusal, or None."""
    for pattern, chinese in CHINESE:
        found = pattern.match(message)
        if found:
            return found.expand(chinese)
    return None


class Invalid(AppError):
    status_code = 422
    code = "invalid"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class TooLarge(AppError):
    status_code = 413
    code = "too_large"


class UnsupportedMedia(AppError):
    status_code = 415
    code = "unsupported_media_type"


class PreconditionFailed(AppError):
    status_code = 412
    code = "precondition_failed"


class PreconditionRequired(AppError):
    status_code = 428
    code = "precondition_required"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"


def combine(errors: list[AppError], message: str) -> AppError:
    """One error for several: 422 if any is invalid input, else 404 if any is unknown, else 409."""
    for cls in (Invalid, NotFound, Conflict):
        if any(isinstance(e, cls) for e in errors):
            first = next(e for e in errors if isinstance(e, cls))
            return cls(message, field=first.field, errors=errors)
    return Invalid(message, field=errors[0].field, errors=errors)
