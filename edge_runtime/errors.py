"""Every exception class harlite raises on purpose, and the exit-code table of its CLIs.

One module, importing nothing from harlite, so any package can raise any error without an
import cycle. A :class:`HarliteError` carries the exit code a CLI ends with
(:func:`edge_runtime.cliutil.cli_errors` does the mapping); any other exception is a bug:
it keeps its traceback and exits :attr:`ExitCode.INTERNAL`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes shared by ``har-train``, ``har-convert`` and ``har-edge``."""

    OK = 0
    USAGE = 2  # click's own code for bad options
    DATA_ERROR = 3
    MODEL_ERROR = 4
    OUTPUT_EXISTS = 5
    GATE_FAILED = 6
    INPUT_ERROR = 7
    NOTHING_CLASSIFIED = 8
    INTERNAL = 70  # sysexits' EX_SOFTWARE: a bug; the traceback is printed


#: What each exit code means (README, ``--help`` epilogs).
EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.USAGE: "usage: a bad option or option value",
    ExitCode.DATA_ERROR: "data error: a data set is missing, malformed or does not fit",
    ExitCode.MODEL_ERROR: "model error: a model, manifest or run directory is missing, corrupt or does not fit",
    ExitCode.OUTPUT_EXISTS: "output exists: pass --force to overwrite it",
    ExitCode.GATE_FAILED: "accuracy gate failed: files written, report marked FAILED",
    ExitCode.INPUT_ERROR: "a source or sink cannot be opened",
    ExitCode.NOTHING_CLASSIFIED: "nothing classified: the input ended before a single window (the reason is printed)",
    ExitCode.INTERNAL: "internal error (a bug): the traceback is printed",
}


class HarliteError(Exception):
    """Base class of the errors harlite raises on purpose; ``exit_code`` ends a CLI command."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(HarliteError, ValueError):
    """A caller passed a bad option or option value (a person can fix the command line)."""

    exit_code = ExitCode.USAGE


class InputContractError(HarliteError, ValueError):
    """Raw sensor data or an input spec does not fit the model-input contract."""

    exit_code = ExitCode.DATA_ERROR


class DatasetError(HarliteError):
    """A data set is missing, partial, malformed or fails its checksum."""

    exit_code = ExitCode.DATA_ERROR


class ModelError(HarliteError):
    """A model file or manifest is missing, corrupt or does not fit the data."""

    exit_code = ExitCode.MODEL_ERROR


class ConversionError(ModelError):
    """The TFLite converter failed for a variant."""


class OutputExistsError(HarliteError, FileExistsError):
    """The output path exists and overwriting was not asked for."""

    exit_code = ExitCode.OUTPUT_EXISTS


class GateFailed(HarliteError):
    """A converted variant lost more accuracy than allowed; the files were still written."""

    exit_code = ExitCode.GATE_FAILED

    def __init__(self, out: object, failures: list[str]) -> None:
        super().__init__(f"accuracy gate failed: {'; '.join(failures)} (files kept in {out}, marked failed)")
        self.out = out
        self.failures = failures


class SourceError(HarliteError):
    """A source cannot be opened (bad URL, missing file, port in use, ...)."""

    exit_code = ExitCode.INPUT_ERROR


class SinkError(HarliteError):
    """A sink cannot be opened or written (bad URL, unwritable file, missing paho-mqtt, ...)."""

    exit_code = ExitCode.INPUT_ERROR


class NothingClassified(HarliteError):
    """A run read its whole input but classified no window; the message says why."""

    exit_code = ExitCode.NOTHING_CLASSIFIED


class RecordRejected(Exception):
    """One input record is not a usable sample; ``reason`` is a short counter key.

    Not a :class:`HarliteError`: it never leaves the daemon loop, which counts it.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
