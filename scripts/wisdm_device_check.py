"""The device path on a WISDM test subject's raw phone files: for each activity, the accelerometer and
gyroscope lines as the phone logged them (nanosecond device clock, m/s^2, rad/s, ~20 Hz, irregular),
merged into one CSV at the accelerometer's timestamps (gyroscope interpolated), then `har-edge run`
on it; prints the share of activity records that name the true activity, per activity.

    python scripts/wisdm_device_check.py ../shared/data/wisdm2019/wisdm2019_raw.tar.xz runs/wisdm/phone5-model 1636
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from train.importers.wisdm import ACTIVITIES, WisdmReport, _files, parse


def main(src: str, model: str, subject: str) -> int:
    labels = json.loads((Path(model) / "model.json").read_text())["labels"]
    code = {v: k for k, v in ACTIVITIES.items()}
    files = {}
    for name, content in _files(Path(src)):
        if f"data_{subject}_" in name and name.endswith("_phone.txt"):
            files["accel" if "_accel_" in name else "gyro"] = parse(content, name, WisdmReport())
    total = right = 0
    print(f"subject {subject}, model {model}")
    with tempfile.TemporaryDirectory() as tmp:
        for label in labels:
            a, g = files["accel"][code[label]], files["gyro"][code[label]]
            gy = np.stack([np.interp(a.t, g.t, g.x[:, k]) for k in range(3)], axis=1)
            rows = [f"{round(t * 1e9)}," + ",".join(f"{v:.6f}" for v in (*xa, *xg)) for t, xa, xg in zip(a.t, a.x, gy)]
            csv = Path(tmp) / f"{label}.csv"
            csv.write_text("t,ax,ay,az,gx,gy,gz\n" + "\n".join(rows) + "\n")
            res = subprocess.run([sys.executable, "-m", "edge_runtime.cli", "--log-level", "warning", "run", "--model",
                                  model, "--source", f"file:{csv}"], capture_output=True, text=True, check=True)
            recs = [json.loads(line) for line in res.stdout.splitlines()]
            acts = [r["label"] for r in recs if r["type"] == "activity"]
            ok = sum(lab == label for lab in acts)
            total, right = total + len(acts), right + ok
            print(f"  {label:10s} {len(a.t):5d} samples, input {recs[-1]['input']}: {ok}/{len(acts)} records right")
    print(f"all: {right}/{total} = {100 * right / max(total, 1):.1f}% of activity records name the true activity")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
