"""Logging for every harlite command: one plain format that reads well under journald, levels
from ``--log-level``, and a filter that rate-limits repeated warnings (bad input on a device).

The records stream (activity, change, gap, stats) is data, not logging: it goes to the sink.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error")
_HANDLER_NAME = "harlite"


def setup_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Route log records of ``level`` and above to ``stream`` (default: the current stderr).

    Idempotent: a second call replaces the handler the first installed (tests invoke CLIs
    many times in one process).
    """
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; choose from {LEVELS}")
    root = logging.getLogger()
    for h in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())


class RateLimitFilter(logging.Filter):
    """Lets at most one record through per ``interval`` seconds; the next one that passes says how
    many were suppressed since. Attach it to a logger whose messages may repeat at input rate."""

    def __init__(self, interval: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self._clock = clock
        self._last = -float("inf")
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        if now - self._last < self.interval:
            self.suppressed += 1
            return False
        if self.suppressed:
            record.msg = f"{record.getMessage()} (+{self.suppressed} more since last report)"
            record.args = None
        self._last, self.suppressed = now, 0
        return True
