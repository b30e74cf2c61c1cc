"""Cluster alerts: many households of one village or township hit at once (a flood, a factory closing, a
disease). When the households with a new signal within the policy's window reach its threshold, the
township and the district are told once, with the households and the dominant reason; another burst in
the same window does not repeat it.

A new signal is one somebody raised about a household: a cadre's report or visit, a department's row, a
household's own application. The scoring runs' flags are left out: a run flags the whole district at once
(the first run, a raised monitoring line), which is not a village hit at once."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.clock import district_zone
from app.models import ClusterAlert, Household, Notification, Region, Signal, User
from app.models.enums import Role
from app.schemas.common import PageParams
from app.schemas.policy import PolicyData
from app.services.platform import access, paging
from app.services.platform.access import Actor

READERS = frozenset({Role.township_reviewer, Role.district_officer})
# reason codes of signals that name no risk type, in words (risk types are words already: 因病 …)
SOURCE_LABELS = {
    "cadre_report": "基层干部排查",
    "visit": "走访发现",
    "department": "部门筛查",
    "self_application": "农户申报",
    "other": "其他",
}


def reason_label(reason: str) -> str:
    return SOURCE_LABELS.get(reason, reason)


@dataclass
class _Burst:
    township: str
    households: set[int] = field(default_factory=set)
    signals: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def detect(session: Session, policy: PolicyData, today: date) -> list[ClusterAlert]:
    """Raise the alerts due today (the window ends today); safe to run twice at once."""
    start = today - timedelta(days=policy.cluster_window_days - 1)
    villages, townships = _bursts(session, start, today)
    raised = []
    for level, bursts, threshold in (
        ("village", villages, policy.cluster_village_signals),
        ("township", townships, policy.cluster_township_signals),
    ):
        for region, burst in sorted(bursts.items()):
            if len(burst.households) < threshold or _alerted(session, region, start):
                continue
            alert = _raise(session, level, region, burst, start, today)
            if alert is not None:
                raised.append(alert)
    if raised:
        _notify(session, raised)
    return raised


def listing(
    session: Session, actor: Actor, page: PageParams, since: date | None
) -> tuple[list[ClusterAlert], int]:
    """The alerts of the actor's region (a township's and its villages'), the latest first."""
    access.require_role(actor, READERS, "reading cluster alerts")
    stmt = select(ClusterAlert).where(ClusterAlert.region_code.in_(access.regions_within(actor)))
    if since is not None:
        stmt = stmt.where(ClusterAlert.window_end >= since)
    return paging.page_of(session, stmt, page, ClusterAlert.raised_at.desc(), ClusterAlert.id.desc())


def raised_between(session: Session, actor: Actor, first: date, last: date) -> list[ClusterAlert]:
    """Alerts of the actor's region whose window ended within these days (a week's summary)."""
    return list(
        session.scalars(
            select(ClusterAlert)
            .where(
                ClusterAlert.region_code.in_(access.regions_within(actor)),
                ClusterAlert.window_end >= first,
                ClusterAlert.window_end <= last,
            )
            .order_by(ClusterAlert.raised_at, ClusterAlert.id)
        )
    )


def region_names(session: Session, alerts: list[ClusterAlert]) -> dict[str, str]:
    codes = {a.region_code for a in alerts}
    rows = session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).tuples()
    return dict(rows.all())  # (a Result is not a mapping)


def _bursts(session: Session, start: date, end: date) -> tuple[dict[str, _Burst], dict[str, _Burst]]:
    village = aliased(Region)
    rows = session.execute(
        select(Signal.household_id, Signal.reasons, Household.village_code, village.parent_code)
        .join(Household, Household.id == Signal.household_id)
        .join(village, village.code == Household.village_code)
        .where(
            Signal.received_at >= _midnight(start),
            Signal.received_at < _midnight(end + timedelta(days=1)),
            Signal.source != "risk_scorer",
        )
    ).tuples()
    villages: dict[str, _Burst] = {}
    townships: dict[str, _Burst] = defaultdict(lambda: _Burst(""))
    for household_id, reasons, village_code, township_code in rows:
        for key, bursts in ((village_code, villages), (township_code, townships)):
            burst = bursts.setdefault(key, _Burst(township_code))
            burst.township = township_code
            burst.households.add(household_id)
            burst.signals += 1
            burst.reasons.update(_reason_keys(reasons))
    return villages, dict(townships)


def _reason_keys(reasons: list[dict[str, Any]] | None) -> set[str]:
    """A signal's causes: each reason's risk type when it names one (因病, 因自然灾害 …), else its code."""
    return {str(r.get("risk_type") or r.get("code") or "other") for r in reasons or []} or {"other"}


def _alerted(session: Session, region: str, start: date) -> bool:
    """Whether this region was alerted for a window overlapping this one."""
    found = select(ClusterAlert.id).where(
        ClusterAlert.region_code == region, ClusterAlert.window_end >= start
    )
    return session.scalar(found.limit(1)) is not None


def _raise(
    session: Session, level: str, region: str, burst: _Burst, start: date, end: date
) -> ClusterAlert | None:
    alert = ClusterAlert(
        level=level,
        region_code=region,
        township_code=burst.township,
        window_start=start,
        window_end=end,
        households=sorted(burst.households),
        signals=burst.signals,
        dominant_reason=burst.reasons.most_common(1)[0][0][:40],
        reasons=dict(burst.reasons.most_common()),
    )
    try:
        with session.begin_nested():  # another detection raised it a moment ago: one alert
            session.add(alert)
    except IntegrityError:
        return None
    return alert


def _notify(session: Session, raised: list[ClusterAlert]) -> None:
    """Each alert to its township's reviewers and the district's officers, in their notifications."""
    names = region_names(session, raised)
    for alert in raised:
        readers = select(User.id).where(
            User.active.is_(True),
            or_(
                and_(User.role == Role.township_reviewer, User.region_code == alert.township_code),
                User.role == Role.district_officer,
            ),
        )
        level = "村" if alert.level == "village" else "乡镇"
        where = f"{names.get(alert.region_code, alert.region_code)}（{level}）"
        text = (
            f"{where} {alert.window_start:%m-%d} 至 {alert.window_end:%m-%d} 有 {len(alert.households)} 户"
            f"出现新的风险信号，主要原因：{reason_label(alert.dominant_reason)}"
        )
        session.add_all(
            Notification(user_id=user_id, kind="cluster_alert", step="", alert_id=alert.id, text=text[:200])
            for user_id in session.scalars(readers)
        )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=district_zone())
