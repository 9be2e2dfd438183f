"""Exit codes shared by every harlite CLI, so scripts can tell failures apart, and the one
place that turns a library error into one."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

OK = 0
USAGE = 2  # click's own code for bad options
DATA_ERROR = 3
MODEL_ERROR = 4
OUTPUT_EXISTS = 5
GATE_FAILED = 6
INPUT_ERROR = 7


@contextmanager
def cli_errors() -> Iterator[None]:
    """Around a CLI command's library call: a :class:`HarliteError` exits with its ``exit_code``,
    a ``ValueError`` (a bad option value found by the library) with :data:`USAGE`; both print
    ``error: <message>`` on stderr. Anything else is a bug and keeps its traceback."""
    from edge_runtime.errors import HarliteError  # errors.py imports this module's constants

    try:
        yield
    except HarliteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(USAGE)
