"""Applications from the provincial relief platform (云南省政府救助平台): checked, matched to a household
(as any member, by the ID look-up hash), made into a case with source `self_application`, answered the
same way when delivered again, amended when the platform changes one; and reconciliation.

Refusals carry the platform's machine-readable codes (docs/relief-platform.md).
"""

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import clock
from app.clock import local_today
from app.config import Settings
from app.errors import AppError, NotFound
from app.models import Case, CaseEvent, Household, Member, Region, ReliefApplication, User
from app.models.enums import RegionLevel, Role
from app.pii import cipher_for, mask_id_number, mask_phone, normalise_id_number, validate_id_number
from app.schemas.relief import WITHIN_SCOPE, ApplicationAnswer, ApplicationIn, ReconcileIn
from app.services.cases import case_views, cases, relief_news
from app.services.platform import audit
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.registry import households
from app.services.relief.relief_keys import Signer

# the platform's difficulty areas, as the risk types a case carries
RISK_TYPE = {"medical": "因病", "education": "因学", "employment": "因务工就业不稳"}
LABEL = {
    "living": "基本生活",
    "employment": "就业",
    "education": "教育",
    "medical": "医疗",
    "housing": "住房",
    "drinking_water": "饮水",
    "other": "其他",
}


# how far ahead of our clock an application's submitted_at may be (the platform's clock may run fast)
SUBMITTED_SKEW = timedelta(minutes=5)


class PlatformRefusal(AppError):
    """422 with the platform's code: invalid_payload | invalid_id_number | region_outside_county."""

    status_code = 422

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


def parse(body: bytes) -> tuple[ApplicationIn, str]:
    """The application and its ID number (normalised), or PlatformRefusal."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, an integer of thousands of digits
        raise PlatformRefusal("invalid_payload", "the body is not JSON (or nested too deep)") from None
    if not isinstance(data, dict):
        raise PlatformRefusal("invalid_payload", "the body must be a JSON object")
    try:
        application = ApplicationIn.model_validate(data)
    except ValidationError as exc:
        raise _payload_refusal(exc) from None
    if application.submitted_at > clock.now() + SUBMITTED_SKEW:
        # a version dated ahead would stand against every genuine later amendment (older ones are ignored)
        raise PlatformRefusal(
            "invalid_payload",
            f"submitted_at is more than {SUBMITTED_SKEW.seconds // 60} minutes ahead of our clock",
            "submitted_at",
        )
    id_number = normalise_id_number(application.id_number)
    try:
        validate_id_number(id_number, today=local_today())
    except ValueError as exc:
        raise PlatformRefusal("invalid_id_number", str(exc), "id_number") from None
    return application, id_number


def _payload_refusal(exc: ValidationError) -> PlatformRefusal:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    message = first["msg"].removeprefix("Value error, ")
    return PlatformRefusal("invalid_payload", f"{field}: {message}" if field else message, field)


def receive(
    session: Session, settings: Settings, signer: Signer, body: bytes
) -> tuple[ApplicationAnswer, bool]:
    """The answer, and whether it is new (False: a repeat or an amendment of a known application)."""
    application, id_number = parse(body)
    _lock(session, f"application:{application.application_id}")
    cipher = cipher_for(settings)
    canonical = application.model_dump(mode="json") | {"id_number": id_number}
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    user = session.get(User, signer.user_id)
    assert user is not None  # verified a moment ago
    actor = Actor(user.id, user.username, Role.platform_client, user.region_code, RegionLevel.county)
    known = session.scalars(
        select(ReliefApplication).where(ReliefApplication.application_id == application.application_id)
    ).one_or_none()
    if known is not None:
        if known.payload_hash != digest:
            _amend(session, settings, actor, known, application, canonical, digest)
        return ApplicationAnswer.model_validate(known.answer), False
    _check_region(session, application.region_code)
    _lock(session, f"person:{cipher.lookup_hash(id_number)}")  # one person's applications one at a time
    household, provisional = _household(session, settings, application, id_number)
    _, policy = policy_service.current_data(session)
    reason = {
        "code": "self_application",
        "risk_type": RISK_TYPE.get(application.difficulty_type, "其他"),
        "difficulty_type": application.difficulty_type,
        "text": f"农户自主申报（{LABEL[application.difficulty_type]}）：{application.description[:200]}",
    }
    signal = cases.SignalIn(
        household.id, "self_application", "high", [reason], f"relief:{application.application_id}"
    )
    [row] = cases.receive(session, settings, policy, actor, [signal])
    status = "monitored" if row.case_id is None else "received"
    answer = ApplicationAnswer(application_id=application.application_id, case_id=row.case_id, status=status)
    stored = ReliefApplication(
        application_id=application.application_id,
        case_id=row.case_id,
        household_id=household.id,
        region_code=application.region_code,
        difficulty_type=application.difficulty_type,
        declared_size=application.household_size,
        provisional_household=provisional,
        payload_encrypted=cipher.encrypt(json.dumps(canonical, ensure_ascii=False)),
        payload_hash=digest,
        answer=answer.model_dump(mode="json"),
        status=status,
        platform_user_id=signer.user_id,
    )
    session.add(stored)
    session.flush()
    relief_news.enqueue(
        session,
        stored,
        "received",
        status,
        {"within_scope": application.difficulty_type in WITHIN_SCOPE, "provisional_household": provisional},
    )
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "relief.application",
                "relief_application",
                stored.id,
                household.id,
                {
                    "application_id": application.application_id,
                    "case_id": row.case_id,
                    "outcome": row.outcome,
                    "provisional_household": provisional,
                },
            )
        ],
    )
    return answer, True


def _lock(session: Session, application_id: str) -> None:
    """One delivery of an application at a time (PostgreSQL: an advisory lock for the transaction;
    SQLite serialises writers anyway)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:id))"), {"id": f"relief:{application_id}"}
        )


