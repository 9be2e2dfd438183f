"""Model architectures. Each builder takes the input shape and class count and returns an
uncompiled Keras model, so training, tests and conversion build identical graphs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge_runtime.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import keras


#: Activation name -> ReLU max_value (None: unbounded).
ACTIVATIONS: dict[str, float | None] = {"relu": None, "relu6": 6.0}


@dataclass(frozen=True)
class CompactConfig:
    """Shape of the ``compact`` network: a stem conv, then stride-2 stages (depthwise-separable,
    the last ``plain_stages`` of them plain), GAP, softmax. The trained default is in
    ``train.fit.ARCH_DEFAULTS``; these field defaults are the all-separable round-1 shape.

    Chosen for int8 and small devices: BatchNorm folds into the convs at conversion,
    global average pooling replaces the 400 k-parameter Flatten->Dense of the tutorial,
    and every stride-2 stage halves the work of the next.
    """

    stem_filters: int = 32
    stem_kernel: int = 7
    filters: tuple[int, ...] = (48, 64, 96)
    kernel: int = 9
    dropout: float = 0.3
    #: How many of the last stages are plain Conv1D instead of depthwise-separable, and
    #: their kernel (default ``kernel``): XNNPACK's int8 dense convolutions are faster, and
    #: their weights outweigh the per-channel quantisation metadata.
    plain_stages: int = 0
    plain_kernel: int | None = None
    #: "relu" or "relu6" (bounded activations give int8 calibration a fixed range).
    activation: str = "relu"

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise UsageError(f"unknown activation {self.activation!r}; choose from {list(ACTIVATIONS)}")
        if not 0 <= self.plain_stages <= len(self.filters):
            raise UsageError(f"plain_stages must lie in [0, {len(self.filters)}], got {self.plain_stages}")


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
    max_value = ACTIVATIONS[cfg.activation]
    first_plain = len(cfg.filters) - cfg.plain_stages
    x = layers.Conv1D(cfg.stem_filters, cfg.stem_kernel, padding="same", use_bias=False)(x_in)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(max_value)(x)
    for i, f in enumerate(cfg.filters):
        if i < first_plain:
            x = layers.SeparableConv1D(f, cfg.kernel, strides=2, padding="same", use_bias=False)(x)
        else:
            x = layers.Conv1D(f, cfg.plain_kernel or cfg.kernel, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU(max_value)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(cfg.dropout)(x)
    out = layers.Dense(n_classes, activation="softmax", name="probs")(x)
    return keras.Model(x_in, out, name="compact")


ARCHITECTURES: tuple[str, ...] = ("compact", "tutorial")


def build(
    arch: str, input_shape: tuple[int, int], n_classes: int, compact: CompactConfig = CompactConfig()
) -> keras.Model:
    """Build a named architecture; raises :class:`UsageError` for an unknown name."""
    if arch == "compact":
        return build_compact(input_shape, n_classes, compact)
    if arch == "tutorial":
        return build_tutorial(input_shape, n_classes)
    raise UsageError(f"unknown architecture {arch!r}; choose from {list(ARCHITECTURES)}")


def rehead(pretrained: keras.Model, n_classes: int) -> keras.Model:
    """``pretrained`` with a fresh softmax layer of ``n_classes`` outputs in place of its last layer
    (fine-tuning on other classes); every other layer keeps its trained weights."""
    import keras
    from keras import layers

    features = pretrained.layers[-2].output
    out = layers.Dense(n_classes, activation="softmax", name="probs_finetuned")(features)
    return keras.Model(pretrained.input, out, name=f"{pretrained.name}_ft")
