"""Entry points for a workbook's second process that misbehave (tests/lists/test_risk_list_sheets.py): a
spawned process imports them by name, so they live in a module of their own that imports nothing else."""

import os
import time
from typing import Any


def dies(*_: Any) -> list[Any]:
    """Killed mid-way (out of memory, a signal): no answer, exit code 3."""
    os._exit(3)


def lingers(*_: Any) -> list[Any]:
    """Still at work when the export gives up."""
    time.sleep(60)
    return []
