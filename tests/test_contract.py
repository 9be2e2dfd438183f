from __future__ import annotations

import numpy as np
import pytest

from edge_runtime.contract import (
    FEATURE_SETS,
    InputSpec,
    WindowSpec,
    features,
    fit_input_spec,
    model_inputs,
    sliding_windows,
)
from edge_runtime.errors import InputContractError


def test_sliding_windows_counts_and_edges() -> None:
    stream = np.arange(300 * 6, dtype=np.float32).reshape(300, 6)
    w = sliding_windows(stream, WindowSpec())
    assert w.shape == ((300 - 128) // 64 + 1, 128, 6)
    np.testing.assert_array_equal(w[0], stream[:128])
    np.testing.assert_array_equal(w[1], stream[64:192])
    np.testing.assert_array_equal(w[-1], stream[128:256])  # the 44-sample tail is dropped
    assert sliding_windows(stream[:127], WindowSpec()).shape == (0, 128, 6)
    assert sliding_windows(stream[:128], WindowSpec()).shape == (1, 128, 6)


def test_sliding_windows_copies() -> None:
    stream = np.zeros((200, 6), np.float32)
    w = sliding_windows(stream, WindowSpec())
    stream[:] = 1
    assert not w.any()


@pytest.mark.parametrize("bad", [np.zeros((10, 5)), np.zeros(6), np.zeros((2, 128, 6))])
def test_sliding_windows_rejects_bad_shapes(bad: np.ndarray) -> None:
    with pytest.raises(InputContractError, match="shape"):
        sliding_windows(bad, WindowSpec())


def test_window_spec_validates() -> None:
    with pytest.raises(InputContractError):
        WindowSpec(hop=0)
    with pytest.raises(InputContractError):
        WindowSpec(sample_rate_hz=0)
    assert WindowSpec().seconds == pytest.approx(2.56)


@pytest.mark.parametrize("feature_set", sorted(FEATURE_SETS))
def test_model_inputs_are_zscored_on_training_stats(feature_set: str) -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal([1, 0, 0, 0, 0, 0], [0.3, 0.2, 0.2, 1, 1, 1], size=(50, 128, 6)).astype(np.float32)
    spec = fit_input_spec(raw, feature_set)
    x = model_inputs(raw, spec)
    assert x.dtype == np.float32 and x.shape == (50, 128, len(FEATURE_SETS[feature_set]))
    flat = x.reshape(-1, x.shape[-1])
    np.testing.assert_allclose(flat.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(flat.std(0), 1, atol=1e-3)


def test_norm_features_are_vector_lengths() -> None:
    raw = np.zeros((1, 128, 6), np.float32)
    raw[..., 0], raw[..., 1], raw[..., 5] = 3.0, 4.0, -2.0
    f = features(raw, "raw6+norm")
    assert f[0, 0, 6] == 5.0 and f[0, 0, 7] == 2.0


def test_input_spec_roundtrip_and_validation() -> None:
    spec = fit_input_spec(np.random.default_rng(2).normal(size=(4, 128, 6)), "raw6")
    again = InputSpec.from_dict(spec.to_dict())
    assert again == spec
    np.testing.assert_array_equal(
        model_inputs(np.ones((2, 128, 6)), again), model_inputs(np.ones((2, 128, 6)), spec)
    )
    d = spec.to_dict()
    d["preprocessing_id"] = "someone-else/v9"
    with pytest.raises(InputContractError, match="preprocessing id"):
        InputSpec.from_dict(d)
    with pytest.raises(InputContractError, match="malformed"):
        InputSpec.from_dict({"window": 128})
    with pytest.raises(InputContractError, match="std"):
        InputSpec(WindowSpec(), "raw6", (0.0,) * 6, (1.0,) * 5 + (0.0,))
    with pytest.raises(InputContractError, match="unknown feature set"):
        InputSpec(WindowSpec(), "fft", (0.0,) * 6, (1.0,) * 6)


def test_model_inputs_rejects_wrong_window_length() -> None:
    spec = fit_input_spec(np.ones((2, 128, 6)) + np.arange(6), "raw6")
    with pytest.raises(InputContractError, match="expects 128"):
        model_inputs(np.ones((2, 100, 6)), spec)
