"""The streaming runtime on the golden model: parity with training, smoothing, bad input, gaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_runtime.contract import RAW_CHANNELS, WindowSpec, model_inputs, sliding_windows
from edge_runtime.datasets.hapt import HaptData
from edge_runtime.device.classifier import Classifier
from edge_runtime.device.ingest import LineParser, Units
from edge_runtime.device.smoothing import UNKNOWN, Smoother, SmoothingConfig
from edge_runtime.device.stream import StreamClassifier, StreamConfig
from edge_runtime.device.windowing import RingWindower
from edge_runtime.errors import RecordRejected
from edge_runtime.manifest import load_manifest
from edge_runtime.measure.evaluate import replay
from edge_runtime.qtyping import ActivityRecord

GOLDEN = Path(__file__).parent / "models" / "golden"


@pytest.fixture(scope="module")
def manifest():
    return load_manifest(GOLDEN)


@pytest.fixture(scope="module")
def stream_2(hapt: HaptData) -> np.ndarray:
    """The first 3000 samples of a held-out recording (subject 2)."""
    return next(hapt.by_subjects([2])).stream[:3000]


@pytest.mark.parametrize("block", [1, 7, 64, 128, 129, 1000, 5000])
@pytest.mark.parametrize("hop", [1, 32, 64, 128, 200])
def test_ring_windows_equal_training_windows(stream_2: np.ndarray, block: int, hop: int) -> None:
    w = RingWindower(128, hop)
    t = np.arange(len(stream_2)) / 50.0
    wins, ends = [], []
    for i in range(0, len(stream_2), block):
        a, b = w.push(stream_2[i : i + block], t[i : i + block])
        wins.append(a)
        ends.append(b)
    got = np.concatenate(wins)
    want = sliding_windows(stream_2, WindowSpec(hop=hop))
    assert got.dtype == np.float32 and np.array_equal(got, want)  # bit for bit
    np.testing.assert_array_equal(np.concatenate(ends), t[127 + hop * np.arange(len(want))])


def test_windower_reset_needs_a_full_window() -> None:
    w = RingWindower(4, 2, channels=1)
    x = np.arange(10, dtype=np.float32)[:, None]
    a, _ = w.push(x[:5], np.arange(5.0))
    assert a[:, :, 0].tolist() == [[0, 1, 2, 3]]
    w.reset()
    a, _ = w.push(x[5:8], np.arange(5.0, 8.0))
    assert len(a) == 0 and w.buffered == 3
    a, _ = w.push(x[8:10], np.arange(8.0, 10.0))
    assert a[:, :, 0].tolist() == [[5, 6, 7, 8]]


def test_stream_predictions_equal_converter_validation(stream_2: np.ndarray, manifest) -> None:
    # The daemon's path on a raw stream == the converter's batch validation path on the
    # training windows of the same stream: same inputs, same int8 outputs, same labels.
    spec = manifest.input_spec
    with Classifier.from_manifest(manifest) as clf:
        records, _ = replay(stream_2, clf, manifest, StreamConfig(include_probs=True))
        want = clf.predict_proba(model_inputs(sliding_windows(stream_2, spec.window), spec))
    acts = [r.to_dict() for r in records if isinstance(r, ActivityRecord)]
    assert len(acts) == len(want)
    got = np.array([[r["probs"][n] for n in manifest.labels] for r in acts])
    np.testing.assert_allclose(got, want, atol=5e-5)  # records round to 4 decimals
    assert [r["label"] for r in acts] == [manifest.labels[i] for i in want.argmax(1)]


def test_smoother_average_threshold_dwell() -> None:
    s = Smoother(3, SmoothingConfig(window=2, min_confidence=0.0, min_dwell=1))
    assert s.update(np.array([0.9, 0.1, 0.0])) == (0, pytest.approx(0.9), True)
    label, conf, changed = s.update(np.array([0.0, 1.0, 0.0]))
    assert label == 1 and conf == pytest.approx(0.55) and changed  # mean(0.1, 1.0)
    s = Smoother(2, SmoothingConfig(min_confidence=0.8))
    assert s.update(np.array([0.6, 0.4]))[0] == UNKNOWN
    s = Smoother(2, SmoothingConfig(min_dwell=3))
    seq = [np.array(p) for p in ([1.0, 0], [0, 1.0], [0, 1.0], [1.0, 0], [0, 1.0], [0, 1.0], [0, 1.0])]
    labels = [s.update(p)[0] for p in seq]
    assert labels == [0, 0, 0, 0, 0, 0, 1]  # flicker suppressed; three in a row switches
    with pytest.raises(ValueError):
        SmoothingConfig(window=0)


def parse_line(line: bytes) -> tuple[float, tuple[float, ...]] | None:
    return LineParser(RAW_CHANNELS).parse(line)


@pytest.mark.parametrize(
    "line, expect",
    [
        (b"1.5,0.1,0.2,0.3,0.4,0.5,0.6", (1.5, (0.1, 0.2, 0.3, 0.4, 0.5, 0.6))),
        (b' {"t": 2, "ax": 1, "ay": 0, "az": 0, "gx": 0, "gy": 0, "gz": 0.5}\r', (2.0, (1.0, 0, 0, 0, 0, 0.5))),
        (b"t,ax,ay,az,gx,gy,gz", None),
        (b"t, ax, ay, az, gx, gy, gz", None),
        (b"   ", None),
        (b"# comment", None),
    ],
)
def test_parse_line_good(line: bytes, expect: object) -> None:
    assert parse_line(line) == expect


@pytest.mark.parametrize(
    "line, reason",
    [
        (b"1,2,3", "wrong_arity"),
        (b"1,2,3,4,5,6,7,8", "wrong_arity"),
        (b"1,a,3,4,5,6,7", "not_a_number"),
        (b"\xff\xfe1,2,3,4,5,6,7", "bad_utf8"),
        (b'{"t": 1, "ax": 1}', "missing_key"),
        (b'{"t": 1e999, "ax": 1, "ay": 0, "az": 0, "gx": 0, "gy": 0, "gz": 0}', None),
        (b'{"t": "1", "ax": 1, "ay": 0, "az": 0, "gx": 0, "gy": 0, "gz": 0}', "bad_json"),
        (b'{"t": true, "ax": 1, "ay": 0, "az": 0, "gx": 0, "gy": 0, "gz": 0}', "bad_json"),
        (b"{broken", "bad_json"),
        (b"1," * 600, "too_long"),
    ],
)
def test_parse_line_rejects(line: bytes, reason: str | None) -> None:
    if reason is None:  # parsed (an infinite time), and rejected later as non_finite by the stream
        t, _ = parse_line(line)  # type: ignore[misc]
        assert t == float("inf")
        return
    with pytest.raises(RecordRejected) as exc:
        parse_line(line)
    assert exc.value.reason == reason


def _feed(sc: StreamClassifier, t: np.ndarray, x: np.ndarray) -> list[dict]:
    return [r.to_dict() for r in sc.feed(t, x) + sc.finish()]


def test_bad_values_are_counted_and_good_ones_still_classified(stream_2: np.ndarray, manifest) -> None:
    x = stream_2[:1000].astype(np.float64).copy()
    t = np.arange(len(x)) / 50.0
    x[100, 0] = np.nan
    x[200, 3] = np.inf
    x[300, 1] = 1e6
    with Classifier.from_manifest(manifest) as clf:
        sc = StreamClassifier(clf, manifest)
        recs = _feed(sc, t, x)
    assert sc.rejected == {"non_finite": 2, "out_of_range": 1}
    assert sc.samples_in == 1000 and sc.samples_used == 997
    assert sum(r["type"] == "activity" for r in recs) == (997 - 128) // 64 + 1
    assert not any(r["type"] == "gap" for r in recs)


def test_out_of_order_duplicates_gaps_and_clock_resets(stream_2: np.ndarray, manifest) -> None:
    x = stream_2[:900]
    t = np.arange(900) / 50.0
    t2 = t.copy()
    t2[400] = t2[399]  # duplicate timestamp
    t2[401], t2[402] = t2[402], t2[401]  # swapped pair: one is out of order
    t2[600:] += 3.0  # a 3 s gap
    with Classifier.from_manifest(manifest) as clf:
        sc = StreamClassifier(clf, manifest)
        recs = _feed(sc, t2[:700], x[:700]) + _feed(sc, t2[700:] - 100.0, x[700:])  # clock jumps back 100 s
    assert sc.rejected["out_of_order"] == 2
    gaps = [r for r in recs if r["type"] == "gap"]
    assert len(gaps) == 2 and gaps[0]["gap_s"] == pytest.approx(3.02) and gaps[1]["gap_s"] < -90
    # after each gap the window refills: no window spans a gap
    acts = [r["t"] for r in recs if r["type"] == "activity"]
    assert not any(t2[599] < a < t2[600] + 127 / 50 - 1e-9 for a in acts)


def test_units_and_resampling(stream_2: np.ndarray, manifest) -> None:
    x = stream_2[:1280].astype(np.float64)
    t = np.arange(len(x)) / 50.0
    si = x * np.array([9.80665] * 3 + [180 / np.pi] * 3)
    with Classifier.from_manifest(manifest) as clf:
        base = _feed(StreamClassifier(clf, manifest, StreamConfig(include_probs=True)), t, x)
        conv = _feed(StreamClassifier(clf, manifest, StreamConfig(units=Units("m/s2", "deg/s"), include_probs=True)),
                     t, si)
        # 100 Hz input (linear interpolation of the 50 Hz stream) resampled back to 50 Hz
        t100 = np.arange(2 * len(x) - 1) / 100.0
        x100 = np.stack([np.interp(t100, t, x[:, c]) for c in range(6)], axis=1)
        res = _feed(StreamClassifier(clf, manifest, StreamConfig(input_rate_hz=100, include_probs=True)), t100, x100)
    labels = lambda rs: [r["label"] for r in rs if r["type"] == "activity"]  # noqa: E731
    assert labels(conv) == labels(base)
    assert labels(res) == labels(base)
    ends = [r["t"] for r in res if r["type"] == "activity"]
    assert ends == pytest.approx([r["t"] for r in base if r["type"] == "activity"])


def test_stream_config_validation() -> None:
    with pytest.raises(ValueError):
        StreamConfig(input_rate_hz=0)
    with pytest.raises(ValueError):
        StreamConfig(hop=0)
