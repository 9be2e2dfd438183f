"""Subject selections (``--subjects``, ``--val-subjects``, ``?subjects=``): one parser for all."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from edge_runtime.errors import DatasetError, UsageError


@dataclass(frozen=True)
class SubjectSelection:
    """Either a keyword (``test``, ``auto``, ...) or explicit subject ids."""

    keyword: str | None = None
    ids: tuple[int, ...] = ()

    def resolve(self, available: Iterable[int], named: Mapping[str, Iterable[int]]) -> tuple[int, ...]:
        """Sorted subject ids: the ids of ``named[keyword]``, or the explicit ids, each checked
        against ``available``."""
        have = {int(s) for s in available}
        chosen = sorted({int(s) for s in named[self.keyword]}) if self.keyword is not None else sorted(set(self.ids))
        missing = sorted(set(chosen) - have)
        if missing:
            raise DatasetError(f"subjects {missing} are not in the data (it has {sorted(have)})")
        return tuple(chosen)


def parse_subjects(text: str, keywords: Iterable[str] = ()) -> SubjectSelection:
    """``"2,4,9"`` -> ids (2, 4, 9); a keyword from ``keywords`` -> that keyword; else :class:`UsageError`."""
    text = text.strip()
    allowed = tuple(keywords)
    if text in allowed:
        return SubjectSelection(keyword=text)
    try:
        ids = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        ids = ()
    if not ids:
        words = ", ".join(allowed)
        raise UsageError(f"subjects must be {words + ' or ' if words else ''}ids like 2,4,9; got {text!r}")
    return SubjectSelection(ids=ids)
