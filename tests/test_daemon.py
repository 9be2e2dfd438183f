"""``har-edge run`` as a real process: stdin, files, npz, UDP, MQTT, signals, bad input, exit codes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edge_runtime.datasets.hapt import HaptData
from edge_runtime.errors import ExitCode

GOLDEN = Path(__file__).parent / "models" / "golden"
HAR_EDGE = [sys.executable, "-m", "edge_runtime.cli"]


def csv_lines(stream: np.ndarray, t0: float = 0.0) -> list[str]:
    return [f"{t0 + i / 50:.2f}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(stream)]


@pytest.fixture(scope="module")
def rec(hapt: HaptData) -> np.ndarray:
    return next(hapt.by_subjects([2])).stream[:1500]


def read_jsonl(path: Path) -> list[dict]:
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "file sink left a partial line"
    return [json.loads(line) for line in text.splitlines()]


def run_cli(args: list[str], stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(HAR_EDGE + args, input=stdin, capture_output=True, text=True, timeout=timeout)


def test_stdin_csv_with_header_and_garbage(rec: np.ndarray, tmp_path: Path) -> None:
    lines = ["t,ax,ay,az,gx,gy,gz"] + csv_lines(rec)
    lines[50] = "garbage"
    lines[60] = "1,2,3"
    lines[70] = lines[70].replace(lines[70].split(",")[2], "nan")
    lines[80] = "1,a,3,4,5,6,7"
    out = tmp_path / "out.jsonl"
    res = run_cli(["run", "--model", str(GOLDEN), "--source", "-", "--sink", f"file:{out}"], "\n".join(lines) + "\n")
    assert res.returncode == 0, res.stderr
    recs = read_jsonl(out)
    final = recs[-1]
    assert final["type"] == "stats" and final["final"] is True
    assert final["malformed"] == 4 and final["rejected"] == {"not_a_number": 2, "wrong_arity": 1, "non_finite": 1}
    assert final["samples_in"] == 1500 - 3  # the NaN sample was parsed, then rejected
    acts = [r for r in recs if r["type"] == "activity"]
    assert len(acts) == (1496 - 128) // 64 + 1 and final["windows"] == len(acts)
    assert {"t", "label", "confidence", "model_id", "latency_us"} <= set(acts[0])
    assert recs[1]["type"] == "change" and recs[1]["from"] is None
    assert "skipped" in res.stderr and "bad record" in res.stderr


def test_stdin_json_lines_to_stdout_with_probs(rec: np.ndarray) -> None:
    keys = ("ax", "ay", "az", "gx", "gy", "gz")
    lines = [json.dumps({"t": i / 50, **{k: float(v) for k, v in zip(keys, row)}}) for i, row in enumerate(rec[:300])]
    res = run_cli(["run", "--model", str(GOLDEN), "--probs", "--smooth", "3"], "\n".join(lines))
    assert res.returncode == 0, res.stderr
    recs = [json.loads(line) for line in res.stdout.splitlines()]
    acts = [r for r in recs if r["type"] == "activity"]
    assert len(acts) == 3 and set(acts[0]["probs"]) == set(json.loads((GOLDEN / "model.json").read_text())["labels"])


def test_npz_recordings_with_gaps_between_them(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    src = f"file:{Path(__file__).parents[1] / 'data' / 'hapt_raw.npz'}?subjects=2"
    res = run_cli(["run", "--model", str(GOLDEN), "--source", src, "--sink", f"file:{out}", "--stats-interval", "0.01"])
    assert res.returncode == 0, res.stderr
    recs = read_jsonl(out)
    assert sum(r["type"] == "gap" for r in recs) == 1  # subject 2 has two recordings
    final = recs[-1]
    assert final["samples_in"] == final["samples_used"] > 30000 and final["malformed"] == 0
    assert any(r["type"] == "stats" and not r["final"] for r in recs)


def test_sigterm_stops_cleanly_with_whole_lines(rec: np.ndarray, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    proc = subprocess.Popen(HAR_EDGE + ["run", "--model", str(GOLDEN), "--source", "-", "--sink", f"file:{out}"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(("\n".join(csv_lines(rec)) + "\n").encode())
    proc.stdin.flush()  # stdin stays open: the daemon would wait for more forever
    deadline = time.time() + 20
    while time.time() < deadline and (not out.exists() or out.read_text().count('"activity"') < 22):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    recs = read_jsonl(out)
    assert recs[-1]["type"] == "stats" and recs[-1]["final"] and recs[-1]["windows"] == (1500 - 128) // 64 + 1
    proc.stdin.close()


def test_sigint_on_idle_udp_source(rec: np.ndarray, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "o.jsonl"
    proc = subprocess.Popen(HAR_EDGE + ["run", "--model", str(GOLDEN), "--source", f"udp://127.0.0.1:{port}",
                                        "--sink", f"file:{out}"], stderr=subprocess.PIPE)
    lines = csv_lines(rec[:640])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(50):  # wait for the daemon to bind, then send 10-line datagrams
            if out.exists():
                break
            time.sleep(0.1)
        time.sleep(0.5)
        for i in range(0, len(lines), 10):
            s.sendto(("\n".join(lines[i : i + 10])).encode(), ("127.0.0.1", port))
            time.sleep(0.002)
        s.sendto(b"\xff\xfe not utf8", ("127.0.0.1", port))
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    final = read_jsonl(out)[-1]
    assert final["samples_in"] == 640 and final["windows"] == (640 - 128) // 64 + 1
    assert final["rejected"] == {"bad_utf8": 1}


def test_exit_codes(tmp_path: Path) -> None:
    res = run_cli(["run", "--model", str(tmp_path / "none.json")])
    assert res.returncode == ExitCode.MODEL_ERROR and "no model manifest" in res.stderr
    res = run_cli(["run", "--model", str(GOLDEN), "--source", "ftp://x"])
    assert res.returncode == ExitCode.INPUT_ERROR and "unknown source" in res.stderr
    res = run_cli(["run", "--model", str(GOLDEN), "--source", f"file:{tmp_path / 'missing.csv'}"])
    assert res.returncode == ExitCode.INPUT_ERROR and "no such recording" in res.stderr
    res = run_cli(["run", "--model", str(GOLDEN), "--sink", "kafka://x"])
    assert res.returncode == ExitCode.INPUT_ERROR
    res = run_cli(["run", "--model", str(GOLDEN), "--smooth", "0"])
    assert res.returncode == ExitCode.USAGE


def test_eval_cli_json(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # the timeline needs it; the rest of eval does not
    out = tmp_path / "eval.json"
    res = run_cli(["eval", "--model", str(GOLDEN), "--subjects", "2", "--json", str(out), "--timeline",
                   str(tmp_path / "t.png")], timeout=120)
    assert res.returncode == 0, res.stderr
    rep = json.loads(out.read_text())
    for k in ("window_accuracy", "streaming_accuracy", "samples_per_s"):
        assert 0 < rep[k] and (k == "samples_per_s" or rep[k] <= 1)
    assert set(rep["per_class"]) >= {"WALKING", "LAYING"} and rep["subjects"] == [2]
    assert abs(rep["streaming_accuracy"] - rep["window_accuracy"]) < 0.05
    assert rep["schema"] == 1 and rep["timeline"] == str(tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "t.png").stat().st_size > 1000
    res = run_cli(["eval", "--model", str(GOLDEN), "--subjects", "99"])
    assert res.returncode == ExitCode.DATA_ERROR and "[99] are not in the data" in res.stderr
    res = run_cli(["eval", "--model", str(GOLDEN), "--subjects", "two"])
    assert res.returncode == ExitCode.USAGE and "ids like 2,4,9" in res.stderr


def test_runtime_needs_no_tensorflow(rec: np.ndarray, tmp_path: Path) -> None:
    # Classifying a stream end to end in a fresh interpreter loads no TensorFlow or Keras.
    code = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from edge_runtime.cli import main\n"
        f"r = CliRunner().invoke(main, ['run', '--model', {str(GOLDEN)!r}, '--source', 'file:' + {str(tmp_path / 'r.csv')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'train', 'convert'))))\n"
    )
    (tmp_path / "r.csv").write_text("\n".join(csv_lines(rec[:400])) + "\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == []
