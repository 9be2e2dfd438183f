"""WISDM 2019 (Smartphone and Smartwatch Activity and Biometrics) raw text -> a harlite data set.

Source: the published folder (``raw/{phone,watch}/{accel,gyro}/data_<subject>_<sensor>_<device>.txt``,
found anywhere below SRC) or its ``.tar.xz`` archive, read without unpacking. Each line is
``subject,activity-code,timestamp-ns,x,y,z;``; accelerometer in m/s^2 with gravity, gyroscope in rad/s,
nanosecond timestamps from a device clock (not Unix time) shared by one device's sensors. Each
subject did each of 18 activities (codes A-S, no N) for about three minutes: one recording per
subject and activity, the two sensors aligned on one grid at the chosen rate (20 Hz nominal).
Malformed lines are counted and reported, never guessed at.
"""

from __future__ import annotations

import io
import logging
import re
import tarfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_runtime.contract import Channel
from edge_runtime.datasets.folder import description, write_description, write_recording
from edge_runtime.errors import DatasetError, UsageError
from edge_runtime.fileio import atomic_directory
from train.importers.align import Stream, align

log = logging.getLogger(__name__)
FILE = re.compile(r"(?:^|/)data_(\d+)_(accel|gyro)_(phone|watch)\.txt$")
#: activity_key.txt of the data set: code -> name.
ACTIVITIES: dict[str, str] = {
    "A": "walking", "B": "jogging", "C": "stairs", "D": "sitting", "E": "standing", "F": "typing",
    "G": "teeth", "H": "soup", "I": "chips", "J": "pasta", "K": "drinking", "L": "sandwich", "M": "kicking",
    "O": "catch", "P": "dribbling", "Q": "writing", "R": "clapping", "S": "folding",
}
SENSORS = {"acc": ("accel", tuple(Channel(f"acc_{a}", "m/s2", "acc") for a in "xyz")),
           "gyro": ("gyro", tuple(Channel(f"gyro_{a}", "rad/s", "gyro") for a in "xyz"))}
CITATION = ("G. M. Weiss, K. Yoneda, T. Hayajneh, Smartphone and Smartwatch-Based Biometrics Using Activities of "
            "Daily Living, IEEE Access 7 (2019) 133190-133202; dataset: UCI ML Repository id 507")


@dataclass
class WisdmReport:
    """Counts of what the import read, dropped and wrote."""

    lines: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    gaps: int = 0
    recordings: int = 0
    seconds_per_class: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    skipped: list[str] = field(default_factory=list)


def _files(src: Path) -> Iterator[tuple[str, bytes]]:
    """(name, content) of every WISDM raw file below ``src`` (a folder or a tar archive)."""
    if src.is_dir():
        for p in sorted(src.rglob("data_*_*_*.txt")):
            if FILE.search(p.as_posix()):
                yield p.as_posix(), p.read_bytes()
        return
    if not src.is_file():
        raise DatasetError(f"{src}: no such folder or archive")
    try:
        with tarfile.open(src, "r:*") as tar:
            for m in tar:
                if m.isfile() and FILE.search(m.name):
                    fh = tar.extractfile(m)
                    if fh is not None:
                        yield m.name, fh.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"{src}: not a readable folder or tar archive ({exc})") from None


def parse(content: bytes, name: str, report: WisdmReport) -> dict[str, Stream]:
    """One raw file -> {activity code: its samples (t seconds, xyz)}; bad lines are counted."""
    rows: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    for line in io.TextIOWrapper(io.BytesIO(content), encoding="utf-8", errors="replace"):
        s = line.strip().rstrip(";").strip()
        if not s:
            continue
        report.lines += 1
        parts = s.split(",")
        if len(parts) != 6:
            report.malformed["wrong_arity"] += 1
            continue
        code = parts[1].strip()
        if code not in ACTIVITIES:
            report.malformed["unknown_activity"] += 1
            continue
        try:
            ts, x, y, z = int(parts[2]), float(parts[3]), float(parts[4]), float(parts[5])
        except ValueError:
            report.malformed["not_a_number"] += 1
            continue
        if not all(np.isfinite((x, y, z))):
            report.malformed["non_finite"] += 1
            continue
        rows[code].append((ts * 1e-9, x, y, z))
    out = {}
    for code, r in rows.items():
        a = np.asarray(r, dtype=np.float64)
        out[code] = Stream(a[:, 0], a[:, 1:])
    return out


