"""A tiny end-to-end fit on a slice of the real data, and the run directory it writes."""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from edge_runtime.datasets.windows import Splits
from edge_runtime.errors import OutputExistsError, UsageError
from edge_runtime.reports import FitMetrics
from train.augment import Augmentation, augment, random_rotations
from train.fit import config_for, default_val_subjects
from train.run import load_trained, run_eval, run_fit

pytestmark = pytest.mark.slow


def test_rotations_are_proper_and_bounded() -> None:
    rng = np.random.default_rng(0)
    r = random_rotations(200, 20.0, rng)
    np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape), atol=1e-5)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-5)
    angle = np.degrees(np.arccos(np.clip((np.trace(r, axis1=1, axis2=2) - 1) / 2, -1, 1)))
    assert angle.max() <= 20.0 + 1e-3 and angle.max() > 15


def test_augment_rotates_acc_and_gyro_together(small_split: Splits) -> None:
    raw = small_split.train.raw[:8]
    out = augment(raw, Augmentation(rotation_deg=30), np.random.default_rng(1))
    # A rotation keeps vector lengths and the angle between acc and gyro.
    np.testing.assert_allclose(np.linalg.norm(out[..., :3], axis=-1), np.linalg.norm(raw[..., :3], axis=-1), rtol=1e-4)
    dot = lambda w: np.sum(w[..., :3] * w[..., 3:], axis=-1)  # noqa: E731
    np.testing.assert_allclose(dot(out), dot(raw), atol=1e-4)
    assert not np.allclose(out, raw)
    assert np.array_equal(augment(raw, Augmentation(), np.random.default_rng(1)), raw)


def test_val_subjects_are_training_subjects(hapt_split: Splits) -> None:
    vs = default_val_subjects(hapt_split.train.subjects)
    assert len(vs) == 4 and set(vs) <= set(hapt_split.train.subjects.tolist())


@pytest.mark.parametrize("arch", ["compact", "tutorial"])
def test_fit_writes_a_complete_run(arch: str, small_split: Splits, tmp_path: Path,
                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="train")
    cfg = config_for(arch, epochs=2, repeats=2, batch_size=64, val_subjects=(5,))
    if arch == "compact":
        cfg = replace(cfg, augmentation=Augmentation(10.0, 0.05, 0.01))
    out = tmp_path / "run"
    res = run_fit(cfg, small_split, out, verbose=0)
    lines = [r.getMessage() for r in caplog.records if r.name == "train.run"]
    for name in ("model.keras", "metrics.json", "config.json", "history.csv", "confusion.png", "training.png"):
        assert (out / name).is_file(), name
    assert any((out / "tensorboard" / "repeat_1").rglob("*tfevents*"))
    m = json.loads((out / "metrics.json").read_text())
    s = m["summary"]
    assert s["repeats"] == 2 and len(m["repeats"]) == 2
    assert 0 <= s["test_accuracy_mean"] <= 1 and s["test_accuracy_std"] >= 0 and 0 <= s["test_macro_f1_mean"] <= 1
    accs = [r["test_accuracy"] for r in m["repeats"]]
    assert s["test_accuracy_mean"] == pytest.approx(np.mean(accs))
    assert m["selected"]["rule"] == "highest validation accuracy"
    vals = [r["val_accuracy"] for r in m["repeats"]]
    assert m["selected"]["repeat"] == int(np.argmax(vals)) + 1
    assert m["data"]["val_subjects"] == [5] and 5 not in m["data"]["train_subjects"]
    assert np.array(m["repeats"][0]["confusion_matrix"]).sum() == len(small_split.test)
    assert set(m["versions"]) >= {"tensorflow", "numpy", "python"} and m["device"]["kind"] in ("CPU", "GPU")
    assert res.metrics.to_dict() == m and FitMetrics.from_dict(m) == res.metrics
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert len(rows) == 4 and {"loss", "accuracy", "val_accuracy"} <= set(rows[0])
    assert any(line.startswith("Accuracy: ") and "% (+/-" in line for line in lines)
    assert sum(line.startswith(">#") for line in lines) == 2
    # The saved model reproduces the selected repeat's test accuracy through eval.
    rep = run_eval(out, small_split)
    assert rep["accuracy"] == pytest.approx(m["selected"]["test_accuracy"])
    assert load_trained(out / "model.keras").spec.preprocessing_id.startswith("harlite-v1/")
    # No overwrite without force; nothing left behind by the refusal.
    with pytest.raises(OutputExistsError):
        run_fit(cfg, small_split, out, verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_failed_fit_leaves_no_run_dir(small_split: Splits, tmp_path: Path) -> None:
    cfg = config_for("tutorial", epochs=1, repeats=1, val_subjects=(99,))
    with pytest.raises(UsageError, match="not training subjects"):
        run_fit(cfg, small_split, tmp_path / "run", verbose=0)
    assert list(tmp_path.iterdir()) == []
