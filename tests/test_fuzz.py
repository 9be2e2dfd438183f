"""Property-based tests of the input path: garbage never escapes as an exception, every bad
record is counted, good records around it are still classified, memory stays bounded."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_runtime.contract import RAW_CHANNELS
from edge_runtime.device.classifier import Classifier
from edge_runtime.device.ingest import MAX_LINE_BYTES, LineParser
from edge_runtime.device.sources import LineAssembler, parse_lines
from edge_runtime.device.stream import StreamClassifier, StreamConfig
from edge_runtime.errors import InputContractError, RecordRejected
from edge_runtime.manifest import load_manifest

GOLDEN = Path(__file__).parent / "models" / "golden"
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def model():
    m = load_manifest(GOLDEN)
    with Classifier.from_manifest(m) as clf:
        yield m, clf


@SETTINGS
@given(st.binary(max_size=3000))
def test_parse_line_never_raises_anything_else(data: bytes) -> None:
    try:
        out = parse_line(data)
    except RecordRejected as r:
        assert r.reason in {"too_long", "bad_utf8", "bad_json", "wrong_arity", "not_a_number", "missing_key"}
        return
    except InputContractError as exc:  # only a header naming a time column but lacking a channel
        assert "has no column for" in str(exc)
        return
    if out is not None:
        t, vals = out
        assert isinstance(t, float) and len(vals) == 6 and all(isinstance(v, float) for v in vals)


@SETTINGS
@given(st.lists(st.one_of(st.binary(max_size=50), st.binary(min_size=1000, max_size=2500)), max_size=20),
       st.lists(st.integers(1, 700), min_size=1, max_size=10))
def test_line_assembler_is_chunking_invariant_and_bounded(pieces: list[bytes], cuts: list[int]) -> None:
    data = b"\n".join(pieces)

    def run(sizes: list[int]) -> tuple[list[bytes], int]:
        asm = LineAssembler()
        out, pos, k = [], 0, 0
        while pos < len(data):
            step = sizes[k % len(sizes)]
            out += asm.feed(data[pos : pos + step])
            assert len(asm._tail) <= MAX_LINE_BYTES  # memory bound, whatever arrives
            pos += step
            k += 1
        out += asm.finish()
        return out, asm.too_long

    whole = run([max(1, len(data))])
    assert run(cuts) == whole
    assert all(len(line) <= MAX_LINE_BYTES for line in whole[0])
    assert whole[1] == sum(len(p) > MAX_LINE_BYTES for p in data.split(b"\n"))


def parse_line(line: bytes) -> tuple[float, tuple[float, ...]] | None:
    """One record through a fresh parser of the golden model's six channels."""
    return LineParser(RAW_CHANNELS).parse(line)


GOOD = st.tuples(*[st.floats(-1.5, 1.5, allow_nan=False)] * 6)


def _never_a_good_sample(line: bytes) -> bool:
    try:
        out = parse_line(line)
    except RecordRejected:
        return True
    return out is None or not all(math.isfinite(v) for v in (out[0], *out[1]))


