"""The daemon loop behind ``har-edge run``: read, classify, write, report, stop cleanly.

It polls the source with a short timeout so SIGINT/SIGTERM (which only set a flag) stop
it within a fraction of a second; at a stop or EOF it writes final stats, flushes the
sink and returns. Bad input is counted and logged through a rate-limited logger (at most
one line every few seconds); it never ends the loop.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import FrameType

from edge_runtime.device.sinks import Sink
from edge_runtime.device.sources import Source
from edge_runtime.device.stream import StreamClassifier, StreamConfig
from edge_runtime.errors import InputContractError, NothingClassified, SinkError
from edge_runtime.logs import RateLimitFilter
from edge_runtime.qtyping import Record, StatsRecord

POLL_S = 0.2
log = logging.getLogger(__name__)
#: Warnings that can repeat at input rate (bad records, internal errors on a batch) go through
#: this logger; its filter lets one line through every ``interval`` seconds.
input_log = logging.getLogger(__name__ + ".input")
input_rate_limit = RateLimitFilter(interval=5.0)
input_log.addFilter(input_rate_limit)


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
                 stats_interval: float | None = None) -> None:
        self.source, self.stream, self.sink = source, stream, sink
        self.stats_interval = stats_interval
        self.internal_errors = 0
        self._t0 = time.monotonic()
        self._last_stats = (self._t0, 0)

    def stats_record(self, final: bool = False) -> StatsRecord:
        """The counters now; ``windows_per_s`` is over the time since the previous stats record."""
        now = time.monotonic()
        t_prev, w_prev = self._last_stats
        s = self.stream
        rec = StatsRecord(
            final=final, t_wall=round(time.time(), 3), uptime_s=round(now - self._t0, 3),
            samples_in=s.samples_in, samples_used=s.samples_used, windows=s.windows,
            windows_per_s=round((s.windows - w_prev) / max(now - t_prev, 1e-9), 2),
            latency_us={k: round(v, 1) for k, v in s.latency_percentiles().items()},
            malformed=int(sum(s.rejected.values())), rejected=dict(s.rejected), gaps=s.gaps,
            internal_errors=self.internal_errors, sink=self.sink.stats(),
            input=s.clock.to_dict() if s.clock else None,
        )
        self._last_stats = (now, s.windows)
        return rec

    def _guarded(self, step: Callable[[], list[Record]]) -> list[Record]:
        """Run one pipeline step. Input that cannot fit the model at all (a header without a needed
        column, a refused rate) ends the run; any other exception is a bug that must not take the
        device down: it is logged with its traceback and counted, and the loop goes on."""
        try:
            return step()
        except InputContractError:
            raise
        except Exception:
            self.internal_errors += 1
            input_log.exception("internal error on a batch (skipped)")
            return []

    def run(self, stop: threading.Event) -> StatsRecord:
        """Loop until EOF or ``stop``; returns the final stats record (also written to the sink)."""
        interval = self.stats_interval or float("inf")
        next_stats = self._t0 + interval
        try:
            while not stop.is_set():
                batch = self.source.read(POLL_S)
                records: list[Record] = []
                if batch is None:  # end of input: what the stream still holds
                    records = self._guarded(self.stream.finish)
                    if records:
                        self.sink.write(records)
                    break
                for reason, n in batch.rejected.items():
                    self.stream.reject(reason, n)
                if batch.rejected:
                    input_log.warning("skipped %d bad record(s): %s", sum(batch.rejected.values()), batch.first_error)
                if len(batch.t):
                    records = self._guarded(partial(self.stream.feed, batch.t, batch.x))
                if time.monotonic() >= next_stats:
                    records.append(self.stats_record())
                    next_stats = time.monotonic() + interval
                if records:
                    self.sink.write(records)
        finally:
            final = self.stats_record(final=True)
            try:
                self.sink.write([final])
            except (SinkError, OSError) as exc:
                log.warning("could not write final stats: %s", exc)
            self.sink.close()
            self.source.close()
        return final


def summarize(final: StatsRecord) -> str:
    """One line for the log at exit."""
    return (f"{final.samples_in} samples, {final.windows} windows, {final.malformed} malformed, "
            f"{final.gaps} gaps, invoke p50 {final.latency_us['p50']} us")


def run_from_options(model: str | Path, source_spec: str, sink_spec: str, cfg: StreamConfig, *,
                     realtime: bool = False, stats_interval: float | None = None, threads: int = 1,
                     variant: str | None = None, stop: threading.Event | None = None,
                     columns: Sequence[str] | None = None) -> StatsRecord:
    """Open everything ``har-edge run`` names, run until EOF or a signal, close everything."""
    from edge_runtime.device.classifier import Classifier
    from edge_runtime.device.ingest import LineParser
    from edge_runtime.device.sinks import open_sink
    from edge_runtime.device.sources import open_source
    from edge_runtime.manifest import load_manifest

    manifest = load_manifest(model)
    stop = stop or threading.Event()
    with Classifier.from_manifest(manifest, variant, num_threads=threads) as clf:
        stream = StreamClassifier(clf, manifest, cfg)
        rate = cfg.input_rate_hz or manifest.input_spec.window.sample_rate_hz
        source = open_source(source_spec, rate, realtime, LineParser(manifest.input_spec.raw_names, columns))
        try:
            sink = open_sink(sink_spec)
        except BaseException:
            source.close()
            raise
        with stop_on_signals(stop):
            final = Daemon(source, stream, sink, stats_interval=stats_interval).run(stop)
    log.info("done: %s", summarize(final))
    if final.windows == 0 and not stop.is_set():
        raise NothingClassified(nothing_classified(final, manifest.input_spec.window.length,
                                                   manifest.input_spec.window.sample_rate_hz))
    return final


def nothing_classified(final: StatsRecord, length: int, rate: float) -> str:
    """Why a run produced no window, in one message."""
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(final.rejected.items(), key=lambda kv: -kv[1])[:4])
    clock = final.input or {}
    seen = f", input {clock.get('rate_hz')} Hz with timestamps in {clock.get('time_unit')}" if clock else ""
    return (f"no window was classified: {final.samples_in} samples read, {final.malformed} rejected"
            f"{' (' + reasons + ')' if reasons else ''}, {final.gaps} gaps{seen}"
            f"; a window needs {length} consecutive samples at {rate:g} Hz ({length / rate:.2f} s) without a gap")
