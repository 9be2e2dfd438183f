from __future__ import annotations

import pytest

pytest.importorskip("tensorflow")

from train.models import CompactConfig, build


def test_tutorial_is_the_seed_network() -> None:
    m = build("tutorial", (128, 9), 6)
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds == ["Conv1D", "Conv1D", "Dropout", "MaxPooling1D", "Flatten", "Dense", "Dense"]
    assert m.layers[0].filters == 64 and m.layers[0].kernel_size == (3,)
    assert m.layers[5].units == 100 and m.layers[6].units == 6
    assert m.output_shape == (None, 6)
    # 9 channels as in the tutorial: its well-known parameter count.
    # conv 3*9*64+64, conv 3*64*64+64, dense 62*64*100+100, dense 100*6+6
    assert m.count_params() == 1_792 + 12_352 + 396_900 + 606


def test_compact_is_small_and_int8_sized() -> None:
    m = build("compact", (128, 6), 6)
    assert m.output_shape == (None, 6)
    assert m.count_params() < 150_000
    kinds = {type(layer).__name__ for layer in m.layers}
    assert "GlobalAveragePooling1D" in kinds and "Flatten" not in kinds
    wide = build("compact", (128, 8), 6, CompactConfig(filters=(64, 96, 128)))
    assert wide.count_params() > m.count_params()


def test_compact_plain_stages_and_activation() -> None:
    m = build("compact", (128, 6), 6, CompactConfig(kernel=15, plain_stages=2, plain_kernel=5, activation="relu6"))
    stages = [layer for layer in m.layers if type(layer).__name__ in ("Conv1D", "SeparableConv1D")]
    assert [type(layer).__name__ for layer in stages] == ["Conv1D", "SeparableConv1D", "Conv1D", "Conv1D"]
    assert [layer.kernel_size for layer in stages] == [(7,), (15,), (5,), (5,)]
    assert {layer.max_value for layer in m.layers if type(layer).__name__ == "ReLU"} == {6.0}
    with pytest.raises(ValueError, match="plain_stages"):
        CompactConfig(plain_stages=4)
    with pytest.raises(ValueError, match="activation"):
        CompactConfig(activation="gelu")


def test_unknown_arch() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        build("resnet", (128, 6), 6)