def import_wisdm(src: str | Path, out: str | Path, *, device: str = "phone", sensors: tuple[str, ...] = ("acc", "gyro"),
                 rate: float = 20.0, force: bool = False) -> WisdmReport:
    """Write WISDM ``device`` recordings of ``sensors`` at ``rate`` Hz as a data set in ``out``."""
    if device not in ("phone", "watch"):
        raise UsageError(f"--device {device!r}: phone or watch")
    if not sensors or any(s not in SENSORS for s in sensors):
        raise UsageError(f"--sensors {','.join(sensors)!r}: acc, gyro or acc,gyro")
    src, out = Path(src), Path(out)
    report = WisdmReport()
    by_subject: dict[str, dict[str, dict[str, Stream]]] = defaultdict(dict)
    wanted = {SENSORS[s][0] for s in sensors}
    for name, content in _files(src):
        m = FILE.search(name)
        assert m is not None
        subject, sensor, dev = m.groups()
        if dev == device and sensor in wanted:
            by_subject[subject][sensor] = parse(content, name, report)
    if not by_subject:
        raise DatasetError(f"{src}: no WISDM raw files data_<subject>_<accel|gyro>_{device}.txt found")
    channels = tuple(c for s in sensors for c in SENSORS[s][1])
    recordings = []
    with atomic_directory(out, force=force) as tmp:
        for subject in sorted(by_subject, key=int):
            files = by_subject[subject]
            if set(files) != wanted:
                report.skipped.append(f"subject {subject}: no {', '.join(sorted(wanted - set(files)))} file")
                continue
            for code in ACTIVITIES:
                parts = [files[SENSORS[s][0]].get(code) for s in sensors]
                if any(p is None for p in parts):
                    continue
                segs, info = align([p for p in parts if p is not None], rate)
                report.duplicates += info.duplicates
                report.gaps += info.gaps
                for k, (t, x) in enumerate(segs):
                    if len(t) < 2:
                        continue
                    rel = f"recordings/{subject}_{code}{'_' + str(k + 1) if len(segs) > 1 else ''}.csv"
                    write_recording(tmp / rel, t - t[0], x, channels)
                    recordings.append({"file": rel, "subject": subject, "device": device, "label": ACTIVITIES[code]})
                    report.seconds_per_class[ACTIVITIES[code]] += len(t) / rate
                    report.recordings += 1
        if not recordings:
            raise DatasetError(f"{src}: nothing to import for {device} {','.join(sensors)}")
        where = "trouser pocket" if device == "phone" else "dominant wrist"
        write_description(tmp, description(
            f"wisdm2019-{device}-{'+'.join(sensors)}", rate, channels, list(ACTIVITIES.values()), recordings,
            notes=f"WISDM 2019 {device} ({where}); accelerometer in m/s^2 with gravity included; sensors aligned "
                  f"on a {rate:g} Hz grid with an anti-aliasing filter; {sum(report.malformed.values())} malformed "
                  f"lines and {report.duplicates} repeated timestamps dropped",
            source=str(src), license="CC BY 4.0", citation=CITATION, gravity="included"))
    log.info("WISDM %s: %d lines, %d malformed %s, %d repeated timestamps, %d gaps split; %d recordings of %d "
             "subjects written to %s", device, report.lines, sum(report.malformed.values()),
             dict(report.malformed), report.duplicates, report.gaps, report.recordings,
             len({r["subject"] for r in recordings}), out)
    for s in report.skipped:
        log.warning("skipped %s", s)
    return report
