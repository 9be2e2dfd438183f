"""Exception classes shared by every harlite package.

They live in ``edge_runtime`` because it is the one package every other package
may import; each class names a failure a user can act on.
"""

from __future__ import annotations

from edge_runtime import exitcodes


class HarliteError(Exception):
    """Base class: every error harlite raises on purpose derives from it.

    ``exit_code`` is what a CLI exits with when this error ends a command
    (see :mod:`edge_runtime.exitcodes`).
    """

    exit_code = 1


class InputContractError(HarliteError, ValueError):
    """Raw sensor data or an input spec does not fit the model-input contract."""

    exit_code = exitcodes.DATA_ERROR


class DatasetError(HarliteError):
    """A dataset is missing, partial, malformed or fails its checksum."""

    exit_code = 3


class ModelError(HarliteError):
    """A model file or manifest is missing, corrupt or does not fit the data."""

    exit_code = exitcodes.MODEL_ERROR
