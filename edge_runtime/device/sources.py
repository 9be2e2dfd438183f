"""Where samples come from: stdin, files (CSV/JSON lines or ``.npz``), UDP datagrams, a serial port.

Every source answers ``read(timeout)`` with a :class:`Batch` (possibly empty) or None at
end of input, so the daemon loop can check for a stop signal at least every ``timeout``.
Line sources bound memory: a line longer than ``MAX_LINE_BYTES`` is dropped and counted.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import parse_qs, urlsplit

import numpy as np
import numpy.typing as npt

from edge_runtime.device.ingest import MAX_LINE_BYTES, LineParser
from edge_runtime.errors import RecordRejected, SourceError, UsageError

READ_BYTES = 1 << 16
ARRAY_CHUNK = 4096



@dataclass
class Batch:
    """Parsed samples plus the reasons of records that could not be parsed."""

    t: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64] | npt.NDArray[np.float32]
    rejected: dict[str, int] = field(default_factory=dict)
    first_error: str = ""

    @classmethod
    def empty(cls, channels: int) -> Batch:
        """No samples (a poll that timed out)."""
        return cls(np.empty(0), np.empty((0, channels)))


class Source(Protocol):
    def read(self, timeout: float) -> Batch | None: ...
    def close(self) -> None: ...


class LineAssembler:
    """Bytes in, complete lines out; an over-long line is skipped up to its newline and counted."""

    def __init__(self, limit: int = MAX_LINE_BYTES) -> None:
        self.limit = limit
        self._tail = b""
        self._skipping = False
        self.too_long = 0

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._tail + data
        lines = buf.split(b"\n")
        self._tail = lines.pop()
        if self._skipping and lines:
            lines.pop(0)  # the rest of an over-long line
            self._skipping = False
        out = []
        for ln in lines:
            if len(ln) > self.limit:
                self.too_long += 1
            else:
                out.append(ln)
        if len(self._tail) > self.limit:
            if not self._skipping:
                self.too_long += 1
            self._skipping = True
            self._tail = b""
        return out

    def finish(self) -> list[bytes]:
        tail, self._tail = self._tail, b""
        return [tail] if tail.strip() and not self._skipping else []


def parse_lines(lines: list[bytes], parser: LineParser) -> Batch:
    """Parse text records; bad ones are counted by reason, never raised (only a first header that
    lacks a channel the model needs raises :class:`InputContractError`)."""
    ts: list[float] = []
    xs: list[tuple[float, ...]] = []
    rejected: dict[str, int] = {}
    first = ""
    for ln in lines:
        try:
            rec = parser.parse(ln)
        except RecordRejected as r:
            rejected[r.reason] = rejected.get(r.reason, 0) + 1
            first = first or str(r)
            continue
        if rec is not None:
            ts.append(rec[0])
            xs.append(rec[1])
    if not ts:
        return Batch(np.empty(0), np.empty((0, len(parser.channels))), rejected, first)
    return Batch(np.asarray(ts, dtype=np.float64), np.asarray(xs, dtype=np.float64), rejected, first)


class _LineSource:
    """Shared by stream-like sources: assemble lines, parse them, report over-long ones."""

    def __init__(self, parser: LineParser) -> None:
        self._lines = LineAssembler()
        self.parser = parser

    def _batch(self, data: bytes | None) -> Batch:
        before = self._lines.too_long
        lines = self._lines.finish() if data is None else self._lines.feed(data)
        b = parse_lines(lines, self.parser)
        if self._lines.too_long > before:
            b.rejected["too_long"] = b.rejected.get("too_long", 0) + self._lines.too_long - before
            b.first_error = b.first_error or f"too_long: line over {MAX_LINE_BYTES} bytes"
        return b


class FdSource(_LineSource):
    """Lines from a readable file descriptor (stdin, a pipe, a serial device), polled with a timeout."""

    def __init__(self, stream: BinaryIO, parser: LineParser) -> None:
        import selectors  # pollable sources only (stdin, pipes, UDP, serial); files are read directly

        super().__init__(parser)
        self._fd = stream.fileno()
        self._stream = stream
        self._sel = selectors.DefaultSelector()
        try:
            self._sel.register(self._fd, selectors.EVENT_READ)
            self._pollable = True
        except (PermissionError, ValueError, OSError):  # regular files cannot be polled
            self._pollable = False
        self._eof = False

    def read(self, timeout: float) -> Batch | None:
        if self._eof:
            return None
        if self._pollable and not self._sel.select(timeout):
            return Batch.empty(len(self.parser.channels))
        data = os.read(self._fd, READ_BYTES)
        if not data:
            self._eof = True
            return self._batch(None)
        return self._batch(data)

    def close(self) -> None:
        self._sel.close()


class TextFileSource(_LineSource):
    """CSV / JSON-lines file, read in chunks; ``realtime`` paces it at the samples' timestamps."""

    def __init__(self, path: Path, parser: LineParser, realtime: bool = False) -> None:
        super().__init__(parser)
        try:
            self._fh = open(path, "rb")
        except OSError as exc:
            raise SourceError(f"cannot open {path}: {exc}") from exc
        self._realtime = realtime
        self._pacer = _Pacer() if realtime else None
        self._eof = False

    def read(self, timeout: float) -> Batch | None:
        if self._eof:
            return None
        data = self._fh.read(READ_BYTES if not self._realtime else 4096)
        if not data:
            self._eof = True
            return self._batch(None)
        b = self._batch(data)
        if self._pacer is not None and len(b.t):
            self._pacer.wait_for(float(b.t[-1]), timeout)
        return b

    def close(self) -> None:
        self._fh.close()


