"""Compare the device runtime of two source trees (e.g. a checkout of the previous commit and
this one) on this machine, in one run:

* start-up: ``har-edge run`` on an empty input in a fresh interpreter (Python start, imports,
  manifest and model load, one empty loop, exit), from an empty CSV file and from an empty
  stdin: wall time and peak RSS (``wait4``'s ``ru_maxrss``, which on an empty input is the RSS
  after load). Runs alternate between the trees so drift in the machine's load hits both
  alike; medians are reported.
* records: the same recording replayed through each tree's ``har-edge run``; the record
  streams must be byte-identical once the measured ``latency_us`` and the wall-clock
  ``stats`` records are set aside.

    git worktree add /tmp/before HEAD~1
    python scripts/compare_trees.py /tmp/before . --model tests/models/golden --runs 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_tree(tree: Path, args: list[str], stdin: int | None = None) -> tuple[float, float, bytes, int]:
    """Run ``python -m edge_runtime.cli ARGS`` with ``tree`` first on the path; returns
    (wall seconds, peak RSS MB, stdout, exit code)."""
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, "-m", "edge_runtime.cli", *args], stdin=stdin, stdout=out,
                                stderr=subprocess.DEVNULL, env=env, cwd=tree)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        data = out.read()
    return wall, usage.ru_maxrss / 1024, data, proc.returncode


def startup(trees: list[Path], model: Path, runs: int, source: str) -> dict[str, dict[str, float]]:
    """Median start-up wall time and peak RSS per tree over ``runs`` alternating runs reading an
    empty ``source`` (``file`` or ``stdin``)."""
    samples: dict[str, list[tuple[float, float]]] = {str(t): [] for t in trees}
    with tempfile.NamedTemporaryFile("w", suffix=".csv") as empty:
        empty.write("t,ax,ay,az,gx,gy,gz\n")
        empty.flush()
        for i in range(runs):
            for tree in trees if i % 2 == 0 else trees[::-1]:
                args = ["run", "--model", str(model.resolve()), "--source",
                        f"file:{empty.name}" if source == "file" else "-"]
                with open(empty.name, "rb") as stdin:
                    wall, rss, _, rc = run_tree(tree, args, stdin=stdin.fileno())
                if rc not in (0, 8):  # 8: nothing classified, what an empty input now ends with
                    raise SystemExit(f"{tree}: har-edge run exited {rc}")
                samples[str(tree)].append((wall, rss))
    return {t: {"wall_ms": 1e3 * statistics.median(w for w, _ in s), "rss_mb": statistics.median(r for _, r in s),
                "runs": len(s)} for t, s in samples.items()}


def comparable(stream: bytes) -> list[bytes]:
    """The record lines without the measured latency and the wall-clock stats records."""
    out = []
    for line in stream.splitlines():
        rec = json.loads(line)
        if rec.get("type") == "stats":
            continue
        rec.pop("latency_us", None)
        out.append(json.dumps(rec, separators=(",", ":")).encode())
    return out


def records(trees: list[Path], model: Path, source: str) -> dict[str, object]:
    """Replay ``source`` through each tree; whether the record streams are byte-identical."""
    streams = []
    for tree in trees:
        _, _, data, rc = run_tree(tree, ["run", "--model", str(model.resolve()), "--source", source])
        if rc != 0:
            raise SystemExit(f"{tree}: har-edge run exited {rc}")
        streams.append(comparable(data))
    return {"source": source, "records": [len(s) for s in streams], "identical": streams[0] == streams[1]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--model", type=Path, default=Path("tests/models/golden"))
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--source", action="append", help="sources to replay (default: HAPT subject 2, npz)")
    ns = ap.parse_args()
    trees = [ns.before, ns.after]
    data = (Path(__file__).resolve().parents[1] / "data" / "hapt_raw.npz")
    sources = ns.source or [f"file:{data}?subjects=2"]
    starts = {kind: startup(trees, ns.model, ns.runs, kind) for kind in ("file", "stdin")}
    replays = [records(trees, ns.model, s) for s in sources]
    print(json.dumps({**starts, "records": replays}, indent=2))
    for kind, res in starts.items():
        b, a = (res[str(t)] for t in trees)
        print(f"start-up from {kind}: wall before {b['wall_ms']:.0f} ms, after {a['wall_ms']:.0f} ms "
              f"({a['wall_ms'] / b['wall_ms']:.3f}x); peak RSS before {b['rss_mb']:.2f} MB, after {a['rss_mb']:.2f} MB "
              f"({a['rss_mb'] - b['rss_mb']:+.2f} MB)")
    identical = all(r["identical"] for r in replays)
    print("records byte-identical (latency and stats set aside):", identical)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
