"""The resampler on its own: grid placement, exact interpolation, chunking invariance, reset."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_runtime.device.resampling import Resampler
from edge_runtime.errors import UsageError


def _push_all(r: Resampler, t: np.ndarray, x: np.ndarray, cuts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    ts, xs, start = [], [], 0
    for end in [*cuts, len(t)]:
        gt, gx = r.push(t[start:end], x[start:end])
        ts.append(gt)
        xs.append(gx.reshape(-1, x.shape[1]))
        start = end
    return np.concatenate(ts), np.concatenate(xs)


def test_same_rate_is_the_identity() -> None:
    t = 3.0 + np.arange(200) / 50.0
    x = np.random.default_rng(0).normal(size=(200, 6))
    gt, gx = Resampler(50.0).push(t, x)
    np.testing.assert_allclose(gt, t, rtol=0, atol=1e-9)
    np.testing.assert_allclose(gx, x, rtol=0, atol=1e-9)


def test_linear_signal_is_interpolated_exactly_at_the_model_rate() -> None:
    t = np.arange(301) / 100.0  # 100 Hz, 3 s
    x = np.stack([2.0 * t + 1.0, -t], axis=1)
    gt, gx = Resampler(50.0).push(t, x)
    np.testing.assert_allclose(np.diff(gt), 0.02, atol=1e-12)
    assert gt[0] == 0.0 and len(gt) == 151
    np.testing.assert_allclose(gx, np.stack([2.0 * gt + 1.0, -gt], axis=1), atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.005, 0.05), min_size=2, max_size=300), st.lists(st.integers(1, 299), max_size=8))
def test_output_does_not_depend_on_chunking(dts: list[float], cuts: list[int]) -> None:
    t = np.cumsum(dts)
    x = np.stack([np.sin(t), np.cos(3 * t)], axis=1)
    whole = Resampler(50.0).push(t, x)
    pieces = _push_all(Resampler(50.0), t, x, sorted({c for c in cuts if c < len(t)}))
    np.testing.assert_allclose(pieces[0], whole[0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pieces[1], whole[1], rtol=0, atol=1e-9)
    # every grid point lies inside the input span, one period apart
    assert whole[0][0] == t[0] and whole[0][-1] <= t[-1] + 1e-9
    np.testing.assert_allclose(np.diff(whole[0]), 0.02, atol=1e-9)


def test_reset_starts_a_new_grid_at_the_next_sample() -> None:
    r = Resampler(50.0)
    r.push(np.arange(10) / 50.0, np.zeros((10, 1)))
    r.reset()
    gt, gx = r.push(np.array([100.013, 100.033]), np.array([[1.0], [3.0]]))
    np.testing.assert_allclose(gt, [100.013, 100.033], atol=1e-9)
    np.testing.assert_allclose(gx[:, 0], [1.0, 3.0], atol=1e-9)


def test_empty_blocks_and_bad_rates() -> None:
    r = Resampler(20.0)
    gt, gx = r.push(np.empty(0), np.empty((0, 3)))
    assert len(gt) == 0 and gx.shape == (0, 3)
    for bad in (0.0, -5.0, float("nan")):
        with pytest.raises(UsageError, match="rate"):
            Resampler(bad)
