"""Labelled raw windows and subject-wise splits: what every data source yields for training."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import HAPT_CHANNELS, Channel, WindowSpec
from edge_runtime.errors import DatasetError

#: Class names of the UCI HAR protocol (HAPT activities 1-6), index = class id.
ACTIVITIES: tuple[str, ...] = (
    "WALKING",
    "WALKING_UPSTAIRS",
    "WALKING_DOWNSTAIRS",
    "SITTING",
    "STANDING",
    "LAYING",
)


@dataclass(frozen=True)
class WindowSet:
    """Labelled raw windows: ``raw`` is (n, length, 6) float32 in g and rad/s."""

    raw: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64]
    subjects: npt.NDArray[np.int64]
    class_names: tuple[str, ...] = ACTIVITIES

    def __post_init__(self) -> None:
        n = self.raw.shape[0]
        if self.labels.shape != (n,) or self.subjects.shape != (n,):
            raise DatasetError(
                f"window set arrays disagree: raw {self.raw.shape}, labels {self.labels.shape}, "
                f"subjects {self.subjects.shape}"
            )

    def __len__(self) -> int:
        return int(self.raw.shape[0])

    def select(self, mask: npt.NDArray[np.bool_]) -> WindowSet:
        """The windows where ``mask`` is true."""
        return WindowSet(self.raw[mask], self.labels[mask], self.subjects[mask], self.class_names)

    def by_subjects(self, subjects: tuple[int, ...] | list[int]) -> WindowSet:
        """The windows of the given subjects."""
        return self.select(np.isin(self.subjects, np.asarray(subjects)))


@dataclass(frozen=True)
class Splits:
    """A train/test split of one data set, by subject, with what a model trained on it must record:
    its raw channels, window, content version and the options that recreate the split."""

    train: WindowSet
    test: WindowSet
    source: str
    channels: tuple[Channel, ...] = HAPT_CHANNELS
    window: WindowSpec = field(default_factory=WindowSpec)
    version: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


