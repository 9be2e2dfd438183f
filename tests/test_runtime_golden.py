"""Device-path tests against the committed golden float32/int8 pair; no TensorFlow needed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_runtime.contract import model_inputs
from edge_runtime.device.classifier import Classifier
from edge_runtime.errors import ModelError
from edge_runtime.manifest import load_manifest
from edge_runtime.measure.modelinfo import model_info

GOLDEN = Path(__file__).parent / "models" / "golden"


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    with np.load(GOLDEN / "expected.npz") as z:
        return {k: z[k] for k in z.files}


def test_manifest_describes_the_files() -> None:
    m = load_manifest(GOLDEN / "model.json")
    assert m.default_variant == "int8" and set(m.files) == {"int8", "float32"}
    assert m.labels[0] == "WALKING" and len(m.labels) == 6
    f8 = m.file("int8")
    assert f8.input.dtype == "int8" and f8.input.shape == (1, 128, 6) and f8.input.scale > 0
    assert f8.output.dtype == "int8" and f8.output.shape == (1, 6)
    assert m.input_spec.window.sample_rate_hz == 50 and m.input_spec.window.hop == 64
    assert m.file("float32").input.dtype == "float32"
    assert load_manifest(GOLDEN) == m  # a directory works too


def test_model_inputs_are_reproduced_bit_for_bit(expected: dict[str, np.ndarray]) -> None:
    spec = load_manifest(GOLDEN).input_spec
    np.testing.assert_array_equal(model_inputs(expected["raw"], spec), expected["inputs"])


def test_int8_outputs_match_golden_exactly(expected: dict[str, np.ndarray]) -> None:
    with Classifier.from_manifest(GOLDEN / "model.json") as clf:
        assert clf.input.dtype == "int8"
        np.testing.assert_array_equal(clf.predict_raw_outputs(expected["inputs"]), expected["int8_outputs"])
        np.testing.assert_array_equal(clf.predict_proba(expected["inputs"]), expected["int8_probs"])


def test_int8_optimised_kernels_track_reference_kernels(expected: dict[str, np.ndarray]) -> None:
    # XNNPACK requantises with its own rounding, so its int8 outputs may differ from the
    # BUILTIN_REF kernels by a couple of LSB (measured: at most 2); the decision must not.
    # Bit-exactness against BUILTIN_REF is what TFLM must meet (convert.micro checks it).
    content = load_manifest(GOLDEN).read_model("int8")
    with Classifier(content) as fast, Classifier(content, reference_kernels=True) as ref:
        x = expected["inputs"]
        a = fast.predict_raw_outputs(x).astype(np.int32)
        b = ref.predict_raw_outputs(x).astype(np.int32)
    assert np.abs(a - b).max() <= 2
    np.testing.assert_array_equal(a.argmax(1), b.argmax(1))


def test_float32_matches_golden_and_int8_agrees(expected: dict[str, np.ndarray]) -> None:
    with Classifier.from_manifest(GOLDEN, "float32") as clf:
        p = clf.predict_proba(expected["inputs"])
    np.testing.assert_allclose(p, expected["float32_probs"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)
    assert np.mean(p.argmax(1) == expected["int8_probs"].argmax(1)) >= 0.9


def test_quantize_saturates_and_rounds() -> None:
    with Classifier.from_manifest(GOLDEN) as clf:
        s, zp = clf.input.scale, clf.input.zero_point
        x = np.array([1e9, -1e9, 0.0, 2.4 * s, 2.6 * s], np.float32)
        q = clf.quantize(x)
        assert q.dtype == np.int8
        assert q.tolist() == [127, -128, zp, zp + 2, zp + 3]
        np.testing.assert_allclose(clf.dequantize(np.array([clf.output.zero_point], np.int8)), [0.0])


def test_classifier_rejects_wrong_shapes_and_closed_use() -> None:
    clf = Classifier.from_manifest(GOLDEN)
    with pytest.raises(ModelError, match="model inputs must be"):
        clf.predict_proba(np.zeros((2, 100, 6), np.float32))
    clf.close()
    with pytest.raises(ModelError, match="closed"):
        clf.predict_proba(np.zeros((1, 128, 6), np.float32))


def test_model_info_counts_ops_and_macs() -> None:
    info = model_info(load_manifest(GOLDEN).read_model("int8"))
    assert info.op_counts["CONV_2D"] == 4 and info.op_counts["DEPTHWISE_CONV_2D"] == 3
    # stem 128*16*7*6 + dw 64*16*9 + pw 64*24*16 + dw 32*24*9 + pw 32*32*24 + dw 16*32*9 + pw 16*48*32 + fc 6*48
    assert info.macs == 86016 + 9216 + 24576 + 6912 + 24576 + 4608 + 24576 + 288


# --- corrupt manifests and model files: a clear ModelError, never a crash ----------------


def _copy_golden(tmp_path: Path) -> Path:
    d = tmp_path / "m"
    shutil.copytree(GOLDEN, d)
    return d


def _edit_manifest(d: Path, edit) -> None:
    m = json.loads((d / "model.json").read_text())
    edit(m)
    (d / "model.json").write_text(json.dumps(m))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.__setitem__("labels", []), "no labels"),
        (lambda m: m.pop("labels"), "malformed"),
        (lambda m: m.__setitem__("labels", ["A", "B"]), "6 outputs but 2 labels"),
        (lambda m: m["files"]["int8"]["input"].__setitem__("shape", [1, 64, 6]), "does not fit the input spec"),
        (lambda m: m.__setitem__("format", "other"), "not a harlite model manifest"),
        (lambda m: m.__setitem__("schema", 99), "schema"),
        (lambda m: m["files"]["int8"].__setitem__("file", "../../etc/passwd"), "plain name"),
        (lambda m: m.__setitem__("default_variant", "int4"), "no 'int4' model"),
        (lambda m: m["input_spec"].__setitem__("preprocessing_id", "x/y"), "preprocessing id"),
        (lambda m: m["input_spec"]["normalisation"].__setitem__("std", [0, 1, 1, 1, 1, 1]), "std"),
    ],
)
def test_bad_manifests_are_refused(tmp_path: Path, edit, message: str) -> None:
    d = _copy_golden(tmp_path)
    _edit_manifest(d, edit)
    with pytest.raises(ModelError, match=message):
        load_manifest(d / "model.json")


def test_unreadable_manifests(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no model manifest"):
        load_manifest(tmp_path / "model.json")
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match="not a readable JSON"):
        load_manifest(tmp_path / "model.json")
    (tmp_path / "model.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ModelError):
        load_manifest(tmp_path / "model.json")
    (tmp_path / "model.json").write_text("[1, 2]")
    with pytest.raises(ModelError, match="not a harlite model manifest"):
        load_manifest(tmp_path / "model.json")


def test_sha256_mismatch_is_refused(tmp_path: Path) -> None:
    d = _copy_golden(tmp_path)
    data = bytearray((d / "model_int8.tflite").read_bytes())
    data[len(data) // 2] ^= 0x01
    (d / "model_int8.tflite").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the manifest"):
        Classifier.from_manifest(d)
    (d / "model_int8.tflite").unlink()
    with pytest.raises(ModelError, match="cannot read model file"):
        Classifier.from_manifest(d)


CORRUPT_LOADER = """
import sys
from edge_runtime.device.classifier import Classifier
from edge_runtime.errors import ModelError
try:
    Classifier(open(sys.argv[1], "rb").read())
except ModelError as exc:
    print("ModelError:", exc)
    sys.exit(3)
print("loaded")
"""


@pytest.mark.parametrize("corruption", ["truncated", "empty", "text", "header-only"])
def test_corrupt_tflite_fails_cleanly_in_a_subprocess(tmp_path: Path, corruption: str) -> None:
    # In a child process, so a native crash fails this test instead of killing pytest.
    good = (GOLDEN / "model_int8.tflite").read_bytes()
    bad = {"truncated": good[: len(good) // 3], "empty": b"", "text": b'{"not": "a model"}' * 10,
           "header-only": good[:64]}[corruption]
    f = tmp_path / "bad.tflite"
    f.write_bytes(bad)
    proc = subprocess.run([sys.executable, "-c", CORRUPT_LOADER, str(f)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    assert "ModelError" in proc.stdout
