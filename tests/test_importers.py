"""Importers on real recordings in the layouts apps and data sets publish them."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")

from edge_runtime.datasets.folder import load_folder
from edge_runtime.datasets.hapt import HaptData
from edge_runtime.errors import DatasetError, UsageError
from train.importers.align import Stream, align
from train.importers.generic import Options, import_csv
from train.importers.wisdm import import_wisdm
from train.inspect import inspect_dataset

SLICE = Path(__file__).parent / "data" / "wisdm_slice"


def test_wisdm_slice_imports_with_both_sensors_aligned(tmp_path: Path) -> None:
    rep = import_wisdm(SLICE, tmp_path / "w", device="phone")
    ds = load_folder(tmp_path / "w")
    assert rep.recordings == 9 and sum(rep.malformed.values()) == 0
    assert ds.rate_hz == 20.0 and [c.name for c in ds.channels] == ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y",
                                                                    "gyro_z"]
    assert ds.subjects == ("1600", "1604", "1606") and ds.classes[:5] == ("walking", "jogging", "stairs", "sitting",
                                                                         "standing")
    assert {ds.classes[int(r.labels[0])] for r in ds.recordings} == {"walking", "jogging", "sitting"}
    assert all(18 < len(r.stream) / 20.0 <= 20.0 for r in ds.recordings)  # 20 s of each, aligned
    s = inspect_dataset(tmp_path / "w")
    assert s["units"].startswith("ok") and abs(s["measured_rate_hz"]["median"] - 20.0) < 0.01


def test_wisdm_from_the_archive_and_malformed_lines(tmp_path: Path) -> None:
    raw = tmp_path / "wisdm2019" / "raw"
    shutil.copytree(SLICE / "raw", raw)
    f = raw / "phone" / "accel" / "data_1600_accel_phone.txt"
    f.write_text(f.read_text() + "1600,A,notanumber,1,2,3;\n1600,Z,1,1,2,3;\n1600,A,5,5\n\n")
    arch = tmp_path / "wisdm.tar.xz"
    with tarfile.open(arch, "w:xz") as tar:
        tar.add(tmp_path / "wisdm2019", arcname="wisdm2019")
    rep = import_wisdm(arch, tmp_path / "w", device="watch", sensors=("acc",))
    assert rep.recordings == 9  # watch files of the archive untouched
    rep = import_wisdm(arch, tmp_path / "p", device="phone", sensors=("acc",))
    assert dict(rep.malformed) == {"not_a_number": 1, "unknown_activity": 1, "wrong_arity": 1}
    assert [c.name for c in load_folder(tmp_path / "p").channels] == ["acc_x", "acc_y", "acc_z"]
    with pytest.raises(DatasetError, match="no WISDM raw files"):
        import_wisdm(tmp_path / "p", tmp_path / "q")
    with pytest.raises(UsageError, match="--sensors"):
        import_wisdm(arch, tmp_path / "q", sensors=("mag",))


def test_align_anti_aliases_and_keeps_only_common_time() -> None:
    t = np.arange(0, 10, 0.01)  # 100 Hz
    fast = np.sin(2 * np.pi * 40 * t)[:, None]  # 40 Hz: above a 20 Hz grid's Nyquist frequency
    slow = np.sin(2 * np.pi * 1 * t)[:, None]
    segs, rep = align([Stream(t, fast), Stream(t[200:] + 0.003, slow[200:])], 20.0)
    (g, x), = segs
    assert rep.filtered and abs(g[0] - 2.003) < 1e-9 and g[-1] <= 9.99
    assert np.abs(x[:, 0]).max() < 0.05  # the 40 Hz tone is filtered, not folded to 0 Hz
    np.testing.assert_allclose(x[:, 1], np.sin(2 * np.pi * g), atol=0.02)
    gap = np.r_[t[:300], t[600:]]
    segs, rep = align([Stream(gap, slow[np.r_[0:300, 600:1000]])], 50.0)
    assert len(segs) == 2 and rep.gaps == 1


def _hapt_stream(hapt: HaptData, subject: int, n: int = 3000) -> np.ndarray:
    rec = next(hapt.by_subjects([subject]))
    return rec.stream[:n].astype(np.float64)


def test_generic_table_with_a_labels_table(hapt: HaptData, tmp_path: Path) -> None:
    src = tmp_path / "export"
    src.mkdir()
    for subj in (1, 3):
        x = _hapt_stream(hapt, subj)
        t_ms = 1.7e12 + np.arange(len(x)) * 20.0  # epoch milliseconds
        lines = ["timestamp\tGyrX\tGyrY\tGyrZ\tAccX\tAccY\tAccZ\tbattery"]
        lines += [f"{ts:.0f}\t" + "\t".join(f"{v:.6f}" for v in (*row[3:], *row[:3])) + "\t0.9"
                  for ts, row in zip(t_ms, x)]
        (src / f"user{subj}_walk.tsv").write_text("\n".join(lines) + "\n")
    (tmp_path / "labels.csv").write_text("recording,label,subject,start,end\n"
                                         "user1_walk.tsv,walking,1,0,30\nuser1_walk.tsv,standing,1,30,59\n"
                                         "user3_walk.tsv,walking,3,5,25\n")
    with pytest.raises(DatasetError, match="unit of the gyro"):
        import_csv(src, tmp_path / "d", labels_table=tmp_path / "labels.csv")
    s = import_csv(src, tmp_path / "d", labels_table=tmp_path / "labels.csv", opts=Options(gyro_unit="rad/s"))
    assert s["rate_hz"] == 50.0 and s["classes"] == ["standing", "walking"]
    ds = load_folder(tmp_path / "d")
    assert ds.channels[0].unit == "g"  # told apart from m/s^2 by the magnitude of gravity
    np.testing.assert_allclose(ds.recordings[0].stream[:, :3], _hapt_stream(hapt, 1)[:, :3], atol=1e-5)
    lab = ds.recordings[0].labels
    assert (lab[: 30 * 50] == ds.classes.index("walking")).all() and (lab[30 * 50 : 59 * 50] >= 0).all()
    assert (lab[59 * 50 + 1 :] == -1).all()


def _phyphox(folder: Path, x: np.ndarray, old: bool = False, german: bool = False) -> None:
    folder.mkdir(parents=True)
    sep, dec = (";", ",") if german else (",", ".")
    for name, cols, unit, vals in (("Accelerometer", "Acceleration" if old else "", "m/s^2", x[:, :3] * 9.80665),
                                   ("Gyroscope", "Gyroscope" if old else "", "rad/s", x[:, 3:])):
        axes = [f'"{cols} {a} ({unit})"' if old else f'"{a.upper()} ({unit})"' for a in "xyz"]
        rows = [sep.join(['"Time (s)"', *axes])]
        t = np.arange(len(vals)) / 50.0 + (0.004 if name == "Gyroscope" else 0.0)  # own clocks
        rows += [sep.join(f"{v:.9E}".replace(".", dec) for v in (ti, *row)) for ti, row in zip(t, vals)]
        (folder / f"{name}.csv").write_text("\n".join(rows) + "\n")


def test_phyphox_exports_old_new_and_german(hapt: HaptData, tmp_path: Path) -> None:
    src = tmp_path / "phyphox"
    _phyphox(src / "alice_walking", _hapt_stream(hapt, 1))
    _phyphox(src / "bob_walking", _hapt_stream(hapt, 3), old=True)
    _phyphox(src / "bob_sitting", _hapt_stream(hapt, 3)[::-1].copy(), german=True)
    s = import_csv(src, tmp_path / "d", subject_pattern=r"^(\w+?)_", label_pattern=r"_(\w+)$")
    ds = load_folder(tmp_path / "d")
    assert s["recordings"] == 3 and ds.subjects == ("alice", "bob") and ds.classes == ("sitting", "walking")
    assert [c.unit for c in ds.channels] == ["m/s2"] * 3 + ["rad/s"] * 3
    acc = np.concatenate([r.stream[:, :3] for r in ds.recordings])
    assert 9.3 < float(np.median(np.linalg.norm(acc, axis=1))) < 10.5


def test_sensor_logger_zip_gravity_and_axis_order(hapt: HaptData, tmp_path: Path) -> None:
    x = _hapt_stream(hapt, 1)
    g = np.tile(x[:, :3].mean(axis=0), (len(x), 1))  # the gravity estimate the app reports
    rec = tmp_path / "2024-05-01_10-00-00"
    rec.mkdir()
    t_ns = 1.7e18 + np.arange(len(x)) * 2e7
    for name, vals in (("Accelerometer", (x[:, :3] - g) * 9.80665), ("Gravity", g * 9.80665),
                       ("Gyroscope", x[:, 3:])):
        rows = ["time,seconds_elapsed,z,y,x"]
        rows += [f"{ts:.0f},{(ts - t_ns[0]) / 1e9:.4f},{v[2]:.7f},{v[1]:.7f},{v[0]:.7f}" for ts, v in zip(t_ns, vals)]
        (rec / f"{name}.csv").write_text("\n".join(rows) + "\n")
    (rec / "Metadata.csv").write_text("version,device\n1.0,phone\n")
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in rec.iterdir():
            zf.write(f, f"{rec.name}/{f.name}")
    (tmp_path / "labels.csv").write_text(f"recording,label,subject\n{rec.name},walking,7\n")
    with pytest.raises(DatasetError, match="at least two"):
        import_csv(z, tmp_path / "d", labels_table=tmp_path / "labels.csv")
    shutil.copytree(rec, tmp_path / "more" / "a")
    shutil.copytree(rec, tmp_path / "more" / "b")
    (tmp_path / "more" / "b" / "Gravity.csv").unlink()  # an Android export without gravity
    (tmp_path / "labels2.csv").write_text("recording,label,subject\na,walking,7\nb,standing,8\n")
    import_csv(tmp_path / "more", tmp_path / "d", labels_table=tmp_path / "labels2.csv")
    ds = load_folder(tmp_path / "d")
    assert [c.unit for c in ds.channels] == ["m/s2"] * 3 + ["rad/s"] * 3
    assert ds.description["gravity"] == "included (Accelerometer + Gravity), removed"  # said, not hidden
    np.testing.assert_allclose(ds.recordings[0].stream[:100, :3], x[:100, :3] * 9.80665, atol=1e-4)  # x, y, z order
    assert float(np.median(np.linalg.norm(ds.recordings[1].stream[:, :3], axis=1))) < 3.0


def test_refusals_name_the_file_and_reason(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("foo,bar\n1,2\n3,4\n5,6\n")
    with pytest.raises(DatasetError, match="no time column"):
        import_csv(tmp_path / "a.csv", tmp_path / "o", subject="1", label="x")
    (tmp_path / "b.csv").write_text("t,ax,ay,az,gx,gy,gz\n0,1,0,0,0,0,0\n0.02,1,0,0,x,0,0\n0.04,1,0,0,0,0,0\n")
    with pytest.raises(DatasetError, match="line 3, column 'gx'"):
        import_csv(tmp_path / "b.csv", tmp_path / "o", subject="1", label="x")
    with pytest.raises(UsageError, match="no subject"):
        import_csv(tmp_path / "b.csv", tmp_path / "o", label="x")


def test_edge_impulse_json(hapt: HaptData, tmp_path: Path) -> None:
    import json

    for k, (label, subj) in enumerate((("walking", 1), ("sitting", 3))):
        x = _hapt_stream(hapt, subj, 1000) * np.array([9.80665] * 3 + [180 / np.pi] * 3)
        doc = {"protected": {"ver": "v1", "alg": "none"}, "signature": "0",
               "payload": {"device_type": "phone", "interval_ms": 20,
                           "sensors": [{"name": n, "units": u} for n, u in
                                       (("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2"),
                                        ("gyrX", "dps"), ("gyrY", "dps"), ("gyrZ", "dps"))],
                           "values": x.tolist()}}
        (tmp_path / f"{label}.s{k}.json").write_text(json.dumps(doc))
    import_csv(tmp_path, tmp_path / "d", label_pattern=r"^(\w+)\.", subject_pattern=r"\.s(\d+)\.")
    ds = load_folder(tmp_path / "d")
    assert ds.classes == ("sitting", "walking") and [c.unit for c in ds.channels] == ["m/s2"] * 3 + ["deg/s"] * 3
    assert ds.rate_hz == 50.0 and ds.subjects == ("0", "1")


@pytest.mark.slow
def test_accelerometer_only_20hz_end_to_end(tmp_path: Path) -> None:
    """import -> fit -> convert -> har-edge run at the data's own 20 Hz with three channels."""
    pytest.importorskip("tensorflow")
    import json
    import subprocess
    import sys

    data = tmp_path / "wisdm-acc"
    import_wisdm(SLICE, data, sensors=("acc",))
    py = [sys.executable, "-m"]
    fit = subprocess.run(py + ["train.cli", "fit", "--data", str(data), "--classes", "walking,jogging,sitting",
                               "--test-subjects", "1606", "--epochs", "4", "--repeats", "1", "--val-subjects",
                               "none", "--out", str(tmp_path / "run"), "--quiet"], capture_output=True, text=True)
    assert fit.returncode == 0, fit.stderr[-2000:]
    conv = subprocess.run(py + ["convert.cli", str(tmp_path / "run"), "--out", str(tmp_path / "model"),
                                "--max-drop", "100", "--calibration-samples", "50"], capture_output=True, text=True)
    assert conv.returncode in (0, 6), conv.stderr[-2000:]  # the gate may judge 4 epochs too weak; files are written
    m = json.loads((tmp_path / "model" / "model.json").read_text())
    spec = m["input_spec"]
    assert spec["sample_rate_hz"] == 20.0 and spec["raw_channels"] == ["acc_x", "acc_y", "acc_z"]
    assert spec["raw_units"] == ["m/s2"] * 3 and spec["window"] == 51 and m["labels"] == ["walking", "jogging",
                                                                                          "sitting"]
    assert m["training"]["data_version"].startswith("sha256:")
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["data_version"] == m["training"]["data_version"] and cfg["data_options"]["test_subjects"] == [1606]
    # the test subject's walking, as the device would log it: its own clock in ns, m/s^2, 20 Hz
    rec = (data / "recordings" / "1606_A.csv").read_text().splitlines()
    lines = ["timestamp_ns,ax,ay,az"] + [f"{int(float(r.split(',')[0]) * 1e9) + 10**15},{','.join(r.split(',')[1:4])}"
                                         for r in rec[1:]]
    (tmp_path / "walk.csv").write_text("\n".join(lines) + "\n")
    run = subprocess.run(py + ["edge_runtime.cli", "run", "--model", str(tmp_path / "model"), "--source",
                               f"file:{tmp_path / 'walk.csv'}"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    recs = [json.loads(line) for line in run.stdout.splitlines()]
    acts = [r for r in recs if r["type"] == "activity"]
    assert len(acts) >= 10 and recs[-1]["input"]["time_unit"] == "ns" and not recs[-1]["input"]["resampled"]
    assert {r["label"] for r in acts} <= {"walking", "jogging", "sitting"}
    ev = subprocess.run(py + ["edge_runtime.cli", "eval", "--model", str(tmp_path / "model"), "--data", str(data),
                              "--json", str(tmp_path / "eval.json")], capture_output=True, text=True)
    assert ev.returncode == 0, ev.stderr[-2000:]
    rep = json.loads((tmp_path / "eval.json").read_text())
    assert rep["subjects"] == [1606] and rep["recordings"] == 3 and 0 <= rep["streaming_accuracy"] <= 1
    assert rep["windows_validated"] > 0 and set(rep["per_class"]) == {"walking", "jogging", "sitting"}
