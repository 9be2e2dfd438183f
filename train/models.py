"""Model architectures. Each builder takes the input shape and class count and returns an
uncompiled Keras model, so training, tests and conversion build identical graphs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import keras


@dataclass(frozen=True)
class CompactConfig:
    """Shape of the ``compact`` network: a stem conv, then stride-2 separable convs, GAP, softmax.

    Chosen for int8 and small devices: BatchNorm folds into the convs at conversion,
    global average pooling replaces the 400 k-parameter Flatten->Dense of the tutorial,
    and every stride-2 stage halves the work of the next.
    """

    stem_filters: int = 32
    stem_kernel: int = 7
    filters: tuple[int, ...] = (48, 64, 96)
    kernel: int = 9
    dropout: float = 0.3


def build_tutorial(input_shape: tuple[int, int], n_classes: int) -> keras.Model:
    """The seed tutorial's Conv1D network, layer for layer."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=input_shape, name="window"),
            layers.Conv1D(64, 3, activation="relu"),
            layers.Conv1D(64, 3, activation="relu"),
            layers.Dropout(0.5),
            layers.MaxPooling1D(2),
            layers.Flatten(),
            layers.Dense(100, activation="relu"),
            layers.Dense(n_classes, activation="softmax"),
        ],
        name="tutorial",
    )


def build_compact(
    input_shape: tuple[int, int], n_classes: int, cfg: CompactConfig = CompactConfig()
) -> keras.Model:
    """The default network: small, int8-friendly and fast on a device CPU."""
    import keras
    from keras import layers

    x_in = keras.Input(shape=input_shape, name="window")
    x = layers.Conv1D(cfg.stem_filters, cfg.stem_kernel, padding="same", use_bias=False)(x_in)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for f in cfg.filters:
        x = layers.SeparableConv1D(f, cfg.kernel, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(cfg.dropout)(x)
    out = layers.Dense(n_classes, activation="softmax", name="probs")(x)
    return keras.Model(x_in, out, name="compact")


ARCHITECTURES: tuple[str, ...] = ("compact", "tutorial")


def build(
    arch: str, input_shape: tuple[int, int], n_classes: int, compact: CompactConfig = CompactConfig()
) -> keras.Model:
    """Build a named architecture; raises ``ValueError`` for an unknown name."""
    if arch == "compact":
        return build_compact(input_shape, n_classes, compact)
    if arch == "tutorial":
        return build_tutorial(input_shape, n_classes)
    raise ValueError(f"unknown architecture {arch!r}; choose from {list(ARCHITECTURES)}")
