"""The data-set folder format: writing, reading, labels three ways, classes, splits, version, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge_runtime.contract import Channel, fit_input_spec
from edge_runtime.datasets.catalog import load_splits
from edge_runtime.datasets.folder import (
    class_mapping,
    description,
    folder_splits,
    load_folder,
    parse_window,
    write_description,
    write_recording,
)
from edge_runtime.datasets.hapt import HaptData
from edge_runtime.errors import DatasetError, InputContractError, UsageError

ACC = tuple(Channel(f"acc_{a}", "m/s2", "acc") for a in "xyz")
GYRO = tuple(Channel(f"gyro_{a}", "rad/s", "gyro") for a in "xyz")
NAMES = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING")


def make_dataset(root: Path, hapt: HaptData, subjects: tuple[int, ...] = (1, 3, 5, 2), rate: float = 25.0,
                 channels: tuple[Channel, ...] = ACC + GYRO) -> Path:
    """HAPT recordings of ``subjects`` as a user would export them: acc in m/s^2, every second sample
    (25 Hz), labels in three styles (a label column, segments, one label per file)."""
    recs = []
    for k, rec in enumerate(r for r in hapt.recordings if r.subject in subjects):
        x = rec.stream[::2].astype(np.float64) * np.array([9.80665] * 3 + [1.0] * 3)
        x = x[:, [0, 1, 2, 3, 4, 5][: len(channels)]]
        t = np.arange(len(x)) / rate
        lab = np.zeros(len(x), dtype=np.int64)
        for act, s, e in rec.segments:
            if act <= 6:
                lab[s // 2 : e // 2] = act
        rel = f"recordings/exp{rec.experiment:02d}.csv"
        if k % 3 == 0:  # a label column, empty where unlabelled
            write_recording(root / rel, t, x, channels, [NAMES[v - 1] if v else "" for v in lab])
            recs.append({"file": rel, "subject": str(rec.subject), "device": "phone", "label_column": "label"})
        elif k % 3 == 1:  # labelled time segments
            write_recording(root / rel, t, x, channels)
            segs = [[float(s // 2 / rate), float(e // 2 / rate), NAMES[a - 1]] for a, s, e in rec.segments if a <= 6]
            recs.append({"file": rel, "subject": str(rec.subject), "segments": segs})
        else:  # one activity per file: its longest walking segment
            _, s, e = max((seg for seg in rec.segments if seg[0] == 1), key=lambda g: g[2] - g[1])
            write_recording(root / rel, t[s // 2 : e // 2] - t[s // 2], x[s // 2 : e // 2], channels)
            recs.append({"file": rel, "subject": str(rec.subject), "label": "WALKING"})
    write_description(root, description("hapt-as-user-data", rate, channels, NAMES, recs,
                                       notes="HAPT (CC BY 4.0) re-exported for tests"))
    return root


@pytest.fixture(scope="module")
def folder(hapt: HaptData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("ds") / "user", hapt)


def test_reads_every_label_style_at_its_own_rate_and_units(folder: Path) -> None:
    ds = load_folder(folder)
    assert ds.rate_hz == 25.0 and [c.unit for c in ds.channels] == ["m/s2"] * 3 + ["rad/s"] * 3
    assert ds.subjects == ("1", "2", "3", "5") and ds.version.startswith("sha256:")
    kinds = {r.file: (r.labels >= 0).mean() for r in ds.recordings}
    assert all(0 < v <= 1 for v in kinds.values())
    acc = np.concatenate([r.stream[:, :3] for r in ds.recordings])
    assert 9.0 < float(np.linalg.norm(acc, axis=1).mean()) < 11.0  # m/s^2 with gravity


def test_splits_are_subject_wise_with_seconds_windows(folder: Path) -> None:
    sp = folder_splits(folder, window="2.56s", test_subjects=[2])
    assert sp.window.length == 64 and sp.window.hop == 32 and sp.window.sample_rate_hz == 25.0
    assert set(np.unique(sp.test.subjects)) == {2} and 2 not in set(np.unique(sp.train.subjects))
    assert sp.channels == ACC + GYRO and sp.version == load_folder(folder).version
    assert sp.options == {"window": 64, "hop": 32, "classes": None, "test_subjects": [2]}
    spec = fit_input_spec(sp.train.raw, None, sp.window, sp.channels)
    assert spec.features == "raw" and spec.raw[0].unit == "m/s2"
    again = load_splits(str(folder), sp.window, test_subjects=[2])
    assert np.array_equal(again.test.raw, sp.test.raw)


def test_classes_are_selected_merged_and_renamed(folder: Path) -> None:
    sp = folder_splits(folder, classes="walk=WALKING,stairs=WALKING_UPSTAIRS+WALKING_DOWNSTAIRS,LAYING",
                       test_subjects=[2])
    assert sp.test.class_names == ("walk", "stairs", "LAYING")
    assert set(np.unique(sp.train.labels)) == {0, 1, 2}
    with pytest.raises(UsageError, match="RUNNING"):
        class_mapping("RUNNING", NAMES)
    with pytest.raises(UsageError, match="at least two"):
        class_mapping("WALKING", NAMES)


def test_version_follows_the_content(folder: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert load_folder(copy).version == load_folder(folder).version  # the path is not content
    f = next((copy / "recordings").iterdir())
    f.write_text(f.read_text().replace("\n0.040000,", "\n0.040001,", 1))
    assert load_folder(copy).version != load_folder(folder).version


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(format="other"), "not a harlite data set"),
    (lambda d: d.update(classes=["only"]), "at least two"),
    (lambda d: d.update(sample_rate_hz=-1), "sample_rate_hz"),
    (lambda d: d["recordings"][0].update(file="../outside.csv"), "not a file inside"),
    (lambda d: d["recordings"][0].update(label="RUNNING"), "not one of the classes"),
    (lambda d: d["recordings"][0].pop("label_column"), "give \"label\""),
    (lambda d: d["channels"].append({"name": "temp", "unit": "C"}), "no column 'temp'"),
])
def test_defects_are_refused_naming_the_field(folder: Path, tmp_path: Path, edit: object, message: str) -> None:
    import shutil

    copy = tmp_path / "bad"
    shutil.copytree(folder, copy)
    doc = json.loads((copy / "dataset.json").read_text())
    edit(doc)  # type: ignore[operator]
    (copy / "dataset.json").write_text(json.dumps(doc))
    with pytest.raises(DatasetError, match=message):
        load_folder(copy)


def test_non_increasing_time_and_nan_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "d"
    t = np.arange(100) / 20.0
    x = np.random.default_rng(0).normal(size=(100, 3))
    t[50] = t[49]
    write_recording(root / "r.csv", t, x, ACC)
    write_description(root, description("d", 20, ACC, ["a", "b"], [{"file": "r.csv", "subject": 1, "label": "a"}]))
    with pytest.raises(DatasetError, match="must increase"):
        load_folder(root)
    t[50] = 2.5 + 0.025
    x[10, 1] = np.nan
    write_recording(root / "r.csv", t, x, ACC)
    with pytest.raises(DatasetError, match="NaN"):
        load_folder(root)


def test_a_zero_gyroscope_is_refused_at_training(folder: Path, tmp_path: Path) -> None:
    sp = folder_splits(folder, test_subjects=[2])
    raw = sp.train.raw.copy()
    raw[..., 3:] = 0.0
    with pytest.raises(InputContractError, match=r"gyro_x .*carry no signal"):
        fit_input_spec(raw, None, sp.window, sp.channels)


def test_window_text() -> None:
    assert parse_window("2.56s", 20.0) == 51 and parse_window("64", 20.0) == 64 and parse_window(None, 50.0) == 128
    for bad in ("0", "abc", "1.5"):
        with pytest.raises(UsageError):
            parse_window(bad, 20.0)