class _Pacer:
    """Sleeps so that sample time advances no faster than wall-clock time."""

    def __init__(self) -> None:
        self._t0: float | None = None
        self._w0 = 0.0

    def wait_for(self, t: float, max_sleep: float) -> None:
        if self._t0 is None:
            self._t0, self._w0 = t, time.monotonic()
            return
        delay = (t - self._t0) - (time.monotonic() - self._w0)
        if delay > 0:
            time.sleep(min(delay, max_sleep))


_HAPT_KEY = re.compile(r"^acc_exp(\d+)_user(\d+)$")


Block = tuple[npt.NDArray[np.float64], npt.NDArray[Any]]


class ArraySource:
    """Samples as (t, x) blocks, taken one block at a time from an iterable and read in chunks;
    each new block may start after a gap. ``realtime`` paces reads at the samples' timestamps
    (tenth-of-a-second chunks). Only the current block is held in memory."""

    def __init__(self, blocks: Iterable[Block], rate_hz: float, realtime: bool = False, channels: int = 6) -> None:
        self._blocks: Iterator[Block] = iter(blocks)
        self.channels = channels
        self._cur: Block | None = None
        self._i = 0
        self._chunk = max(1, int(rate_hz // 10)) if realtime else ARRAY_CHUNK
        self._pacer = _Pacer() if realtime else None

    def _next_block(self) -> Block | None:
        for t, x in self._blocks:
            if x.ndim != 2 or x.shape[1] != self.channels or len(t) != len(x):
                raise SourceError(f"samples must be (n, {self.channels}) with n timestamps (the model's channels), "
                                  f"got {x.shape} and {len(t)}")
            if len(t):
                return t, x
        return None

    def read(self, timeout: float) -> Batch | None:
        if self._cur is None or self._i >= len(self._cur[0]):
            self._cur, self._i = self._next_block(), 0
            if self._cur is None:
                return None
        t, x = self._cur
        i, j = self._i, min(self._i + self._chunk, len(t))
        self._i = j
        if self._pacer is not None:
            self._pacer.wait_for(float(t[j - 1]), timeout)
        return Batch(t[i:j], x[i:j])

    def close(self) -> None:
        self._cur = None
        close = getattr(self._blocks, "close", None)
        if close is not None:
            close()


def npz_blocks(path: Path, rate_hz: float, subjects: set[int] | None = None) -> Iterator[Block]:
    """Blocks of a recording in ``.npz``, read lazily: ``samples`` (n, 6) with optional ``t`` (n,)
    seconds, or ``acc`` and ``gyro`` (n, 3) each, or the HAPT layout (every
    ``acc_expEE_userUU``/``gyro_...`` pair in experiment order, one second apart, so each
    recording starts after a gap). ``rate_hz`` times samples without ``t``; ``subjects``
    filters HAPT recordings. Checks the layout before the first block is returned."""
    import zipfile  # only npz sources need it (0.6 MB with bz2/lzma)

    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SourceError(f"cannot read recording {path}: {exc}") from exc
    files = set(getattr(z, "files", ()))
    keys = sorted((k for k in files if _HAPT_KEY.match(k)), key=lambda k: (len(k), k))
    if subjects:
        keys = [k for k in keys if (m := _HAPT_KEY.match(k)) is not None and int(m.group(2)) in subjects]
    single = "samples" in files or {"acc", "gyro"} <= files
    if not single and not keys:
        if hasattr(z, "close"):
            z.close()
        raise SourceError(f"{path}: no samples (want 'samples', 'acc'+'gyro' or HAPT acc_/gyro_ arrays)")

    def gen() -> Iterator[Block]:
        try:
            if single:
                x = z["samples"] if "samples" in files else np.concatenate([z["acc"], z["gyro"]], axis=1)
                t = z["t"] if "t" in files else np.arange(len(x)) / rate_hz
                yield np.asarray(t, np.float64), np.asarray(x)
                return
            t0 = 0.0
            for key in keys:
                m = _HAPT_KEY.match(key)
                assert m is not None
                x = np.concatenate([z[key], z[f"gyro_exp{m.group(1)}_user{m.group(2)}"]], axis=1)
                t = t0 + np.arange(len(x)) / rate_hz
                yield t, x
                t0 = float(t[-1]) + 1.0
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise SourceError(f"cannot read recording {path}: {exc}") from exc
        finally:
            z.close()

    return gen()


class UdpSource(_LineSource):
    """CSV / JSON-lines datagrams (one or more lines each). Binds loopback unless a host is given."""

    def __init__(self, host: str, port: int, parser: LineParser) -> None:
        import socket  # only UDP needs it: 0.36 MB of RSS a daemon reading files or stdin does not pay

        super().__init__(parser)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
            family, _, _, _, addr = infos[0]
            self._sock = socket.socket(family, socket.SOCK_DGRAM)
            self._sock.bind(addr)
        except OSError as exc:
            raise SourceError(f"cannot bind udp://{host}:{port}: {exc}") from exc
        self._sock.setblocking(False)
        import selectors

        self._sel = selectors.DefaultSelector()
        self._sel.register(self._sock, selectors.EVENT_READ)
        self.address = self._sock.getsockname()

    def read(self, timeout: float) -> Batch | None:
        if not self._sel.select(timeout):
            return Batch.empty(len(self.parser.channels))
        chunks = []
        while True:
            try:
                data = self._sock.recv(65535)
            except BlockingIOError:
                break
            chunks.append(data if data.endswith(b"\n") else data + b"\n")
        return self._batch(b"".join(chunks))

    def close(self) -> None:
        self._sel.close()
        self._sock.close()


class SerialSource(_LineSource):
    """Lines from a serial port (extra ``serial``: pyserial)."""

    def __init__(self, device: str, baud: int, parser: LineParser) -> None:
        super().__init__(parser)
        try:
            import serial
        except ImportError as exc:
            raise SourceError("serial:// needs pyserial: pip install 'harlite[serial]'") from exc
        try:
            self._port = serial.Serial(device, baud, timeout=0)
        except (serial.SerialException, ValueError) as exc:
            raise SourceError(f"cannot open serial port {device}: {exc}") from exc
        import selectors

        self._sel = selectors.DefaultSelector()
        self._sel.register(self._port.fileno(), selectors.EVENT_READ)

    def read(self, timeout: float) -> Batch | None:
        if not self._sel.select(timeout):
            return Batch.empty(len(self.parser.channels))
        return self._batch(self._port.read(self._port.in_waiting or 1))

    def close(self) -> None:
        self._sel.close()
        self._port.close()


def open_source(spec: str, rate_hz: float, realtime: bool, parser: LineParser) -> Source:
    """``-``, ``file:PATH[?subjects=2,4]``, ``udp://HOST:PORT`` or ``serial://DEVICE?baud=N``; text
    records are parsed by ``parser`` (the model's channels, by column name)."""
    if spec == "-":
        return FdSource(sys.stdin.buffer, parser)
    if spec.startswith("file:"):
        path_s, _, query = spec[len("file:"):].partition("?")
        path = Path(path_s)
        if not path.is_file():
            raise SourceError(f"no such recording: {path}")
        if path.suffix == ".npz":
            from edge_runtime.datasets.subjects import parse_subjects

            subj = parse_qs(query).get("subjects", [""])[0]
            try:
                subjects = set(parse_subjects(subj).ids) if subj else None
            except UsageError as exc:
                raise SourceError(f"{spec}: {exc}") from None
            return ArraySource(npz_blocks(path, rate_hz, subjects), rate_hz, realtime, len(parser.channels))
        return TextFileSource(path, parser, realtime)
    if spec.startswith("udp://"):
        u = urlsplit(spec)
        if u.port is None:
            raise SourceError(f"{spec}: udp:// needs a port, e.g. udp://127.0.0.1:5005")
        return UdpSource(u.hostname or "127.0.0.1", u.port, parser)
    if spec.startswith("serial://"):
        u = urlsplit(spec)
        device = (u.netloc + u.path) or ""
        try:
            baud = int(parse_qs(u.query).get("baud", ["115200"])[0])
        except ValueError:
            raise SourceError(f"{spec}: baud must be an integer") from None
        return SerialSource(device, baud, parser)
    raise SourceError(f"unknown source {spec!r}: use -, file:PATH, udp://HOST:PORT or serial://DEVICE?baud=N")
