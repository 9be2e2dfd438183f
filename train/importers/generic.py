"""CSV/TSV exports -> a harlite data set: generic tables, phyphox and Sensor Logger layouts.

A *recording* is either one table holding a time column and the sensor columns, or a folder (or
``.zip``) of per-sensor tables as phone apps export them:

* phyphox: ``Accelerometer.csv`` (or ``Acceleration with g.csv``), ``Gyroscope.csv``; headers like
  ``"Time (s)","X (m/s^2)"`` or ``"Time (s)","Acceleration x (m/s^2)"``; ``;`` and decimal commas in
  some locales;
* Edge Impulse: data-acquisition JSON (``payload.interval_ms``, ``sensors``, ``values``) and CSV
  (``timestamp`` in ms, ``accX``...);
* Sensor Logger: ``Accelerometer.csv``, ``Gyroscope.csv``, ``TotalAcceleration.csv``, ``Gravity.csv``
  with ``time`` (epoch ns), ``seconds_elapsed`` and axes in the order ``z,y,x``. Gravity is taken
  from ``TotalAcceleration`` when present, else ``Accelerometer + Gravity``; an accelerometer
  without gravity is imported as such and said so in the data set (``"gravity": "removed"``).

Columns are found by name (``ax``, ``acc_x``, ``X (m/s^2)``, ...), units from the header's
parentheses, the options, or -- for an accelerometer with gravity -- its median magnitude (1 g or
9.81 m/s^2). Labels and subjects come from a labels table ``recording,label,subject[,start,end]``,
a label column, options or a file-name pattern. What cannot be read is refused with the file and
the reason; nothing is guessed silently.
"""

from __future__ import annotations

import csv
import logging
import re
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge_runtime.contract import TIME_UNITS, Channel, canonical_unit, unit_factor
from edge_runtime.datasets.folder import description, write_description, write_recording
from edge_runtime.device.ingest import aliases, guess_time_unit
from edge_runtime.errors import DatasetError, UsageError
from edge_runtime.fileio import atomic_directory
from train.importers.align import Stream, align

log = logging.getLogger(__name__)
F64 = npt.NDArray[np.float64]
SENSOR_FILES = {  # file stem (normalised) -> (group, gravity): what per-sensor exports call their files
    "totalacceleration": ("acc", "included"), "accelerationwithg": ("acc", "included"),
    "accelerometer": ("acc", None), "linearacceleration": ("acc", "removed"), "gravity": ("gravity", None),
    "gyroscope": ("gyro", None), "gyroscopeuncalibrated": (None, None), "magnetometer": ("mag", None),
}
TIME_PREFERENCE = ("secondselapsed", "times", "time", "t", "timestamp", "ts", "timems", "timestampms")


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def split_header(name: str) -> tuple[str, str | None]:
    """``"X (m/s^2)"`` -> (``x``, ``m/s2``); ``acc_x`` -> (``accx``, None)."""
    m = re.fullmatch(r"\s*(.*?)\s*[(\[]\s*([^)\]]+)\s*[)\]]\s*", name)
    if m:
        return _norm(m.group(1)), canonical_unit(m.group(2))
    return _norm(name), None


@dataclass
class Table:
    """A CSV/TSV file read as numbers: header names (with units) and columns."""

    path: Path
    names: list[str]
    units: list[str | None]
    values: F64
    text: dict[str, list[str]] = field(default_factory=dict)


