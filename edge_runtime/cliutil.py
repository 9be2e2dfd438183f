"""What every harlite CLI shares: the error-to-exit-code mapping, ``--log-level`` and the one
parameter type for subject lists. Click and the standard library only."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from edge_runtime.errors import EXIT_CODES, ExitCode, HarliteError, UsageError
from edge_runtime.logs import LEVELS, setup_logging

log = logging.getLogger("harlite")
F = TypeVar("F", bound=Callable[..., Any])

#: The ``--help`` epilog of every command.
EXIT_CODES_HELP = "Exit codes: " + "; ".join(f"{int(c)} {d.split(':')[0]}" for c, d in EXIT_CODES.items())


@contextmanager
def cli_errors() -> Iterator[None]:
    """Around a CLI command's library call: a :class:`HarliteError` logs its message and exits with
    its ``exit_code``; any other exception is a bug and exits :attr:`ExitCode.INTERNAL` after
    logging its full traceback."""
    try:
        yield
    except HarliteError as exc:
        log.error("%s", exc)
        sys.exit(int(exc.exit_code))
    except (KeyboardInterrupt, SystemExit, click.exceptions.Exit, click.ClickException):
        raise
    except Exception:
        log.exception("internal error (a bug in harlite; please report it with this traceback)")
        sys.exit(int(ExitCode.INTERNAL))


def log_level_option(f: F) -> F:
    """``--log-level``: configures logging before the command body runs."""

    def configure(ctx: click.Context, param: click.Parameter, value: str) -> str:
        setup_logging(value)
        return value

    return click.option("--log-level", type=click.Choice(LEVELS), default="info", show_default=True,
                        expose_value=False, is_eager=True, callback=configure,
                        help="messages on stderr at this level and above")(f)


if TYPE_CHECKING:  # click >= 8.2 types ParamType by its value; older click cannot be subscripted at run time
    from edge_runtime.datasets.subjects import SubjectSelection

    _SubjectsBase = click.ParamType[SubjectSelection]
else:
    _SubjectsBase = click.ParamType


class SubjectsParam(_SubjectsBase):
    """A subject list ``2,4,9`` or one of the ``keywords`` this option accepts."""

    name = "subjects"

    def __init__(self, *keywords: str) -> None:
        self.keywords = keywords

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> SubjectSelection:
        from edge_runtime.datasets.subjects import SubjectSelection, parse_subjects  # only commands that take one

        if isinstance(value, SubjectSelection):
            return value
        try:
            return parse_subjects(str(value), self.keywords)
        except UsageError as exc:
            self.fail(str(exc), param, ctx)
