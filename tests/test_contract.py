from __future__ import annotations

import numpy as np
import pytest

from edge_runtime.contract import (
    FEATURE_SETS,
    HAPT_CHANNELS,
    Channel,
    InputSpec,
    WindowSpec,
    features,
    fit_input_spec,
    model_inputs,
    sliding_windows,
    unit_factor,
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


@pytest.mark.parametrize("bad", [np.zeros(6), np.zeros((2, 128, 6))])
def test_sliding_windows_rejects_bad_shapes(bad: np.ndarray) -> None:
    with pytest.raises(InputContractError, match="shape"):
        sliding_windows(bad, WindowSpec())


def test_any_channel_count_and_a_mismatch_is_refused() -> None:
    acc = tuple(Channel(f"acc_{a}", "m/s2", "acc") for a in "xyz")
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(20, 64, 3)).astype(np.float32) + np.float32(9.8)
    spec = fit_input_spec(raw, window=WindowSpec(20.0, 64, 32), raw=acc)
    assert spec.features == "raw" and spec.shape == (64, 3) and spec.raw_names == ("acc_x", "acc_y", "acc_z")
    x = model_inputs(raw, spec)
    assert x.shape == (20, 64, 3) and abs(float(x.mean())) < 1e-4
    d = spec.to_dict()
    assert d["raw_units"] == ["m/s2"] * 3 and d["raw_groups"] == ["acc"] * 3 and d["sample_rate_hz"] == 20.0
    assert InputSpec.from_dict(d) == spec
    norm = fit_input_spec(raw, "raw+norm", WindowSpec(20.0, 64, 32), acc)
    assert norm.channels == ("acc_x", "acc_y", "acc_z", "acc_norm")
    with pytest.raises(InputContractError, match="shape"):
        model_inputs(np.zeros((2, 64, 6), np.float32), spec)
    with pytest.raises(InputContractError, match="six HAPT channels"):
        fit_input_spec(raw, "raw6", WindowSpec(20.0, 64, 32), acc)


def test_a_dead_channel_is_refused() -> None:
    raw = np.random.default_rng(1).normal(size=(30, 128, 6)).astype(np.float32)
    raw[..., 4] = 0.0  # a gyroscope axis recorded as zeros
    with pytest.raises(InputContractError, match=r"gyro_y .*carry no signal"):
        fit_input_spec(raw)


def test_units_convert_within_a_quantity_only() -> None:
    assert unit_factor("g", "m/s2") == pytest.approx(9.80665) and unit_factor("m/s^2", "m/s2") == 1.0
    assert unit_factor("deg/s", "rad/s") == pytest.approx(np.pi / 180) and unit_factor("dps", "deg/s") == 1.0
    with pytest.raises(InputContractError, match="cannot convert"):
        unit_factor("g", "rad/s")


def test_old_specs_without_groups_still_load() -> None:
    d = fit_input_spec(np.random.default_rng(2).normal(size=(10, 128, 6)).astype(np.float32)).to_dict()
    del d["raw_groups"]
    assert InputSpec.from_dict(d).raw == HAPT_CHANNELS
    del d["raw_channels"], d["raw_units"]
    assert InputSpec.from_dict(d).raw == HAPT_CHANNELS


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
    assert x.dtype == np.float32 and x.shape == (50, 128, 8 if feature_set.endswith("+norm") else 6)
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
    spec = fit_input_spec(np.random.default_rng(0).normal(size=(2, 128, 6)), "raw6")
    with pytest.raises(InputContractError, match="expects 128"):
        model_inputs(np.ones((2, 100, 6)), spec)
