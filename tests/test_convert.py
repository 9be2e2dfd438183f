"""har-convert on a tiny model trained in the test: every variant, manifest, report, gate."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("tensorflow")

from convert import calibration, micro, pipeline
from convert.cli import main
from convert.pipeline import parse_variants, run_convert
from convert.validate import Gate
from edge_runtime.contract import model_inputs
from edge_runtime.datasets.windows import Splits
from edge_runtime.device.classifier import Classifier
from edge_runtime.errors import (
    ExitCode,
    GateFailed,
    UsageError,
)
from edge_runtime.manifest import load_manifest
from edge_runtime.reports import ConversionReport
from train.augment import Augmentation
from train.fit import config_for
from train.models import CompactConfig
from train.run import run_fit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_run(small_split: Splits, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = replace(config_for("compact", epochs=8, batch_size=16, repeats=1, val_subjects=(), class_weight="none"),
                  compact=CompactConfig(stem_filters=8, filters=(12, 16, 24)),
                  augmentation=Augmentation(20.0, 0.05, 0.01))
    out = tmp_path_factory.mktemp("runs") / "tiny"
    run_fit(cfg, small_split, out, verbose=0)
    return out


def test_every_variant_manifest_and_report(tiny_run: Path, small_split: Splits, tmp_path: Path) -> None:
    out = tmp_path / "conv"
    res = run_convert(tiny_run, out, variants=parse_variants("int8,float16,dynamic,float32"),
                      calibration_samples=100, max_drop_pp=100.0, data=small_split)
    rep = json.loads((out / "report.json").read_text())
    assert rep == json.loads(json.dumps(res.report.to_dict())) and ConversionReport.from_dict(rep) == res.report
    assert set(rep["variants"]) == {"int8", "float16", "dynamic", "float32"}
    assert 0 <= rep["float"]["accuracy"] <= 1 and rep["gate"]["passed"] is True
    assert rep["gate"]["max_drop_pp"] == 100.0
    d = rep["data"]
    assert d["calibration_requested"] == {"clip_percentile": "auto", "activation_ranges": "auto"}
    check = d["calibration_check"]  # auto tried every clip x ranges candidate on other training windows...
    tried = {(c["clip_percentile"], c["activation_ranges"]) for c in check["candidates"]}
    assert tried == {(p, r) for p in calibration.CLIP_CANDIDATES for r in ("minmax", "mean")} and check["windows"] > 0
    assert check["chosen"]["agreement"] == max(c["agreement"] for c in check["candidates"])  # ...kept the best
    assert (d["calibration_clip_percentile"], d["activation_ranges"]) == (
        check["chosen"]["clip_percentile"], check["chosen"]["activation_ranges"])
    assert len(d["calibration_clip_range"]) == 2 and "Chosen automatically" in (out / "report.md").read_text()
    for v in rep["variants"].values():
        assert {"file", "bytes", "accuracy", "drop_pp", "agreement"} <= set(v)
        assert (out / v["file"]).stat().st_size == v["bytes"]
        assert v["drop_pp"] == pytest.approx(100 * (rep["float"]["accuracy"] - v["accuracy"]))
    assert rep["variants"]["float32"]["agreement"] == 1.0
    assert rep["float"]["accuracy"] > 0.35  # twice chance: the tiny model really learned something...
    assert rep["variants"]["int8"]["agreement"] >= 0.95  # ...and honest calibration keeps it
    assert rep["variants"]["int8"]["bytes"] < rep["variants"]["float32"]["bytes"]
    m = load_manifest(out)
    assert m.default_variant == "int8" and m.labels == small_split.test.class_names
    for f in m.files.values():
        assert hashlib.sha256((out / f.file).read_bytes()).hexdigest() == f.sha256
    assert m.file("int8").input.dtype == "int8" and m.file("int8").output.dtype == "int8"
    assert m.file("int8").input.shape == (1, 128, 6)
    raw = json.loads((out / "model.json").read_text())
    assert raw["training"]["arch"] == "compact" and raw["versions"]["tensorflow"]
    assert raw["input_spec"]["channels"][0] == "acc_x" and raw["input_spec"]["raw_units"][0] == "g"
    md = (out / "report.md").read_text()
    assert "| int8 |" in md and "Gate: PASSED" in md and (out / "confusion_int8.png").is_file()
    assert rep["micro"]["available"] == micro.available()  # installed by the dev set-up (extra "micro")
    if micro.available():
        # TFLM vs LiteRT reference kernels: measured bit-exact on most models; on this tiny one
        # with 100 calibration windows one output in ~900 can differ by 1 LSB (reported, not hidden).
        mcu = rep["micro"]
        assert mcu["runs"] and mcu["arena_bytes"] > 0 and mcu["max_abs_diff"] <= 1
        assert mcu["bit_exact"] == (mcu["mismatched_values"] == 0) and mcu["top1_agreement"] >= 0.99
    # The manifest's int8 model reproduces the report's accuracy through the device classifier.
    with Classifier.from_manifest(out) as clf:
        pred = clf.predict_proba(model_inputs(small_split.test.raw, m.input_spec)).argmax(1)
    assert np.mean(pred == small_split.test.labels) == pytest.approx(rep["variants"]["int8"]["accuracy"])


def test_gate_trips_on_broken_calibration(tiny_run: Path, small_split: Splits, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # Calibrating on inputs 50x too small squeezes the int8 ranges: almost everything saturates.
    real = pipeline.calibration_inputs
    monkeypatch.setattr(pipeline, "calibration_inputs", lambda s, spec: real(s, spec) * 0.02)
    out = tmp_path / "conv"
    with pytest.raises(GateFailed, match="int8"):
        run_convert(tiny_run, out, variants=("int8",), calibration_samples=50, data=small_split)
    rep = json.loads((out / "report.json").read_text())  # files are still written...
    assert rep["gate"]["passed"] is False and rep["variants"]["int8"]["passed"] is False  # ...marked failed
    assert "Gate: FAILED" in (out / "report.md").read_text()
    res = CliRunner().invoke(main, [str(tiny_run), "--out", str(tmp_path / "cli"), "--quantize", "int8",
                                    "--calibration-samples", "50", "--data", "hapt"])
    assert res.exit_code == ExitCode.GATE_FAILED, res.output
    assert "accuracy gate failed" in res.output


def test_clip_calibration() -> None:
    from convert.calibration import clip_calibration

    x = np.concatenate([np.linspace(-1, 1, 9998), [-50.0, 60.0]])
    clipped, rng = clip_calibration(x, 99.9)
    assert rng is not None and -1.01 < rng[0] < -0.99 and 0.99 < rng[1] < 1.01
    assert clipped.min() == rng[0] and clipped.max() == rng[1] and len(clipped) == len(x)
    same, none = clip_calibration(x, 100.0)
    assert none is None and same is x
    with pytest.raises(ValueError, match="percentile"):
        clip_calibration(x, 40.0)


def test_mean_ranges_ignore_one_outlying_window() -> None:
    """One window far outside the rest sets a min/max range; averaged ranges barely move."""
    import keras

    from convert.variants import convert
    from edge_runtime.device.litert import make_interpreter

    inp = keras.Input((128, 6), name="window")
    hidden = keras.layers.Conv1D(1, 3, kernel_initializer="ones", use_bias=False, name="sum3")(inp)
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten(name="flat")(hidden))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(0)
    calib = np.clip(rng.normal(size=(50, 128, 6)), -3, 3).astype(np.float32)
    calib[0] = 3.0  # a window every conv output of which is 54, in range for the input

    def hidden_scale(ranges: str) -> float:
        details = make_interpreter(convert(model, "int8", calib, 50, 0, ranges=ranges)).get_tensor_details()
        (scale,) = [d["quantization"][0] for d in details if "/flat" in d["name"]]  # shares the conv's scale
        return float(scale)

    minmax, mean = hidden_scale("minmax"), hidden_scale("mean")
    assert minmax * 255 == pytest.approx(54 + 14, abs=8)  # the outlier's 54 sets the top
    assert mean < minmax / 2.5  # the mean of per-window maxima (~10, and 54 once in 50) does not
    with pytest.raises(ValueError, match="activation ranges"):
        convert(model, "int8", calib, 50, 0, ranges="median")


def test_cli_errors(tiny_run: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, [str(tmp_path / "nothing"), "--out", str(tmp_path / "o")])
    assert res.exit_code == ExitCode.MODEL_ERROR and "no Keras model" in res.output
    (tmp_path / "model.h5").write_text("x")
    res = runner.invoke(main, [str(tmp_path / "model.h5"), "--out", str(tmp_path / "o")])
    assert res.exit_code == ExitCode.MODEL_ERROR and "not a .keras file" in res.output
    res = runner.invoke(main, [str(tiny_run), "--out", str(tmp_path / "o"), "--quantize", "int4"])
    assert res.exit_code == ExitCode.USAGE and "unknown variants" in res.output
    (tmp_path / "exists").mkdir()
    res = runner.invoke(main, [str(tiny_run), "--out", str(tmp_path / "exists")])
    assert res.exit_code == ExitCode.OUTPUT_EXISTS
    bad = tmp_path / "badrun"
    bad.mkdir()
    (bad / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    (bad / "config.json").write_text((tiny_run / "config.json").read_text())
    res = runner.invoke(main, [str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == ExitCode.MODEL_ERROR and "cannot load" in res.output
    res = runner.invoke(main, [str(tiny_run), "--out", str(tmp_path / "o"), "--data", "uci-har:/nope"])
    assert res.exit_code == ExitCode.DATA_ERROR
    assert not (tmp_path / "o").exists()


def test_model_with_wrong_input_shape_is_refused(tiny_run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "run"
    bad.mkdir()
    (bad / "model.keras").write_bytes((tiny_run / "model.keras").read_bytes())
    cfg = json.loads((tiny_run / "config.json").read_text())
    cfg["input_spec"]["window"] = 64
    (bad / "config.json").write_text(json.dumps(cfg))
    res = CliRunner().invoke(main, [str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == ExitCode.MODEL_ERROR and "takes input" in res.output


def test_outputs_must_match_the_class_list(tiny_run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "run"
    bad.mkdir()
    (bad / "model.keras").write_bytes((tiny_run / "model.keras").read_bytes())
    cfg = json.loads((tiny_run / "config.json").read_text())
    cfg["class_names"] = cfg["class_names"][:3]  # a 6-output model that claims 3 classes
    (bad / "config.json").write_text(json.dumps(cfg))
    res = CliRunner().invoke(main, [str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == ExitCode.MODEL_ERROR and "6 outputs but its config names 3 classes" in res.output
    assert not (tmp_path / "o").exists()


def test_a_model_at_chance_never_passes(small_split: Splits, tmp_path: Path) -> None:
    """A model trained on shuffled labels scores about the majority share: the gate must fail it,
    however small its int8 drop."""
    rng = np.random.default_rng(0)
    shuffled = replace(small_split.train, labels=rng.permutation(small_split.train.labels))
    sp = Splits(shuffled, small_split.test, "shuffled")
    cfg = replace(config_for("compact", epochs=2, batch_size=32, repeats=1, val_subjects=()),
                  compact=CompactConfig(stem_filters=8, filters=(12, 16, 24)))
    run_fit(cfg, sp, tmp_path / "run", verbose=0)
    with pytest.raises(GateFailed, match="no better than always answering"):
        run_convert(tmp_path / "run", tmp_path / "out", variants=("float32",), data=small_split, max_drop_pp=100.0)
    rep = json.loads((tmp_path / "out" / "report.json").read_text())
    counts = np.bincount(small_split.test.labels)
    assert rep["gate"]["majority_share"] == pytest.approx(counts.max() / counts.sum())
    assert rep["variants"]["float32"]["accuracy"] <= rep["gate"]["majority_share"] + 0.05


def test_gate_rule() -> None:
    g = Gate(max_drop_pp=1.0, baseline=0.4, baseline_class="SITTING")
    assert g.check(0.0, 1.0, 0.9) == []
    assert "always answering 'SITTING' (40.00%" in g.check(0.0, 1.0, 0.4)[0]


def test_fine_tuning_keeps_the_input_spec_and_replaces_the_head(tiny_run: Path, small_split: Splits,
                                                                tmp_path: Path) -> None:
    import numpy as np

    from edge_runtime.datasets.windows import WindowSet
    from train.run import load_trained

    three = [WindowSet(w.raw, np.minimum(w.labels, 2), w.subjects, ("walk", "stairs", "still"))
             for w in (small_split.train, small_split.test)]
    sp = Splits(three[0], three[1], "three", window=small_split.window)
    cfg = replace(config_for("compact", epochs=1, repeats=1, val_subjects=()), init_from=str(tiny_run))
    run_fit(cfg, sp, tmp_path / "ft", verbose=0)
    before, after = load_trained(tiny_run), load_trained(tmp_path / "ft")
    assert after.spec == before.spec and after.model.output_shape[-1] == 3 and after.class_names == three[0].class_names
    short = Splits(WindowSet(three[0].raw[:, :64], *astuple3(three[0])), WindowSet(three[1].raw[:, :64],
                   *astuple3(three[1])), "short", window=replace(small_split.window, length=64, hop=32))
    with pytest.raises(UsageError, match="128-sample windows at 50 Hz, the data has 64"):
        run_fit(cfg, short, tmp_path / "ft2", verbose=0)


def astuple3(w: object) -> tuple[object, object, object]:
    return w.labels, w.subjects, w.class_names  # type: ignore[attr-defined]
