"""The one place that sets up matplotlib: headless (Agg), imported only when a plot is drawn."""

from __future__ import annotations

from types import ModuleType


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend; ``ImportError`` when matplotlib is not installed
    (it is optional on a device)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
