"""回头看: a confirmed risk elimination gives the household a visit task at each of the policy's months
after it (default 3 and 6), due that day; a visit from a month before the day completes it (field work,
services/fieldwork/tasks.py), and one not done by its day is overdue."""

from datetime import date

from sqlalchemy.orm import Session

from app.clock import add_months
from app.models import Case, FieldTask
from app.schemas.policy import PolicyData


def schedule(session: Session, case: Case, policy: PolicyData, eliminated_on: date) -> list[FieldTask]:
    tasks = [
        FieldTask(
            kind="follow_up",
            household_id=case.household_id,
            village_code=case.village_code,
            township_code=case.township_code,
            case_id=case.id,
            months=months,
            opens_on=add_months(add_months(eliminated_on, months), -1),
            due_on=add_months(eliminated_on, months),
        )
        for months in sorted(set(policy.follow_up_months))
    ]
    session.add_all(tasks)
    return tasks
