"""Every table, imported so Base.metadata is complete (Alembic autogenerate depends on it)."""

from app.models.audit import AuditEntry, AuditHead
from app.models.base import Base
from app.models.case import Assistance, Case, CaseEvent, Notification, Referral, Signal
from app.models.drift import RiskProfile
from app.models.fieldwork import (
    Campaign,
    ClusterAlert,
    FieldTask,
    Helper,
    HelperAssignment,
    Visit,
    VisitPhoto,
)
from app.models.household import Household, HouseholdTypeCorrection, Member, MemberFact
from app.models.imports import ImportJob
from app.models.labels import LabelledExample
from app.models.outbox import OutboxMessage, WebhookAllowedHost, WebhookEndpoint
from app.models.policy import PolicyVersion
from app.models.rate import RateEvent
from app.models.region import Region
from app.models.relief import PlatformKey, ReliefApplication, ReliefMessage
from app.models.report import Report, ReportEvent
from app.models.risk import JobLease, RiskModel, RiskResult, RiskRun, TrainingRequest
from app.models.risk_list import RiskList, RiskListEntry
from app.models.user import RefreshFamily, User

__all__ = [
    "Assistance",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Campaign",
    "Case",
    "CaseEvent",
    "ClusterAlert",
    "FieldTask",
    "Helper",
    "HelperAssignment",
    "Household",
    "ImportJob",
    "HouseholdTypeCorrection",
    "JobLease",
    "LabelledExample",
    "Member",
    "MemberFact",
    "Notification",
    "OutboxMessage",
    "PlatformKey",
    "PolicyVersion",
    "RateEvent",
    "Referral",
    "RefreshFamily",
    "Region",
    "ReliefApplication",
    "ReliefMessage",
    "Report",
    "ReportEvent",
    "RiskList",
    "RiskListEntry",
    "RiskModel",
    "RiskProfile",
    "RiskResult",
    "RiskRun",
    "Signal",
    "TrainingRequest",
    "User",
    "Visit",
    "VisitPhoto",
    "WebhookAllowedHost",
    "WebhookEndpoint",
]
