"""The daemon loop behind ``har-edge run``: read, classify, write, report, stop cleanly.

It polls the source with a short timeout so SIGINT/SIGTERM (which only set a flag) stop
it within a fraction of a second; at a stop or EOF it writes final stats, flushes the
sink and returns. Bad input is counted and reported on stderr at most every few seconds;
it never ends the loop.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from types import FrameType
from typing import Any, Callable, Iterator

from edge_runtime.sinks import Sink, SinkError
from edge_runtime.sources import Source
from edge_runtime.stream import Record, StreamClassifier

POLL_S = 0.2


class RateLimitedLog:
    """At most one line per ``interval`` seconds; suppressed lines are counted into the next."""

    def __init__(self, write: Callable[[str], None], interval: float = 5.0) -> None:
        self._write, self.interval = write, interval
        self._last = -float("inf")
        self._suppressed = 0

    def __call__(self, msg: str) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            extra = f" (+{self._suppressed} more since last report)" if self._suppressed else ""
            self._write(msg + extra)
            self._last, self._suppressed = now, 0
        else:
            self._suppressed += 1


def stderr_line(msg: str) -> None:
    print(f"har-edge: {msg}", file=sys.stderr, flush=True)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (main thread only); previous handlers are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class Daemon:
    """Wires a source, the stream classifier and a sink together."""

    def __init__(self, source: Source, stream: StreamClassifier, sink: Sink, *,
                 stats_interval: float | None = None, warn: Callable[[str], None] = stderr_line) -> None:
        self.source, self.stream, self.sink = source, stream, sink
        self.stats_interval = stats_interval
        self._warn_bad = RateLimitedLog(warn)
        self._warn = warn
        self.internal_errors = 0
        self._t0 = time.monotonic()
        self._last_stats = (self._t0, 0)

    def stats_record(self, final: bool = False) -> Record:
        now = time.monotonic()
        t_prev, w_prev = self._last_stats
        s = self.stream
        rec: Record = {
            "type": "stats", "final": final, "t_wall": round(time.time(), 3),
            "uptime_s": round(now - self._t0, 3),
            "samples_in": s.samples_in, "samples_used": s.samples_used, "windows": s.windows,
            "windows_per_s": round((s.windows - w_prev) / max(now - t_prev, 1e-9), 2),
            "latency_us": {k: round(v, 1) for k, v in s.latency_percentiles().items()},
            "malformed": int(sum(s.rejected.values())), "rejected": dict(s.rejected), "gaps": s.gaps,
            "internal_errors": self.internal_errors, "sink": self.sink.stats(),
        }
        self._last_stats = (now, s.windows)
        return rec

    def run(self, stop: threading.Event) -> Record:
        """Loop until EOF or ``stop``; returns the final stats record (also written to the sink)."""
        next_stats = self._t0 + self.stats_interval if self.stats_interval else float("inf")
        try:
            while not stop.is_set():
                batch = self.source.read(POLL_S)
                if batch is None:
                    break
                records: list[Record] = []
                for reason, n in batch.rejected.items():
                    self.stream.reject(reason, n)
                if batch.rejected:
                    self._warn_bad(f"skipped {sum(batch.rejected.values())} bad record(s): {batch.first_error}")
                if len(batch.t):
                    try:
                        records = self.stream.feed(batch.t, batch.x)
                    except Exception:  # a bug must not take the device down: report, count, go on
                        self.internal_errors += 1
                        self._warn_bad("internal error on a batch (skipped):\n" + traceback.format_exc())
                if time.monotonic() >= next_stats:
                    records.append(self.stats_record())
                    next_stats = time.monotonic() + self.stats_interval  # type: ignore[operator]
                if records:
                    self.sink.write(records)
        finally:
            final = self.stats_record(final=True)
            try:
                self.sink.write([final])
            except (SinkError, OSError) as exc:
                self._warn(f"could not write final stats: {exc}")
            self.sink.close()
            self.source.close()
        return final


def summarize(final: dict[str, Any]) -> str:
    """One line for stderr at exit."""
    return (f"{final['samples_in']} samples, {final['windows']} windows, {final['malformed']} malformed, "
            f"{final['gaps']} gaps, invoke p50 {final['latency_us']['p50']} us")


def run_from_options(model: Any, source_spec: str, sink_spec: str, cfg: Any, *, realtime: bool = False,
                     stats_interval: float | None = None, threads: int = 1, variant: str | None = None,
                     stop: threading.Event | None = None) -> Record:
    """Open everything ``har-edge run`` names, run until EOF or a signal, close everything."""
    from edge_runtime.classifier import Classifier
    from edge_runtime.manifest import load_manifest
    from edge_runtime.sinks import open_sink
    from edge_runtime.sources import open_source

    manifest = load_manifest(model)
    stop = stop or threading.Event()
    with Classifier.from_manifest(manifest, variant, num_threads=threads) as clf:
        stream = StreamClassifier(clf, manifest, cfg)
        rate = cfg.input_rate_hz or manifest.input_spec.window.sample_rate_hz
        source = open_source(source_spec, rate, realtime)
        try:
            sink = open_sink(sink_spec)
        except BaseException:
            source.close()
            raise
        with stop_on_signals(stop):
            return Daemon(source, stream, sink, stats_interval=stats_interval).run(stop)
