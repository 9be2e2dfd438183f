"""The MQTT sink against a real mosquitto broker on loopback (started by these tests).

Set HARLITE_REQUIRE_MQTT=1 (as .ci/run does) to fail instead of skip without mosquitto.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_runtime.datasets.hapt import HaptData
from edge_runtime.qtyping import GapRecord

paho = pytest.importorskip("paho.mqtt.client") if not os.environ.get("HARLITE_REQUIRE_MQTT") else \
    __import__("paho.mqtt.client", fromlist=["Client"])
MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
if MOSQUITTO is None:
    if os.environ.get("HARLITE_REQUIRE_MQTT"):
        raise RuntimeError("mosquitto is required (HARLITE_REQUIRE_MQTT=1) but not installed")
    pytest.skip("mosquitto not installed", allow_module_level=True)

from edge_runtime.device.sinks import MqttSink  # noqa: E402

GOLDEN = Path(__file__).parent / "models" / "golden"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """A mosquitto process on 127.0.0.1 that can be stopped and restarted on the same port."""

    def __init__(self, tmp: Path, password: tuple[str, str] | None = None, persistent: bool = False) -> None:
        self.port = free_port()
        conf = [f"listener {self.port} 127.0.0.1"]
        if persistent:  # sessions and queued QoS 1 messages survive a restart
            conf += ["persistence true", f"persistence_location {tmp}/"]
        else:
            conf.append("persistence false")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            conf.append("user root")  # else it drops to 'mosquitto', who cannot read pytest's tmp dir
        if password:
            pw = tmp / "passwd"
            subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), *password], check=True, capture_output=True)
            os.chmod(pw, 0o600)
            conf += ["allow_anonymous false", f"password_file {pw}"]
        else:
            conf.append("allow_anonymous true")
        self.conf = tmp / f"mosquitto-{self.port}.conf"
        self.conf.write_text("\n".join(conf) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path)
    yield b
    b.stop()


class Subscriber:
    def __init__(self, port: int, topic: str, auth: tuple[str, str] | None = None, session: str = "") -> None:
        self.messages: list[dict] = []
        self._ready = threading.Event()
        if session:  # a persistent session: the broker keeps our subscription and QoS 1 backlog
            self.c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=session, clean_session=False,
                                 protocol=paho.MQTTv311)
            self.c.reconnect_delay_set(0.1, 0.5)
        else:
            self.c = paho.Client(paho.CallbackAPIVersion.VERSION2)
        if auth:
            self.c.username_pw_set(*auth)
        self.c.on_connect = lambda c, u, f, rc, p=None: (c.subscribe(topic, qos=1), self._ready.set())
        self.c.on_message = lambda c, u, m: self.messages.append(json.loads(m.payload))
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        assert self._ready.wait(10)
        time.sleep(0.2)

    def wait_for(self, n: int, timeout: float = 20) -> None:
        deadline = time.time() + timeout
        while len(self.messages) < n and time.time() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def test_daemon_publishes_every_record(broker: Broker, hapt: HaptData, tmp_path: Path) -> None:
    sub = Subscriber(broker.port, "harlite/test")
    stream = next(hapt.by_subjects([2])).stream[:2000]
    csv = "\n".join(f"{i / 50:.2f}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(stream))
    res = subprocess.run([sys.executable, "-m", "edge_runtime.cli", "run", "--model", str(GOLDEN), "--source", "-",
                          "--sink", f"mqtt://127.0.0.1:{broker.port}/harlite/test"],
                         input=csv, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    windows = (2000 - 128) // 64 + 1
    sub.wait_for(windows + 2)
    sub.close()
    acts = [m for m in sub.messages if m["type"] == "activity"]
    assert len(acts) == windows
    final = [m for m in sub.messages if m["type"] == "stats"][-1]
    # final stats are produced after its own count was taken: everything before it was delivered
    assert final["sink"]["dropped"] == 0 and final["sink"]["produced"] == len(sub.messages) - 1
    n_changes = sum(m["type"] == "change" for m in sub.messages)
    assert n_changes >= 1


def test_credentials_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = Broker(tmp_path, password=("edge", "s3cret"))
    try:
        sub = Subscriber(b.port, "t", auth=("edge", "s3cret"))
        monkeypatch.setenv("HARLITE_MQTT_USERNAME", "edge")
        monkeypatch.setenv("HARLITE_MQTT_PASSWORD", "s3cret")
        sink = MqttSink("127.0.0.1", b.port, "t")
        sink.write([GapRecord(float(i), 1.0) for i in range(5)])
        assert sink.flush(10)
        sink.close()
        sub.wait_for(5)
        assert [m["t"] for m in sub.messages] == list(range(5))
        monkeypatch.setenv("HARLITE_MQTT_PASSWORD", "wrong")
        bad = MqttSink("127.0.0.1", b.port, "t")
        bad.write([GapRecord(0.0, 1.0)])
        assert not bad.flush(1.5)  # refused: nothing delivered, but nothing raised either
        assert bad.stats()["delivered"] == 0 and bad.stats()["queued"] == 1
        bad.close(timeout=0.1)
        sub.close()
    finally:
        b.stop()


def test_broker_outage_bounded_queue_and_reconnect(broker: Broker) -> None:
    sink = MqttSink("127.0.0.1", broker.port, "o", queue_size=50)
    sink.write([GapRecord(float(i), 1.0) for i in range(10)])
    assert sink.flush(10) and sink.stats()["delivered"] == 10
    broker.stop()
    time.sleep(0.5)
    sink.write([GapRecord(float(i), 1.0) for i in range(10, 110)])  # 100 records while the broker is down
    s = sink.stats()
    assert s["produced"] == 110 and s["queued"] + s["in_flight"] <= 50 + 100 and s["dropped"] >= 50
    broker.start()
    sub = Subscriber(broker.port, "o")
    assert sink.flush(40), sink.stats()  # paho reconnects with backoff (1 s .. 30 s)
    s = sink.stats()
    assert s["delivered"] + s["dropped"] == 110 and s["queued"] == 0
    sub.wait_for(s["delivered"] - 10, timeout=5)
    got = [m["t"] for m in sub.messages]
    assert got == sorted(got) and got[-1] == 109  # the newest survive; the oldest were dropped
    sink.close()
    sub.close()


def test_bad_topic_is_refused() -> None:
    from edge_runtime.errors import SinkError

    with pytest.raises(SinkError, match="topic"):
        MqttSink("127.0.0.1", 1, "a/#")


def test_daemon_keeps_classifying_through_a_broker_outage(hapt: HaptData, tmp_path: Path) -> None:
    """Broker stopped mid-run: classification goes on, records queue (bounded), the sink
    reconnects when the broker returns, and every record produced reaches the subscriber."""
    broker = Broker(tmp_path, persistent=True)
    stream = next(hapt.by_subjects([4])).stream[:6400]
    lines = [f"{i / 50:.2f}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(stream)]
    sub = Subscriber(broker.port, "harlite/outage", session="outage-sub")  # rides through the outage
    proc = subprocess.Popen([sys.executable, "-m", "edge_runtime.cli", "run", "--model", str(GOLDEN), "--source", "-",
                             "--sink", f"mqtt://127.0.0.1:{broker.port}/harlite/outage"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None

    def send(part: list[str]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(("\n".join(part) + "\n").encode())
        proc.stdin.flush()

    try:
        send(lines[:2000])
        sub.wait_for(20)
        assert len(sub.messages) >= 20
        broker.stop()
        send(lines[2000:4400])  # classified while the broker is down
        time.sleep(1.0)
        broker.start()
        send(lines[4400:])
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()[-2000:]
        windows = (6400 - 128) // 64 + 1
        deadline = time.time() + 20
        while time.time() < deadline and not any(m["type"] == "stats" and m.get("final") for m in sub.messages):
            time.sleep(0.1)
    finally:
        sub.close()
        broker.stop()
    final = [m for m in sub.messages if m["type"] == "stats" and m.get("final")]
    assert final, "the final stats record is delivered after the broker returns"
    s = final[-1]
    print(f"\nbroker outage: windows {s['windows']}, sink at final stats {json.dumps(s['sink'])}, "
          f"messages received {len(sub.messages)} ({len({json.dumps(m, sort_keys=True) for m in sub.messages})} distinct)")
    assert s["windows"] == windows  # no window lost to the outage inside the daemon
    assert s["sink"]["dropped"] == 0
    # QoS 1 is at-least-once: duplicates are allowed, losses are not
    got = {m["t"] for m in sub.messages if m["type"] == "activity"}
    assert got == {round((127 + 64 * k) / 50, 2) for k in range(windows)}
    distinct = {json.dumps(m, sort_keys=True) for m in sub.messages}
    assert len(distinct) == s["sink"]["produced"] + 1  # every record produced, plus the final stats