def read_table(path: Path, text_columns: Sequence[str] = ()) -> Table:
    """A delimited file: delimiter sniffed (``,`` ``;`` tab), decimal commas when ``;``-separated,
    quotes stripped; columns named in ``text_columns`` kept as text, the others must be numeric."""
    try:
        raw = path.read_text(encoding="utf-8-sig", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read as UTF-8 text ({exc})") from None
    lines = [ln for ln in raw.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 3:
        raise DatasetError(f"{path}: fewer than two data rows")
    first = lines[0]
    delim = max(("\t", ";", ","), key=first.count)
    rows = list(csv.reader(lines, delimiter=delim))
    header = [h.strip() for h in rows[0]]
    parsed = [split_header(h) for h in header]
    names, units = [p[0] for p in parsed], [p[1] for p in parsed]
    keep_text = {_norm(c) for c in text_columns}
    numeric = [i for i, n in enumerate(names) if n not in keep_text]
    body = rows[1:]
    bad = [k for k, r in enumerate(body) if len(r) != len(header)]
    if bad:
        raise DatasetError(f"{path}: line {bad[0] + 2} has {len(body[bad[0]])} fields, the header {len(header)}")
    comma_decimal = delim == ";" and any("," in body[0][i] for i in numeric)
    out = np.empty((len(body), len(numeric)))
    for j, i in enumerate(numeric):
        col = [r[i].strip().replace(",", ".") if comma_decimal else r[i].strip() for r in body]
        try:
            out[:, j] = np.asarray(col, dtype=np.float64)
        except ValueError:
            k = next(k for k, v in enumerate(col) if not _is_number(v))
            raise DatasetError(f"{path}: line {k + 2}, column {header[i]!r}: {col[k]!r} is not a number") from None
    text = {names[i]: [r[i].strip() for r in body] for i in range(len(header)) if names[i] in keep_text}
    return Table(path, [names[i] for i in numeric], [units[i] for i in numeric], out, text)


def _is_number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def time_column(t: Table, given: str | None) -> int:
    """Index of the time column: ``given``, else the first of the usual names."""
    if given:
        want = split_header(given)[0]
        if want not in t.names:
            raise DatasetError(f"{t.path}: no time column {given!r} (columns: {t.names})")
        return t.names.index(want)
    for name in TIME_PREFERENCE:
        if name in t.names:
            return t.names.index(name)
    raise DatasetError(f"{t.path}: no time column among {t.names}; name it with --time-column")


def seconds(t: Table, idx: int, unit: str) -> F64:
    """The time column in seconds from the recording's first sample."""
    col = t.values[:, idx]
    header_unit = t.units[idx]
    if unit == "auto":
        if header_unit in TIME_UNITS:
            unit = header_unit
        elif t.names[idx] == "secondselapsed":
            unit = "s"
        else:
            unit = guess_time_unit(col, 50.0)
    if unit not in TIME_UNITS:
        raise UsageError(f"time unit {unit!r}: s, ms, us, ns or auto")
    out: F64 = (col - col[0]) * TIME_UNITS[unit]
    return out


def axis_columns(t: Table, group: str | None) -> list[int] | None:
    """Indices of the x, y, z columns of ``group`` (or of a per-sensor file's plain x/y/z)."""
    out = []
    for axis in "xyz":
        names = {axis} if group is None else set().union(*(aliases(f"{g}_{axis}") for g in [group]))
        if group is None:
            names |= {f"acceleration{axis}", f"gyroscope{axis}", f"magneticfield{axis}", f"{axis}axis"}
        hits = [i for i, n in enumerate(t.names) if n in names]
        if not hits:
            return None
        out.append(hits[0])
    return out


@dataclass(frozen=True)
class Options:
    """How to read the recordings (the CLI's options)."""

    sensors: tuple[str, ...] = ("acc", "gyro")
    time_column: str | None = None
    time_unit: str = "auto"
    acc_unit: str | None = None
    gyro_unit: str | None = None
    rate: float | None = None


#: Sensor Logger writes SI units without naming them in its headers (its files are recognised by
#: their ``seconds_elapsed`` column); an accelerometer with gravity is still checked by magnitude.
SENSOR_LOGGER_UNITS = {"acc": "m/s2", "gyro": "rad/s", "gravity": "m/s2"}


def gravity_in(x: F64) -> str:
    """``included`` or ``removed``, without knowing the unit: with gravity, the mean vector of a recording
    is nearly as long as a typical sample (gravity dominates); without it, the mean is close to zero."""
    typical = float(np.median(np.linalg.norm(x, axis=1)))
    return "included" if typical > 0 and float(np.linalg.norm(x.mean(axis=0))) > 0.5 * typical else "removed"


def unit_of(group: str, declared: str | None, opts: Options, x: F64, gravity: str | None, where: str,
            preset: dict[str, str] | None = None) -> str:
    """The unit of a sensor group: the option, the header, (accelerometer with gravity) its magnitude, or
    the app's documented preset; else a refusal that says which option to pass."""
    given = opts.acc_unit if group == "acc" else opts.gyro_unit if group == "gyro" else None
    if given:
        return canonical_unit(given)
    if declared:
        return declared
    if group == "acc" and gravity != "removed":
        m = float(np.median(np.linalg.norm(x, axis=1)))
        if 0.8 <= m <= 1.25:
            return "g"
        if 7.8 <= m <= 12.3:
            return "m/s2"
    if preset and group in preset:
        return preset[group]
    raise DatasetError(f"{where}: cannot tell the unit of the {group} columns; pass --{group}-unit")


def edge_impulse_json(rec: Path, opts: Options) -> tuple[dict[str, Stream], dict[str, str], str | None]:
    """An Edge Impulse data-acquisition file: ``payload.interval_ms``, ``payload.sensors`` (name, units)
    and ``payload.values`` rows."""
    import json

    try:
        doc = json.loads(rec.read_text(encoding="utf-8"))
        pay = doc["payload"]
        interval = float(pay["interval_ms"]) / 1000.0
        sensors = [(str(s["name"]), str(s.get("units", ""))) for s in pay["sensors"]]
        values = np.asarray(pay["values"], dtype=np.float64)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise DatasetError(f"{rec}: not an Edge Impulse data-acquisition JSON file ({exc!r})") from None
    if values.ndim != 2 or values.shape[1] != len(sensors) or not interval > 0 or not np.isfinite(values).all():
        raise DatasetError(f"{rec}: payload.values must be rows of {len(sensors)} finite numbers, interval_ms > 0")
    t: F64 = np.arange(len(values), dtype=np.float64) * interval
    names = [_norm(n) for n, _ in sensors]
    streams, units = {}, {}
    for group in opts.sensors:
        idx = []
        for axis in "xyz":
            hits = [i for i, n in enumerate(names) if n in aliases(f"{group}_{axis}")]
            if not hits:
                raise DatasetError(f"{rec}: no {group} {axis} sensor among {[n for n, _ in sensors]}")
            idx.append(hits[0])
        declared = canonical_unit(sensors[idx[0]][1]) if sensors[idx[0]][1] else None
        units[group] = unit_of(group, declared, opts, values[:, idx], None, str(rec))
        streams[group] = Stream(t, values[:, idx])
    return streams, units, None


def sensor_streams(rec: Path, opts: Options) -> tuple[dict[str, Stream], dict[str, str], str | None]:
    """{group: samples in the group's target unit}, {group: unit}, gravity note, for one recording."""
    streams: dict[str, Stream] = {}
    units: dict[str, str] = {}
    gravity: str | None = None
    if rec.suffix.lower() == ".json":
        return edge_impulse_json(rec, opts)
    if rec.is_dir():
        files = {_norm(p.stem): p for p in rec.iterdir() if p.suffix.lower() in (".csv", ".tsv", ".txt")}
        got: dict[str, tuple[Stream, str | None, str | None]] = {}
        preset = None
        for stem, (group, grav) in SENSOR_FILES.items():
            if group is None or stem not in files or (group in got and stem == "accelerometer"):
                continue
            t = read_table(files[stem])
            cols = axis_columns(t, None)
            if cols is None:
                raise DatasetError(f"{files[stem]}: no x, y, z columns (columns: {t.names})")
            ti = time_column(t, opts.time_column)
            decl = t.units[cols[0]]
            if "secondselapsed" in t.names:
                preset = SENSOR_LOGGER_UNITS
            got[group] = (Stream(seconds(t, ti, opts.time_unit) + _origin(t, ti), t.values[:, cols]), decl, grav)
        if "acc" in got and "gravity" in got and got["acc"][2] is None and "totalacceleration" not in files:
            acc, grav_s = got["acc"][0], got["gravity"][0]
            g = np.stack([np.interp(acc.t, grav_s.t, grav_s.x[:, k]) for k in range(3)], axis=1)
            got["acc"] = (Stream(acc.t, acc.x + g), got["acc"][1], "included (Accelerometer + Gravity)")
        elif "acc" in got and got["acc"][2] is None:
            got["acc"] = (got["acc"][0], got["acc"][1], gravity_in(got["acc"][0].x))
        for group in opts.sensors:
            if group not in got:
                raise DatasetError(f"{rec}: no {group} file (found {sorted(files)})")
            s, decl, grav = got[group]
            if group == "acc":
                gravity = grav
            units[group] = unit_of(group, decl, opts, s.x, grav, str(rec), preset)
            streams[group] = s
        return streams, units, gravity
    t = read_table(rec, ("label", "activity", "class", "subject", "user"))
    ti = time_column(t, opts.time_column)
    ts = seconds(t, ti, opts.time_unit)
    for group in opts.sensors:
        cols = axis_columns(t, group)
        if cols is None:
            raise DatasetError(f"{rec}: no {group} x/y/z columns (columns: {t.names}; accepted e.g. "
                               f"{sorted(aliases(group + '_x'))})")
        units[group] = unit_of(group, t.units[cols[0]], opts, t.values[:, cols], None, str(rec))
        streams[group] = Stream(ts, t.values[:, cols])
    return streams, units, gravity


def _origin(t: Table, ti: int) -> float:
    """Per-sensor files share a clock: keep their absolute offset (seconds()) subtracts each file's start)."""
    col = t.values[:, ti]
    return 0.0 if t.names[ti] == "secondselapsed" else float(col[0]) * _unit_scale(t, ti)


def _unit_scale(t: Table, ti: int) -> float:
    u = t.units[ti]
    return TIME_UNITS.get(u or "", TIME_UNITS[guess_time_unit(t.values[:, ti], 50.0)])


@dataclass(frozen=True)
class LabelRow:
    """One row of a labels table."""

    label: str
    subject: str
    start: float | None
    end: float | None


def read_labels_table(path: Path) -> dict[str, list[LabelRow]]:
    """``recording,label,subject[,start,end]`` -> {recording: rows}; the simplest way to label a folder."""
    rows: dict[str, list[LabelRow]] = defaultdict(list)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = [f.strip().lower() for f in (reader.fieldnames or [])]
            if not {"recording", "label", "subject"} <= set(fields):
                raise DatasetError(f"{path}: a labels table needs the columns recording,label,subject[,start,end]")
            for k, r in enumerate(reader, start=2):
                r = {str(a).strip().lower(): (b or "").strip() for a, b in r.items()}
                try:
                    start = float(r["start"]) if r.get("start") else None
                    end = float(r["end"]) if r.get("end") else None
                except ValueError:
                    raise DatasetError(f"{path}: line {k}: start/end must be seconds") from None
                if (start is None) != (end is None) or (start is not None and end is not None and end <= start):
                    raise DatasetError(f"{path}: line {k}: give both start and end, end after start")
                if not r["recording"] or not r["label"] or not r["subject"]:
                    raise DatasetError(f"{path}: line {k}: recording, label and subject must not be empty")
                rows[r["recording"].replace("\\", "/")].append(LabelRow(r["label"], r["subject"], start, end))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    return rows


def find_recordings(src: Path) -> list[Path]:
    """Recordings below ``src``: folders of per-sensor files, else every CSV/TSV file."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise DatasetError(f"{src}: no such file or folder")
    found: list[Path] = []
    for d in sorted({p.parent for p in src.rglob("*") if p.is_file()}):
        stems = {_norm(p.stem) for p in d.iterdir() if p.is_file()}
        if stems & {"accelerometer", "totalacceleration", "accelerationwithg"} and "gyroscope" in stems | {"gyroscope"}:
            if stems & set(SENSOR_FILES):
                found.append(d)
                continue
        found += sorted(p for p in d.iterdir() if p.suffix.lower() in (".csv", ".tsv", ".json") and p.is_file())
    return found


def import_csv(src: str | Path, out: str | Path, *, opts: Options = Options(), labels_table: Path | None = None,
               label: str | None = None, subject: str | None = None, subject_pattern: str | None = None,
               label_pattern: str | None = None, force: bool = False) -> dict[str, Any]:
    """Import every recording below ``src`` into a data set at ``out``; returns a summary."""
    src, out = Path(src), Path(out)
    with tempfile.TemporaryDirectory(prefix="harlite-import-") as unzip:
        if src.is_file() and src.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(src) as z:
                    z.extractall(unzip)
            except (zipfile.BadZipFile, OSError) as exc:
                raise DatasetError(f"{src}: not a readable zip ({exc})") from None
            src = Path(unzip)
        return _import(src, out, opts, labels_table, label, subject, subject_pattern, label_pattern, force)


def _import(src: Path, out: Path, opts: Options, labels_table: Path | None, label: str | None, subject: str | None,
            subject_pattern: str | None, label_pattern: str | None, force: bool) -> dict[str, Any]:
    table = read_labels_table(labels_table) if labels_table else {}
    recs = find_recordings(src)
    if not recs:
        raise DatasetError(f"{src}: no CSV/TSV recordings")
    loaded = []
    used: set[str] = set()
    for rec in recs:
        rel = rec.relative_to(src).as_posix() if rec != src else rec.name
        key = rel if rel in table else rel.rsplit(".", 1)[0]
        rows = table.get(key, [])
        used.add(key)
        if table and not rows:
            log.warning("%s: not in the labels table, skipped", rel)
            continue
        subj = rows[0].subject if rows else subject
        if subj is None and subject_pattern:
            m = re.search(subject_pattern, rel)
            subj = m.group(1) if m and m.groups() else (m.group(0) if m else None)
        lab = label
        if not rows and label_pattern:
            m = re.search(label_pattern, rel)
            lab = m.group(1) if m and m.groups() else (m.group(0) if m else None)
        if subj is None:
            raise UsageError(f"{rel}: no subject: give --subject, --subject-pattern or a labels table")
        streams, units, gravity = sensor_streams(rec, opts)
        loaded.append((rel, subj, rows, lab, streams, units, gravity))
    unmatched = sorted(set(table) - used)
    if unmatched:  # a typo in the table would otherwise drop a labelled recording without a word
        log.warning("labels table rows name %d recording(s) not found under %s: %s", len(unmatched), src,
                    ", ".join(unmatched[:5]))
    rates = [1.0 / float(np.median(np.diff(s.t))) for *_, streams, _, _ in loaded for s in streams.values()]
    rate = opts.rate or float(round(np.median(rates)))
    channels, recordings, classes = _write(out, force, loaded, opts, rate)
    return {"recordings": len(recordings), "rate_hz": rate, "channels": [c.name for c in channels],
            "classes": classes}


def _write(out: Path, force: bool, loaded: list[Any], opts: Options,
           rate: float) -> tuple[tuple[Channel, ...], list[dict[str, Any]], list[str]]:
    units0 = loaded[0][5]
    channels = tuple(Channel(f"{g}_{a}", units0[g], g) for g in opts.sensors for a in "xyz")
    recordings: list[dict[str, Any]] = []
    classes: list[str] = []
    gravity = {r[6] for r in loaded if r[6]}
    with atomic_directory(out, force=force) as tmp:
        for k, (rel, subj, rows, lab, streams, units, _) in enumerate(loaded):
            conv = [Stream(streams[g].t, streams[g].x * unit_factor(units[g], units0[g])) for g in opts.sensors]
            segs, _ = align(conv, rate)
            if not segs:
                log.warning("%s: the sensors never overlap in time; skipped", rel)
                continue
            for j, (t, x) in enumerate(segs):
                stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", rel)[-60:]
                name = f"recordings/{k:04d}_{stem}{'_' + str(j + 1) if j else ''}.csv"
                write_recording(tmp / name, t - segs[0][0][0], x, channels)
                entry: dict[str, Any] = {"file": name, "subject": str(subj), "source": rel}
                if rows and rows[0].start is not None:
                    entry["segments"] = [[r.start - (t[0] - segs[0][0][0]), r.end - (t[0] - segs[0][0][0]), r.label]
                                         for r in rows if r.start is not None and r.end is not None]
                    classes += [r.label for r in rows]
                else:
                    cls = rows[0].label if rows else lab
                    if cls is None:
                        raise UsageError(f"{rel}: no label: give --label, --label-pattern or a labels table")
                    entry["label"] = cls
                    classes.append(cls)
                recordings.append(entry)
        names = sorted(set(classes))
        if len(names) < 2:
            raise DatasetError(f"only one class ({names}) among the recordings: a classifier needs at least two")
        write_description(tmp, description(out.name, rate, channels, names, recordings,
                                            gravity=", ".join(sorted(gravity)) if gravity else "unknown",
                                            notes=f"imported by har-data from {len(loaded)} recordings"))
    return channels, recordings, names
