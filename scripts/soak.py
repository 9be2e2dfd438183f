"""Replay all 61 HAPT recordings (6.24 h of data) through ``har-edge run`` at full speed and watch
its resident memory: the soak run of docs/reliability.md and the replay figures of docs/benchmarks.md.

Modes (each a real ``har-edge run`` process; RSS sampled from /proc every ``--interval`` s):

* ``npz``:   ``--source file:data/hapt_raw.npz`` once;
* ``csv``:   the same recordings written once to a CSV file, replayed with ``--source file:...``;
* ``stdin``: the CSV streamed through stdin ``--passes`` times (the soak: parser, windows, sink).

    python scripts/soak.py --model runs/main/model --modes npz,csv,stdin --passes 3 --json soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge_runtime.sysinfo import rss_mb

ROOT = Path(__file__).resolve().parent.parent
HAR_EDGE = [sys.executable, "-m", "edge_runtime.cli", "run"]


def write_csv(data_path: Path, out: Path) -> int:
    """All recordings as one CSV (t continues across recordings, 1 s apart); returns samples."""
    n = 0
    t0 = 0.0
    with np.load(data_path) as z, open(out, "w") as fh:
        fh.write("t,ax,ay,az,gx,gy,gz\n")
        keys = sorted((k for k in z.files if k.startswith("acc_exp")), key=lambda k: (len(k), k))
        for key in keys:
            x = np.concatenate([z[key], z[key.replace("acc_", "gyro_")]], axis=1).astype(np.float64)
            t = t0 + np.arange(len(x)) / 50.0
            np.savetxt(fh, np.column_stack([t, x]), fmt="%.9g", delimiter=",")
            n += len(x)
            t0 = float(t[-1]) + 1.0
    return n


def monitor(proc: subprocess.Popen[bytes], interval: float, samples: list[tuple[float, float]]) -> None:
    t0 = time.monotonic()
    while proc.poll() is None:
        r = rss_mb(proc.pid)
        if r is not None:
            samples.append((round(time.monotonic() - t0, 2), round(r, 2)))
        time.sleep(interval)


def run_one(model: Path, source: str, sink: Path, interval: float, feed: Path | None = None,
            passes: int = 1) -> dict[str, Any]:
    proc = subprocess.Popen(HAR_EDGE + ["--model", str(model), "--source", source, "--sink", f"file:{sink}"],
                            stdin=subprocess.PIPE if feed else subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    samples: list[tuple[float, float]] = []
    mon = threading.Thread(target=monitor, args=(proc, interval, samples), daemon=True)
    t0 = time.perf_counter()
    mon.start()
    if feed is not None:
        assert proc.stdin is not None
        with open(feed, "rb") as fh:
            header = fh.readline()
            body = fh.read()
        proc.stdin.write(header)
        for p in range(passes):
            # each pass continues the clock after a 10 s pause, so it is one long stream with gaps
            if p == 0:
                proc.stdin.write(body)
            else:
                shift = p * 30000.0
                for line in body.splitlines(keepends=True):
                    i = line.index(b",")
                    proc.stdin.write(b"%.2f" % (float(line[:i]) + shift) + line[i:])
        proc.stdin.close()
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.wait()
    wall = time.perf_counter() - t0
    mon.join()
    final = json.loads(sink.read_text().splitlines()[-1])
    rss = [r for _, r in samples]
    # warm-up: interpreter start, imports and model load (first 0.5 s and first 10 % of the run)
    t_warm = max(0.5, 0.1 * (samples[-1][0] if samples else 0))
    steady = [r for t, r in samples if t >= t_warm]
    return {
        "source": source, "passes": passes, "returncode": proc.returncode, "wall_s": round(wall, 2),
        "samples": final["samples_in"], "windows": final["windows"], "malformed": final["malformed"],
        "gaps": final["gaps"], "records_written": final["sink"]["written"],
        "samples_per_s": round(final["samples_in"] / wall), "x_realtime": round(final["samples_in"] / wall / 50),
        "rss_mb": {"peak": max(rss) if rss else None,
                   "steady_first": steady[0] if steady else None, "steady_last": steady[-1] if steady else None,
                   "drift_after_warmup": round(max(steady) - min(steady), 2) if steady else None,
                   "n_samples": len(rss), "n_steady": len(steady)},
        "rss_series": samples, "stderr_tail": err.decode(errors="replace")[-300:],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "hapt_raw.npz")
    ap.add_argument("--modes", default="npz,csv,stdin")
    ap.add_argument("--passes", type=int, default=3, help="stdin mode: how many times to stream the data")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between RSS samples (stdin soak)")
    ap.add_argument("--replay-interval", type=float, default=0.1, help="seconds between RSS samples (npz, csv)")
    ap.add_argument("--json", type=Path)
    ns = ap.parse_args(argv)
    out: dict[str, Any] = {"command": "python scripts/soak.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    with tempfile.TemporaryDirectory(prefix="harlite-soak-") as tmp:
        work = Path(tmp)
        csv = work / "all.csv"
        modes = ns.modes.split(",")
        if {"csv", "stdin"} & set(modes):
            out["csv_samples"] = write_csv(ns.data, csv)
            out["csv_bytes"] = csv.stat().st_size
        for mode in modes:
            sink = work / f"{mode}.jsonl"
            if mode == "npz":
                res = run_one(ns.model, f"file:{ns.data}", sink, ns.replay_interval)
            elif mode == "csv":
                res = run_one(ns.model, f"file:{csv}", sink, ns.replay_interval)
            elif mode == "stdin":
                res = run_one(ns.model, "-", sink, ns.interval, feed=csv, passes=ns.passes)
            else:
                ap.error(f"unknown mode {mode}")
            out[mode] = res
            r = res["rss_mb"]
            print(f"{mode:6s} rc={res['returncode']} {res['samples']:,} samples in {res['wall_s']} s = "
                  f"{res['samples_per_s']:,}/s ({res['x_realtime']:,}x real time), {res['windows']:,} windows, "
                  f"{res['malformed']} malformed, RSS peak {r['peak']} MB, drift after warm-up "
                  f"{r['drift_after_warmup']} MB over {r['n_steady']} samples after warm-up", flush=True)
    if ns.json:
        ns.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
