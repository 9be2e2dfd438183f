"""Exception classes shared by every harlite package.

They live in ``edge_runtime`` because it is the one package every other package
may import; each class names a failure a user can act on.
"""

from __future__ import annotations


class HarliteError(Exception):
    """Base class: every error harlite raises on purpose derives from it."""


class InputContractError(HarliteError, ValueError):
    """Raw sensor data or an input spec does not fit the model-input contract."""


class DatasetError(HarliteError):
    """A dataset is missing, partial, malformed or fails its checksum."""


class ModelError(HarliteError):
    """A model file or manifest is missing, corrupt or does not fit the data."""
