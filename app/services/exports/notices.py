"""The village's public notice (公示) of the households at the notice step: who (the head's name, as the
policy allows), what is proposed, the notice period and where to object — and nothing else: no ID
number, phone, health, income or risk type ever reaches the paper on the village's wall."""

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import local_today
from app.errors import Invalid, NotFound
from app.models import Case, Household, Member, Region
from app.models.enums import CaseStep, Relation, Role
from app.services.platform import access
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor

# Adobe-GB1's standard Song face: every PDF reader in China carries it, so nothing is embedded or fetched
FONT = "STSong-Light"
READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer, Role.admin})
PROPOSED = {"identification": "拟纳入防止返贫监测对象", "elimination": "拟标注风险消除"}
LEAD_DAYS = 7  # a notice is printed for a start up to a week ahead, as the case's notice step allows


@dataclass(frozen=True, slots=True)
class NoticeLine:
    head: str
    size: int
    household_type: str
    proposed: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True, slots=True)
class Notice:
    township: str
    village: str
    kind: str  # identification | elimination | both
    starts_on: date
    ends_on: date
    lines: list[NoticeLine]
    contact: str

    @property
    def one_period(self) -> bool:
        return len({(line.starts_on, line.ends_on) for line in self.lines}) == 1


def gather(session: Session, actor: Actor, village_code: str, starts_on: date | None) -> Notice:
    """The village's households at the notice step (to be posted from `starts_on`, default today) and those
    whose notice is running (the period their case recorded)."""
    access.require_role(actor, READERS, "printing a public notice")
    visible = session.scalar(access.visible_village_codes(actor).where(Region.code == village_code))
    village = session.get(Region, village_code)
    if visible is None or village is None:
        raise NotFound(f"village {village_code} not found", field="village_code")
    today = local_today()
    start = starts_on or today
    if not today - timedelta(days=LEAD_DAYS) <= start <= today + timedelta(days=LEAD_DAYS):
        raise Invalid(f"the notice starts within {LEAD_DAYS} days of today", field="starts_on")
    township = session.get(Region, village.parent_code or "")
    _, policy = policy_service.current_data(session)
    running = (Case.step == CaseStep.township_review) & (Case.notice_ends_on >= today)
    rows = session.execute(
        select(Case.kind, Case.notice_ends_on, Case.step, Household.id, Household.household_type)
        .join(Household, Household.id == Case.household_id)
        .where(
            Case.village_code == village_code,
            Case.status == "open",
            (Case.step == CaseStep.public_notice) | running,
        )
        .order_by(Case.kind, Household.id)
    ).all()
    if not rows:
        raise NotFound("no household of the village is at the notice step", field="village_code")
    members = session.execute(
        select(Member.household_id, Member.name, Member.relation).where(
            Member.household_id.in_([r.id for r in rows]), Member.left_on.is_(None)
        )
    ).all()
    heads = {m.household_id: m.name for m in members if m.relation == Relation.head}
    sizes: dict[int, int] = {}
    for member in members:
        sizes[member.household_id] = sizes.get(member.household_id, 0) + 1
    show = (lambda name: name) if policy.public_notice_names == "full" else _masked
    days = timedelta(days=policy.case_deadlines.public_notice)

    def period(row: Any) -> tuple[date, date]:
        if row.step == CaseStep.public_notice or row.notice_ends_on is None:
            return start, start + days
        return row.notice_ends_on - days, row.notice_ends_on  # as the case recorded it

    lines = [
        NoticeLine(
            show(heads.get(r.id, "")),
            sizes.get(r.id, 0),
            r.household_type.value,
            PROPOSED[r.kind],
            *period(r),
        )
        for r in rows
    ]
    kinds = {r.kind for r in rows}
    return Notice(
        township=township.name if township is not None else "",
        village=village.name,
        kind=kinds.pop() if len(kinds) == 1 else "both",
        starts_on=min(line.starts_on for line in lines),
        ends_on=max(line.ends_on for line in lines),
        lines=lines,
        contact=policy.public_notice_contact,
    )


def _masked(name: str) -> str:
    """张*明: the surname and the last character, as a county that masks names posts them."""
    return (
        name if len(name) < 2 else name[0] + "*" * (len(name) - 2 or 1) + (name[-1] if len(name) > 2 else "")
    )


def _title(notice: Notice) -> str:
    what = {"identification": "对象识别", "elimination": "风险消除", "both": "对象识别及风险消除"}[
        notice.kind
    ]
    return f"{notice.township}{notice.village}防止返贫监测{what}公示"


def render(notice: Notice) -> bytes:
    """An A4 page (or more) to post on the village's board."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle("body", fontName=FONT, fontSize=12, leading=20, wordWrap="CJK", firstLineIndent=24)
    title = ParagraphStyle(
        "title", parent=body, fontSize=18, leading=26, alignment=TA_CENTER, firstLineIndent=0
    )
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT, firstLineIndent=0)
    cell = ParagraphStyle(
        "cell", parent=body, fontSize=11, leading=15, firstLineIndent=0, alignment=TA_CENTER
    )
    period = f"{notice.starts_on:%Y年%m月%d日}至{notice.ends_on:%Y年%m月%d日}"
    objections = (
        f"公示期内，如对公示对象有异议，请向{notice.village}村民委员会或{notice.township}人民政府反映"
    )
    objections += f"（{notice.contact}）。" if notice.contact else "。"
    header = ["序号", "户主姓名", "家庭人口", "户类型", "公示事项"]
    widths = [14 * mm, 34 * mm, 24 * mm, 28 * mm, 62 * mm]
    if not notice.one_period:  # households whose notices began on different days: each its own period
        header, widths = [*header, "公示期"], [12 * mm, 26 * mm, 18 * mm, 22 * mm, 44 * mm, 48 * mm]

    def own_period(line: NoticeLine) -> list[Paragraph]:
        return (
            []
            if notice.one_period
            else [Paragraph(f"{line.starts_on:%m月%d日}至{line.ends_on:%m月%d日}", cell)]
        )

    table_rows = [[Paragraph(h, cell) for h in header]] + [
        [
            Paragraph(str(i), cell),
            Paragraph(line.head, cell),
            Paragraph(f"{line.size}人", cell),
            Paragraph(line.household_type, cell),
            Paragraph(line.proposed, cell),
            *own_period(line),
        ]
        for i, line in enumerate(notice.lines, start=1)
    ]
    table = Table(table_rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
            ]
        )
    )
    story = [
        Paragraph(_title(notice), title),
        Spacer(1, 6 * mm),
        Paragraph(
            f"经入户核实和村民代表民主评议，现将以下{len(notice.lines)}户予以公示，"
            + (f"公示期为{period}。" if notice.one_period else "各户的公示期见下表。"),
            body,
        ),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 6 * mm),
        Paragraph(objections, body),
        Spacer(1, 12 * mm),
        Paragraph(f"{notice.village}村民委员会", right),
        Paragraph(f"{notice.starts_on:%Y年%m月%d日}", right),
    ]
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=22 * mm,
        bottomMargin=20 * mm,
        title=_title(notice),
        author=f"{notice.village}村民委员会",
    )
    document.build(story)
    return out.getvalue()
