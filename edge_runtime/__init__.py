"""harlite's on-device runtime: numpy + LiteRT only, never TensorFlow or Keras.

Importing this package is cheap on purpose; submodules are imported where needed.
"""

from __future__ import annotations

__version__ = "0.1.0"