GARBAGE = st.one_of(
    st.binary(min_size=1, max_size=60).filter(lambda b: b"\n" not in b),
    st.sampled_from([b"nan,1,2,3,4,5,6", b"1,inf,0,0,0,0,0", b"1,2", b'{"t":1}', b"\xff\xfe", b"1,2,3,4,5,6,7,8",
                     b"t,ax,ay,az,gx,gy,gz", b"", b"# note"]),
).filter(_never_a_good_sample)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.large_base_example])
@given(st.lists(st.one_of(GOOD.map(lambda v: ("good", v)), GARBAGE.map(lambda g: ("bad", g))), max_size=400))
def test_garbage_is_counted_and_good_samples_classified(model, items) -> None:
    m, clf = model
    lines, n_good, t = [], 0, 0.0
    for kind, v in items:
        if kind == "good":
            t += 0.02
            lines.append((f"{t:.2f}," + ",".join(repr(x) for x in v)).encode())
            n_good += 1
        else:
            lines.append(v)
    sc = StreamClassifier(clf, m, StreamConfig())
    batch = parse_lines(lines, LineParser(RAW_CHANNELS))
    for reason, n in batch.rejected.items():
        sc.reject(reason, n)
    recs = [r.to_dict() for r in sc.feed(batch.t, batch.x) + sc.finish()]
    skipped = sum(1 for kind, v in items if kind == "bad" and _skipped(v))
    n_bad = sum(1 for kind, _ in items if kind == "bad")
    assert sum(sc.rejected.values()) == n_bad - skipped  # every bad record counted once
    assert sc.samples_used == n_good and sc.gaps == 0  # every good one used
    assert sc.windows == (0 if n_good < 128 else (n_good - 128) // 64 + 1)
    assert sum(r["type"] == "activity" for r in recs) == sc.windows


def _skipped(line: bytes) -> bool:
    try:
        return parse_line(line) is None
    except RecordRejected:
        return False


@SETTINGS
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                          st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=600),
       st.integers(1, 200))
def test_any_timestamps_never_break_the_stream(model, ts: list[float], block: int) -> None:
    m, clf = model
    sc = StreamClassifier(clf, m, StreamConfig(time_unit="s", input_rate_hz=50.0))  # the gap logic, not the clock
    t = np.asarray(ts)
    x = np.tile(np.array([[1.0, 0, 0, 0, 0, 0]]), (len(t), 1))
    recs = []
    for i in range(0, len(t), block):
        recs += [r.to_dict() for r in sc.feed(t[i : i + block], x[i : i + block])]
    recs += [r.to_dict() for r in sc.finish()]
    assert sc.samples_in == len(t)
    assert sc.samples_used + sum(sc.rejected.values()) == len(t)
    assert sc.rejected.get("non_finite", 0) == sum(not math.isfinite(v) for v in ts)
    # No window spans a reset: an independent reference of which samples are accepted and where
    # each window (128 accepted samples after the last gap, then every 64) must end.
    want_ends, want_gaps = reference_windows(ts, sc.max_gap_s)
    ends = [r["t"] for r in recs if r["type"] == "activity"]
    assert ends == want_ends
    assert [r["t"] for r in recs if r["type"] == "gap"] == want_gaps
    assert len(ends) == sc.windows


def reference_windows(ts: list[float], max_gap: float, length: int = 128,
                      hop: int = 64) -> tuple[list[float], list[float]]:
    """Window end times and gap times the stream must emit for timestamps ``ts`` (plausible values)."""
    ends: list[float] = []
    gaps: list[float] = []
    prev: float | None = None
    n = 0
    for v in ts:
        if not math.isfinite(v):
            continue  # rejected as non_finite
        if prev is not None:
            d = v - prev
            if -max_gap <= d <= 0:
                continue  # out of order or duplicate: dropped
            if abs(d) > max_gap:  # a jump either way: new segment, the window restarts
                gaps.append(v)
                n = 0
        prev = v
        n += 1
        if n >= length and (n - length) % hop == 0:
            ends.append(v)
    return ends, gaps


@SETTINGS
@given(st.lists(st.sampled_from([0.01, 0.02, 0.02, 0.02, 0.04, 0.1]), min_size=200, max_size=800))
def test_sudden_rate_changes_are_resampled(model, dts: list[float]) -> None:
    m, clf = model
    sc = StreamClassifier(clf, m, StreamConfig(input_rate_hz=50.0 + 1e-6, time_unit="s"))  # force the resampler
    t = np.cumsum(dts)
    x = np.tile(np.array([[1.0, 0, 0, 0, 0, 0]]), (len(t), 1))
    sc.feed(t, x)
    sc.finish()
    span = t[-1] - t[0]
    assert sc.gaps == 0 and abs(sc.samples_used - (span * 50 + 1)) <= 2  # a uniform 50 Hz grid
