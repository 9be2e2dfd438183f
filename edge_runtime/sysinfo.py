"""What a measurement needs to say about the machine it ran on: CPU, cores, OS, package
versions and resident memory. The one copy of each probe; standard library only, and nothing
heavier than ``os`` at import time: the start-up benchmark imports :func:`rss_mb` into the
process it measures."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

#: Packages whose versions decide a result, for every report.
KEY_PACKAGES: tuple[str, ...] = ("harlite", "tensorflow", "keras", "numpy", "ai-edge-litert", "tflite-runtime")


def package_versions(names: Iterable[str] = KEY_PACKAGES, *, missing: str | None = None) -> dict[str, str]:
    """Python's version and each package's; a package that is not installed is left out, or given
    as ``missing`` when that is set."""
    import platform
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if missing is not None:
                out[name] = missing
    return out


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    import platform

    try:
        with open("/proc/cpuinfo") as fh:
            lines = fh.read().splitlines()
        for line in lines:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine() -> dict[str, Any]:
    """CPU, cores, OS and package versions, so numbers can be compared fairly."""
    import platform

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "os": f"{platform.system()} {platform.release()}",
            "machine": platform.machine(),
            "versions": package_versions(("numpy", "ai-edge-litert", "tflite-runtime", "harlite"))}


def rss_mb(pid: int | None = None) -> float | None:
    """Resident memory of process ``pid`` (default: this one) in MB from ``/proc``; for this process
    the peak from ``getrusage`` where ``/proc`` is missing; None when it cannot be read."""
    try:
        with open(f"/proc/{pid or 'self'}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if pid is None:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return None