def _check_region(session: Session, region_code: str) -> None:
    region = session.get(Region, region_code)
    county = session.scalars(select(Region.code).where(Region.level == RegionLevel.county)).first()
    if county is None or region_code[:6] != county[:6]:
        raise PlatformRefusal("region_outside_county", f"{region_code} is not in this county", "region_code")
    if region is None or region.level != RegionLevel.village:
        raise PlatformRefusal(
            "invalid_payload", f"{region_code} is not a village of this county", "region_code"
        )


def _household(
    session: Session, settings: Settings, application: ApplicationIn, id_number: str
) -> tuple[Household, bool]:
    """The household the applicant belongs to (as any member), or a provisional one in their village."""
    cipher = cipher_for(settings)
    found = session.scalars(
        select(Household)
        .join(Member, Member.household_id == Household.id)
        .where(Member.id_number_hash == cipher.lookup_hash(id_number), Member.left_on.is_(None))
        .limit(1)
    ).first()
    if found is not None:
        return found, False
    household = households.register_provisional(
        session,
        settings,
        household_no=f"SQ-{hashlib.sha256(application.application_id.encode()).hexdigest()[:20]}",
        village_code=application.region_code,
        name=application.applicant_name,
        id_number=id_number,
        address=application.address,
        phone=application.phone,
    )
    return household, True


def _amend(
    session: Session,
    settings: Settings,
    actor: Actor,
    known: ReliefApplication,
    application: ApplicationIn,
    canonical: dict[str, Any],
    digest: str,
) -> None:
    """A changed payload under a known id: checked like a new one, kept as the latest version, noted on
    the case (which fields, never their values) and audited. An older version arriving late (by
    `submitted_at`) changes nothing; a different applicant is refused."""
    cipher = cipher_for(settings)
    before = json.loads(cipher.decrypt(known.payload_encrypted))
    if canonical["id_number"] != before["id_number"]:
        raise PlatformRefusal(
            "invalid_payload", "an application's applicant cannot change: send a new application", "id_number"
        )
    if application.submitted_at < datetime.fromisoformat(before["submitted_at"]):
        return  # an older version, retried or replayed late: the newer one stands
    _check_region(session, application.region_code)
    changed = sorted(k for k in canonical.keys() | before.keys() if canonical.get(k) != before.get(k))
    known.payload_encrypted = cipher.encrypt(json.dumps(canonical, ensure_ascii=False))
    known.payload_hash = digest
    known.amendments += 1
    known.region_code, known.difficulty_type = application.region_code, application.difficulty_type
    known.declared_size = application.household_size
    if known.case_id is not None:
        case = session.get(Case, known.case_id)
        assert case is not None
        session.add(
            CaseEvent(
                case_id=known.case_id,
                actor=actor.username,
                action="amended",
                step=case.step,
                data={
                    "application_id": known.application_id,
                    "fields": changed,
                    "amendment": known.amendments,
                },
            )
        )
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "relief.amendment",
                "relief_application",
                known.id,
                known.household_id,
                {"application_id": known.application_id, "fields": changed},
            )
        ],
    )


def parse_reconcile(body: bytes) -> ReconcileIn:
    try:
        return ReconcileIn.model_validate_json(body)
    except ValidationError as exc:
        raise _payload_refusal(exc) from None


def reconcile(session: Session, application_ids: list[str]) -> list[dict[str, Any]]:
    """The status we last reported for each id; `unknown` for ids never received."""
    found = {
        a.application_id: a
        for a in session.scalars(
            select(ReliefApplication).where(ReliefApplication.application_id.in_(set(application_ids)))
        )
    }
    return [
        {
            "application_id": i,
            "status": found[i].status if i in found else "unknown",
            "case_id": found[i].case_id if i in found else None,
        }
        for i in application_ids
    ]


def on_case(session: Session, settings: Settings, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """The applications behind a case, as the verifiers need them (ID number and phones masked)."""
    visible = session.scalar(case_views.visible(actor).with_only_columns(Case.id).where(Case.id == case_id))
    if visible is None:
        raise NotFound(f"case {case_id} not found", field="case_id")
    cipher = cipher_for(settings)
    shown = []
    for row in session.scalars(
        select(ReliefApplication).where(ReliefApplication.case_id == case_id).order_by(ReliefApplication.id)
    ):
        data = json.loads(cipher.decrypt(row.payload_encrypted))
        helper = data.get("on_behalf_of")
        shown.append(
            {
                "application_id": row.application_id,
                "received_at": row.received_at,
                "amendments": row.amendments,
                "status": row.status,
                "provisional_household": row.provisional_household,
                "applicant_name": data["applicant_name"],
                "id_number": mask_id_number(data["id_number"]),
                "phone": mask_phone(data["phone"]),
                "address": data.get("address", ""),
                "household_size": data["household_size"],
                "difficulty_type": data["difficulty_type"],
                "description": data["description"],
                "submitted_at": data["submitted_at"],
                "stated_loss": data.get("stated_loss"),
                "on_behalf_of": {**helper, "phone": mask_phone(helper["phone"])} if helper else None,
                "attachments": data.get("attachments", []),
            }
        )
    return shown
