"""The case procedure as data: 入户核实 → 民主评议 → 公示 → 乡镇审核 → 县级审定.

One table of steps (who owns each, who hears when it is late, the deadline window it opens) and one of
actions (at which steps, by whom, to which step or outcome). The action handler, the inboxes, escalation,
the case page's allowed actions and the web app (GET /api/v1/cases/procedure) all read these tables; the
checks that depend on a case's facts (the notice has run, who started a case) stay in case_actions.py.
"""

from collections.abc import Callable
from dataclasses import dataclass

from app.models.enums import CaseStep, Role
from app.schemas.policy import CaseDeadlines


@dataclass(frozen=True)
class Step:
    step: CaseStep
    label_zh: str
    owner: Role  # who works the step (their inbox)
    escalates_to: Role  # who hears when its window has run out
    # the days of the deadline window opened on entering the step; None: the step shares the window of
    # the step before (the village's three steps have one window together)
    window: Callable[[CaseDeadlines], int] | None


@dataclass(frozen=True)
class Action:
    action: str
    label_zh: str
    steps: frozenset[CaseStep]  # where it may be taken
    roles: frozenset[Role]  # who may take it (case_actions.refusal adds the facts of the case)
    next_step: CaseStep | None = None  # the step it moves the case to
    outcome: str | None = None  # the outcome it closes the case with


STEPS: dict[CaseStep, Step] = {
    s.step: s
    for s in (
        Step(
            CaseStep.village_verification,
            "入户核实",
            Role.village_cadre,
            Role.township_reviewer,
            lambda d: d.village,
        ),
        Step(CaseStep.democratic_review, "民主评议", Role.village_cadre, Role.township_reviewer, None),
        Step(CaseStep.public_notice, "公示", Role.village_cadre, Role.township_reviewer, None),
        Step(
            CaseStep.township_review,
            "乡镇审核",
            Role.township_reviewer,
            Role.district_officer,
            lambda d: d.township,
        ),
        # a late district decision goes to every district officer (never to admins, who read no
        # household data)
        Step(
            CaseStep.district_decision,
            "县级审定",
            Role.district_officer,
            Role.district_officer,
            lambda d: d.district,
        ),
    )
}
FIRST_STEP = CaseStep.village_verification
VILLAGE_STEPS = tuple(s for s, rule in STEPS.items() if rule.owner == Role.village_cadre)
EVERY_STEP = frozenset(STEPS)

ACTIONS: dict[str, Action] = {
    a.action: a
    for a in (
        Action(
            "verify",
            "入户核实",
            frozenset({CaseStep.village_verification}),
            frozenset({Role.village_cadre}),
            next_step=CaseStep.democratic_review,
        ),
        # a review that disagrees closes the case instead (outcome "rejected"): case_actions.apply
        Action(
            "review",
            "民主评议",
            frozenset({CaseStep.democratic_review}),
            frozenset({Role.village_cadre}),
            next_step=CaseStep.public_notice,
        ),
        Action(
            "notice",
            "公示",
            frozenset({CaseStep.public_notice}),
            frozenset({Role.village_cadre}),
            next_step=CaseStep.township_review,
        ),
        Action(
            "approve",
            "乡镇审核通过",
            frozenset({CaseStep.township_review}),
            frozenset({Role.township_reviewer}),
            next_step=CaseStep.district_decision,
        ),
        Action(
            "return",
            "退回重新核实",
            frozenset({CaseStep.township_review}),
            frozenset({Role.township_reviewer}),
            next_step=CaseStep.village_verification,
        ),
        Action(
            "confirm",
            "县级审定通过",
            frozenset({CaseStep.district_decision}),
            frozenset({Role.district_officer}),
            outcome="confirmed",
        ),
        Action(
            "reject",
            "县级审定不通过",
            frozenset({CaseStep.district_decision}),
            frozenset({Role.district_officer}),
            outcome="rejected",
        ),
        # the village withdraws only what it started, before the township acts; the district closes
        # anything (case_actions._withdrawal_refusal)
        Action(
            "close",
            "撤销",
            EVERY_STEP,
            frozenset({Role.village_cadre, Role.district_officer}),
            outcome="withdrawn",
        ),
        # only by the step's owners, those it escalates to, or the district (case_actions.refusal)
        Action(
            "reassign",
            "改派",
            EVERY_STEP,
            frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer}),
        ),
    )
}


def owner(step: str) -> Role:
    return STEPS[CaseStep(step)].owner


def escalates_to(step: str) -> Role:
    return STEPS[CaseStep(step)].escalates_to


def window_days(step: str, deadlines: CaseDeadlines) -> int | None:
    """The days of the window `step` opens (None: it runs within the window already open)."""
    window = STEPS[CaseStep(step)].window
    return None if window is None else window(deadlines)


def steps_owned_by(role: Role) -> list[CaseStep]:
    return [s for s, rule in STEPS.items() if rule.owner == role]


def steps_escalated_to(role: Role) -> list[CaseStep]:
    return [s for s, rule in STEPS.items() if rule.escalates_to == role]
