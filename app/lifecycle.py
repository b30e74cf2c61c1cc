"""Shutting down: a process-wide flag that long work checks between steps, so that SIGTERM ends a scoring
run or a delivery batch cleanly (rolled back, its lease released) instead of with the process."""

import threading

stopping = threading.Event()


class ShuttingDown(Exception):
    """Raised between steps of long work once the process has been asked to stop."""


def check() -> None:
    if stopping.is_set():
        raise ShuttingDown("the process is shutting down")
