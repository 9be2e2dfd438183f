"""Exit codes shared by every harlite CLI, so scripts can tell failures apart."""

from __future__ import annotations

OK = 0
USAGE = 2  # click's own code for bad options
DATA_ERROR = 3
MODEL_ERROR = 4
OUTPUT_EXISTS = 5
GATE_FAILED = 6
INPUT_ERROR = 7
