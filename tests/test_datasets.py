from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from edge_runtime.datasets.catalog import load_splits
from edge_runtime.datasets.hapt import HAPT_TEST_SUBJECTS, HaptData, load_hapt, segment_windows
from edge_runtime.datasets.uci_har import load_uci_har
from edge_runtime.datasets.windows import Splits
from edge_runtime.errors import DatasetError


def test_hapt_protocol_counts(hapt_split: Splits) -> None:
    # UCI-HAR protocol on the raw HAPT streams: activities 1-6, 128 samples, 50 % overlap.
    assert len(hapt_split.train) == 7415
    assert len(hapt_split.test) == 2996
    assert set(np.unique(hapt_split.test.subjects)) == set(HAPT_TEST_SUBJECTS)
    assert not set(np.unique(hapt_split.train.subjects)) & set(HAPT_TEST_SUBJECTS)
    assert hapt_split.train.raw.dtype == np.float32 and hapt_split.train.raw.shape[1:] == (128, 6)
    assert sorted(np.unique(hapt_split.train.labels)) == list(range(6))
    assert hapt_split.train.class_names[0] == "WALKING"


def test_hapt_windows_come_from_inside_labelled_segments(hapt: HaptData) -> None:
    rec = hapt.recordings[0]
    act, start, end = rec.segments[0]
    ws = segment_windows(HaptData((rec,), hapt.activity_names, hapt.test_subjects))
    first_label_row = next(s for s in rec.segments if s[0] <= 6)
    np.testing.assert_array_equal(ws.raw[0], rec.stream[first_label_row[1]: first_label_row[1] + 128])
    assert ws.labels[0] == first_label_row[0] - 1
    # README: first sample of exp01 in g; labels are 1-based inclusive -> [start-1, end)
    np.testing.assert_allclose(rec.stream[0, :3], [0.9180556, -0.1125, 0.50972223], rtol=1e-6)
    assert (act, start, end) == (5, 249, 1232)


def test_hapt_sha256_is_checked(tmp_path: Path) -> None:
    from edge_runtime.datasets.hapt import default_hapt_path

    bad = tmp_path / "hapt_raw.npz"
    data = bytearray(default_hapt_path().read_bytes())
    data[-100] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="sha256"):
        load_hapt(bad, verify=True)


def test_hapt_missing_and_malformed(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_hapt(tmp_path / "nope.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match=r"junk.npz"):
        load_hapt(junk)
    np.savez(tmp_path / "nolabels.npz", acc_exp01_user01=np.zeros((10, 3)))
    with pytest.raises(DatasetError, match="labels"):
        load_hapt(tmp_path / "nolabels.npz")
    np.savez(tmp_path / "nogyro.npz", acc_exp01_user01=np.zeros((10, 3)), labels=np.zeros((0, 5)))
    with pytest.raises(DatasetError, match="gyro_exp01_user01"):
        load_hapt(tmp_path / "nogyro.npz")
    np.savez(tmp_path / "outside.npz", acc_exp01_user01=np.zeros((10, 3)), gyro_exp01_user01=np.zeros((10, 3)),
             labels=np.array([[1, 1, 1, 5, 400]]))
    with pytest.raises(DatasetError, match="outside its stream"):
        load_hapt(tmp_path / "outside.npz")
    np.savez(tmp_path / "nan.npz", acc_exp01_user01=np.full((10, 3), np.nan), gyro_exp01_user01=np.zeros((10, 3)),
             labels=np.zeros((0, 5)))
    with pytest.raises(DatasetError, match="NaN"):
        load_hapt(tmp_path / "nan.npz")


def test_hapt_other_file_same_layout(tmp_path: Path, hapt: HaptData) -> None:
    # A file in the same layout that is not the vendored one loads on structure alone.
    rec = hapt.recordings[0]
    rows = np.array([[rec.experiment, rec.subject, a, s + 1, e] for a, s, e in rec.segments])
    p = tmp_path / "other.npz"
    np.savez(p, acc_exp01_user01=rec.stream[:, :3], gyro_exp01_user01=rec.stream[:, 3:], labels=rows)
    got = load_hapt(p)
    assert len(got.recordings) == 1
    np.testing.assert_array_equal(got.recordings[0].stream, rec.stream)


@pytest.mark.parametrize("kind", ["dir", "parent", "zip"])
def test_uci_har_layout(kind: str, uci_dir: Path, uci_zip: Path, hapt_split: Splits) -> None:
    path = {"dir": uci_dir, "parent": uci_dir.parent, "zip": uci_zip}[kind]
    splits = load_splits(f"uci-har:{path}")
    assert len(splits.train) == 40 and len(splits.test) == 20
    idx = np.linspace(0, len(hapt_split.train) - 1, 40).astype(int)
    np.testing.assert_allclose(splits.train.raw, hapt_split.train.raw[idx], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(splits.train.labels, hapt_split.train.labels[idx])
    np.testing.assert_array_equal(splits.train.subjects, hapt_split.train.subjects[idx])


def test_uci_har_missing_file_is_named(uci_dir: Path) -> None:
    (uci_dir / "test" / "Inertial Signals" / "body_gyro_z_test.txt").unlink()
    with pytest.raises(DatasetError, match=r"body_gyro_z_test.txt"):
        load_uci_har(uci_dir)


def test_uci_har_partial_and_malformed(uci_dir: Path) -> None:
    f = uci_dir / "train" / "Inertial Signals" / "total_acc_x_train.txt"
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines[:-1]) + "\n")  # one row short
    with pytest.raises(DatasetError, match=r"total_acc_x_train.txt has 39 rows"):
        load_uci_har(uci_dir)
    f.write_text("\n".join(lines[:-1] + ["1.0 2.0 oops"]) + "\n")
    with pytest.raises(DatasetError, match=r"total_acc_x_train.txt"):
        load_uci_har(uci_dir)
    y = uci_dir / "train" / "y_train.txt"
    y.write_text("7\n" * 40)
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"y_train.txt"):
        load_uci_har(uci_dir)


def test_uci_har_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_uci_har(tmp_path / "missing")
    with pytest.raises(DatasetError, match=r"y_train.txt"):
        load_uci_har(tmp_path)
    z = tmp_path / "empty.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(DatasetError, match="not a UCI HAR archive"):
        load_uci_har(z)
    (tmp_path / "notzip.zip").write_text("x")
    with pytest.raises(DatasetError, match="not a zip"):
        load_uci_har(tmp_path / "notzip.zip")


def test_data_spec_parsing() -> None:
    with pytest.raises(DatasetError, match="unknown data source"):
        load_splits("imagenet")
    with pytest.raises(DatasetError, match="needs a path"):
        load_splits("uci-har")
