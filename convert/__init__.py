"""harlite conversion: Keras model -> int8 TFLite, validated through the device code path (issue 3)."""

from __future__ import annotations
