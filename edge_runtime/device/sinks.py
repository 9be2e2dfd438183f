"""Where records go: stdout (JSON lines), an append-only file, or an MQTT broker.

Sinks take whole batches of records and write whole lines only: the file sink issues
one ``write`` per batch of complete lines on an ``O_APPEND`` descriptor, so a kill can
cut the output between lines, never inside one. MQTT is QoS 1 with a bounded queue
(oldest dropped and counted when full) and reconnects with backoff; its credentials come
from the environment (``HARLITE_MQTT_USERNAME``, ``HARLITE_MQTT_PASSWORD``), never argv.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from edge_runtime.errors import SinkError
from edge_runtime.qtyping import Record


def encode_one(record: Record) -> bytes:
    """One record as compact JSON, without the newline."""
    return json.dumps(record.to_dict(), separators=(",", ":"), allow_nan=False).encode()


def encode(records: list[Record]) -> bytes:
    """JSON lines, compact, one record per line."""
    return b"".join(encode_one(r) + b"\n" for r in records)


class Sink(Protocol):
    def write(self, records: list[Record]) -> None: ...
    def close(self) -> None: ...
    def stats(self) -> dict[str, int]: ...


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class StdoutSink:
    """JSON lines on standard output, flushed after each batch."""

    def __init__(self) -> None:
        self._out = sys.stdout.buffer
        self.written = 0

    def write(self, records: list[Record]) -> None:
        if records:
            try:
                self._out.write(encode(records))
                self._out.flush()
            except BrokenPipeError:
                raise SinkError("stdout closed (broken pipe)") from None
            self.written += len(records)

    def close(self) -> None:
        try:
            self._out.flush()
        except (BrokenPipeError, ValueError):
            pass

    def stats(self) -> dict[str, int]:
        return {"written": self.written}


class FileSink:
    """Appends JSON lines to a file; each batch is one write of complete lines."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SinkError(f"cannot open {path} for appending: {exc}") from exc
        self.path = path
        self.written = 0

    def write(self, records: list[Record]) -> None:
        if records and self._fd >= 0:
            _write_all(self._fd, encode(records))
            self.written += len(records)

    def close(self) -> None:
        if self._fd >= 0:
            try:
                os.fsync(self._fd)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = -1

    def stats(self) -> dict[str, int]:
        return {"written": self.written}


class MqttSink:
    """Publishes each record as one JSON message, QoS 1, through a bounded queue."""

    def __init__(self, host: str, port: int, topic: str, queue_size: int = 10_000, client_id: str = "") -> None:
        try:
            import paho.mqtt.client as mqtt
            from paho.mqtt.enums import CallbackAPIVersion
        except ImportError as exc:
            raise SinkError("mqtt:// needs paho-mqtt: pip install 'harlite[mqtt]'") from exc
        if not topic or any(c in topic for c in "#+"):
            raise SinkError(f"bad MQTT topic {topic!r}: give a concrete topic, e.g. mqtt://host:1883/harlite/activity")
        self.topic = topic
        self._queue: deque[bytes] = deque()
        self._queue_size = queue_size
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._inflight: set[int] = set()
        self._acked_early: set[int] = set()
        self.produced = self.delivered = self.dropped = 0
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        user = os.environ.get("HARLITE_MQTT_USERNAME")
        if user:
            self._client.username_pw_set(user, os.environ.get("HARLITE_MQTT_PASSWORD"))
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.max_inflight_messages_set(100)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        try:
            self._client.connect_async(host, port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise SinkError(f"cannot connect to mqtt://{host}:{port}: {exc}") from exc
        self._client.loop_start()

    # paho callbacks run on paho's network thread
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
        if not getattr(reason, "is_failure", False):
            self._connected.set()
            self._drain()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
        self._connected.clear()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any = None, props: Any = None) -> None:
        with self._lock:
            if mid in self._inflight:
                self._inflight.discard(mid)
            else:  # acknowledged before publish() returned its mid to _drain
                self._acked_early.add(mid)
            self.delivered += 1

    def _drain(self) -> None:
        """Hand queued messages to paho while connected. paho is never called under our lock:
        its network thread holds paho's lock while it calls _on_publish, which takes ours."""
        from paho.mqtt.client import MQTT_ERR_NO_CONN, MQTT_ERR_SUCCESS

        while self._connected.is_set():
            with self._lock:
                if not self._queue:
                    return
                payload = self._queue.popleft()
            info = self._client.publish(self.topic, payload, qos=1)
            with self._lock:
                if info.rc in (MQTT_ERR_SUCCESS, MQTT_ERR_NO_CONN):  # NO_CONN: paho keeps QoS 1 and resends
                    if info.mid in self._acked_early:
                        self._acked_early.discard(info.mid)
                    else:
                        self._inflight.add(info.mid)
                    continue
                self._queue.appendleft(payload)  # paho refused it (e.g. its queue is full): retry later
            return

    def write(self, records: list[Record]) -> None:
        if not records:
            return
        with self._lock:
            for r in records:
                self.produced += 1
                if len(self._queue) >= self._queue_size:
                    self._queue.popleft()
                    self.dropped += 1
                self._queue.append(encode_one(r))
        self._drain()

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the queue and in-flight messages to empty; True if they did."""
        deadline = time.monotonic() + timeout
        while True:
            self._drain()
            with self._lock:
                if not self._queue and not self._inflight:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"produced": self.produced, "delivered": self.delivered, "dropped": self.dropped,
                    "queued": len(self._queue), "in_flight": len(self._inflight)}


class NullSink:
    """Counts and discards records (benchmarks time the pipeline, not a disk)."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, records: list[Record]) -> None:
        self.written += len(records)

    def close(self) -> None:
        pass

    def stats(self) -> dict[str, int]:
        return {"written": self.written}


class MemorySink:
    """Keeps the records in memory (streaming evaluation, tests)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, records: list[Record]) -> None:
        self.records.extend(records)

    def close(self) -> None:
        pass

    def stats(self) -> dict[str, int]:
        return {"written": len(self.records)}


def open_sink(spec: str) -> Sink:
    """``-`` / ``stdout``, ``file:PATH`` or ``mqtt://HOST:PORT/TOPIC``."""
    if spec in ("-", "stdout"):
        return StdoutSink()
    if spec.startswith("file:"):
        return FileSink(Path(spec[len("file:"):]))
    if spec.startswith("mqtt://"):
        u = urlsplit(spec)
        return MqttSink(u.hostname or "127.0.0.1", u.port or 1883, u.path.lstrip("/"))
    raise SinkError(f"unknown sink {spec!r}: use -, file:PATH or mqtt://HOST:PORT/TOPIC")
