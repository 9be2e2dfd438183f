"""harlite training: datasets into windows, Keras models, fitting, evaluation, the ``har-train`` CLI.

Imports TensorFlow lazily inside the functions that need it, so ``har-train --help``
and the data code stay quick.
"""

from __future__ import annotations

__version__ = "0.1.0"
