"""``har-edge``: the device CLI. Each command parses options, calls one library function and
maps errors to exit codes. Imports nothing beyond numpy, LiteRT and click."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from edge_runtime.cliutil import EXIT_CODES_HELP, SubjectsParam, cli_errors, log_level_option
from edge_runtime.device.ingest import Units
from edge_runtime.device.smoothing import SmoothingConfig
from edge_runtime.device.stream import StreamConfig, TimeUnit

if TYPE_CHECKING:  # pragma: no cover
    from edge_runtime.datasets.subjects import SubjectSelection


def stream_options(f: Any) -> Any:
    """Options shared by ``run`` and ``eval``: how the stream is read and smoothed."""
    opts = [
        click.option("--hop", type=click.IntRange(min=1), help="samples between windows (default: the model's)"),
        click.option("--smooth", type=click.IntRange(min=1), default=1, show_default=True,
                     help="moving average over this many windows"),
        click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.0, show_default=True,
                     help="below this smoothed probability the label is 'unknown'"),
        click.option("--min-dwell", type=click.IntRange(min=1), default=1, show_default=True,
                     help="windows a new label must lead before it is emitted"),
        click.option("--acc-unit", type=click.Choice(["g", "m/s2"]),
                     help="unit of the incoming accelerometer values (default: the model's, see its manifest)"),
        click.option("--gyro-unit", type=click.Choice(["rad/s", "deg/s"]),
                     help="unit of the incoming gyroscope values (default: the model's)"),
        click.option("--time-unit", type=click.Choice(["auto", "s", "ms", "us", "ns"]), default="auto",
                     show_default=True, help="unit of the timestamps; auto: from the spacing of the first ones"),
        click.option("--input-rate", type=click.FloatRange(min=0, min_open=True, max=1e5),
                     help="input sample rate in Hz (default: measured from the timestamps); resampled to the "
                          "model's rate when it differs by more than 3 %"),
        click.option("--on-rate-mismatch", type=click.Choice(["resample", "refuse"]), default="resample",
                     show_default=True, help="what to do when the input rate is not the model's"),
        click.option("--axis-map", help="how the device is mounted, applied to each 3-axis sensor: e.g. x=-y,y=x,z=z"),
        click.option("--max-gap", type=click.FloatRange(min=0, min_open=True),
                     help="timestamp gap (s) that resets the window (default: max(0.2, 5 samples))"),
        click.option("--probs", is_flag=True, help="add per-class probabilities to each record"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _stream_config(hop: int | None, smooth: int, min_confidence: float, min_dwell: int, acc_unit: str | None,
                   gyro_unit: str | None, time_unit: TimeUnit, input_rate: float | None, on_rate_mismatch: str,
                   axis_map: str | None, max_gap: float | None, probs: bool) -> StreamConfig:
    return StreamConfig(
        units=Units(acc_unit, gyro_unit), input_rate_hz=input_rate, max_gap_s=max_gap, hop=hop,
        smoothing=SmoothingConfig(smooth, min_confidence, min_dwell), include_probs=probs, time_unit=time_unit,
        axis_map=axis_map, on_rate_mismatch="refuse" if on_rate_mismatch == "refuse" else "resample",
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@log_level_option
def main() -> None:
    """harlite's on-device runtime: stream IMU samples through an int8 activity model."""


@main.command()
@click.option("--model", "model", type=click.Path(path_type=Path), required=True,
              help="model.json (manifest) or its directory")
@click.option("--source", default="-", show_default=True,
              help="-, file:PATH (.csv/.jsonl/.npz), udp://HOST:PORT, serial://DEVICE?baud=N")
@click.option("--sink", default="-", show_default=True, help="-, file:PATH or mqtt://HOST:PORT/TOPIC")
@click.option("--realtime", is_flag=True, help="pace file sources at the sample rate")
@click.option("--stats-interval", type=click.FloatRange(min=0, min_open=True), help="seconds between stats records")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--variant", help="model variant from the manifest (default: its default, int8)")
@click.option("--columns", help="column names of CSV input without a header, e.g. t,gx,gy,gz,ax,ay,az "
                                "(default: t then the model's channels)")
@stream_options
def run(model: Path, source: str, sink: str, realtime: bool, stats_interval: float | None, threads: int,
        variant: str | None, columns: str | None, **stream_kw: Any) -> None:
    """Classify a live or recorded IMU stream; records go to the sink as JSON lines.

    CSV and JSON-lines columns are found by name in any order (the model's channel names or short
    forms such as ax, gx); extra columns are ignored. Ends with exit code 8 when the input ended
    before a single window was classified.
    """
    from edge_runtime.device.daemon import run_from_options

    with cli_errors():
        cols = [c.strip() for c in columns.split(",")] if columns else None
        run_from_options(model, source, sink, _stream_config(**stream_kw), realtime=realtime,
                         stats_interval=stats_interval, threads=threads, variant=variant, stop=threading.Event(),
                         columns=cols)


@main.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="data-set folder to create or extend")
@click.option("--label", required=True, help="label of the samples from the start")
@click.option("--subject", required=True, help="who is recorded")
@click.option("--labels", help="comma-separated labels SIGUSR1 steps through, e.g. walking,sitting,standing")
@click.option("--control", type=click.Path(path_type=Path),
              help="file whose new lines set the label while recording (echo sitting >> FILE)")
@click.option("--source", default="-", show_default=True, help="-, file:PATH, udp://HOST:PORT or serial://DEV")
@click.option("--channels", default="acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z", show_default=True,
              help="channel names to record, found in the input by name (acc_* in --acc-unit, gyro_* in --gyro-unit)")
@click.option("--model", type=click.Path(path_type=Path), help="take the channels and units from this model instead")
@click.option("--acc-unit", type=click.Choice(["g", "m/s2"]), default="m/s2", show_default=True)
@click.option("--gyro-unit", type=click.Choice(["rad/s", "deg/s"]), default="rad/s", show_default=True)
@click.option("--columns", help="column names of CSV input without a header")
@click.option("--time-unit", type=click.Choice(["auto", "s", "ms", "us", "ns"]), default="auto", show_default=True)
@click.option("--device", default="", help="device name written with the recording")
def record(out: Path, label: str, subject: str, labels: str | None, control: Path | None, source: str,
           channels: str, model: Path | None, acc_unit: str, gyro_unit: str, columns: str | None, time_unit: str,
           device: str) -> None:
    """Record a live source as labelled recordings in the data-set format (for har-train fit --data OUT)."""
    from edge_runtime.contract import channels_from_dict
    from edge_runtime.device.ingest import LineParser
    from edge_runtime.device.record import LabelControl
    from edge_runtime.device.record import record as run_record
    from edge_runtime.device.sources import open_source
    from edge_runtime.manifest import load_manifest

    with cli_errors():
        if model is not None:
            chans = load_manifest(model).input_spec.raw
        else:
            names = [c.strip() for c in channels.split(",") if c.strip()]
            units = [acc_unit if n.startswith("acc") else gyro_unit if n.startswith("gyro") else "" for n in names]
            chans = channels_from_dict({"raw_channels": names, "raw_units": units})  # groups from the names
        parser = LineParser([c.name for c in chans], [c.strip() for c in columns.split(",")] if columns else None)
        ctl = LabelControl(label, [v.strip() for v in labels.split(",")] if labels else (), control)
        stats = run_record(open_source(source, 50.0, False, parser), parser, out, chans, subject, ctl,
                           device=device, time_unit=time_unit, stop=threading.Event())
    click.echo(f"{out}/{stats.file}: {stats.samples} samples, labels {', '.join(stats.labels_seen)}", err=True)


@main.command("eval")
@click.option("--model", "model", type=click.Path(path_type=Path), required=True,
              help="model.json (manifest) or its directory")
@click.option("--data", default="hapt", show_default=True,
              help="hapt, hapt:PATH or a data-set folder (its held-out subjects and classes from the manifest)")
@click.option("--subjects", type=SubjectsParam("test", "train", "all"), default="test", show_default=True,
              help="test, train, all or ids like 2,4")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="write the full report here")
@click.option("--timeline", type=click.Path(path_type=Path), help="PNG of truth vs prediction, first recording")
@stream_options
def eval_(model: Path, data: str, subjects: SubjectSelection, json_out: Path | None, timeline: Path | None,
          **stream_kw: Any) -> None:
    """Replay held-out recordings through the daemon's code path and score them."""
    from edge_runtime.fileio import atomic_write_json
    from edge_runtime.measure.evaluate import streaming_eval

    with cli_errors():
        rep = streaming_eval(model, data, subjects, _stream_config(**stream_kw), timeline)
        if json_out is not None:
            atomic_write_json(json_out, rep.to_dict())
    click.echo(f"{rep.model_id} on {rep.recordings} recordings of subjects {rep.subjects}")
    click.echo(f"window accuracy    {100 * rep.window_accuracy:.2f}% ({rep.windows_validated} windows)")
    click.echo(f"streaming accuracy {100 * rep.streaming_accuracy:.2f}% ({rep.streaming_windows_labelled} "
               f"labelled windows)")
    for name, pc in rep.per_class.items():
        click.echo(f"  {name:20s} streaming recall {100 * pc.recall:6.2f}%  (window {100 * pc.window_recall:6.2f}%)")
    d = rep.switch_delay_s
    if d.median is not None and d.p90 is not None:
        click.echo(f"switch delay: median {d.median:.2f} s, p90 {d.p90:.2f} s, "
                   f"{d.missed} of {d.switches} switches missed")
    for kind, e in rep.emitted_during.items():
        top = ", ".join(f"{k} {100 * v:.0f}%" for k, v in list(e.as_.items())[:3])
        click.echo(f"{kind} windows ({e.windows}) emitted as: {top}")
    click.echo(f"throughput: {rep.samples_per_s:,.0f} samples/s ({rep.samples} samples)")


@main.command()
@click.option("--model", "model", type=click.Path(path_type=Path), required=True,
              help="model.json (manifest) or its directory")
@click.option("--windows", type=click.IntRange(min=10), default=2000, show_default=True)
@click.option("--repeat", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--variant", help="model variant from the manifest (default: its default, int8)")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="write the results here")
def bench(model: Path, windows: int, repeat: int, threads: int, variant: str | None, json_out: Path | None) -> None:
    """Latency, throughput and memory of the device path on this machine."""
    from edge_runtime.fileio import atomic_write_json
    from edge_runtime.measure.bench import run_bench

    with cli_errors():
        r = run_bench(model, windows, repeat, variant, threads)
        if json_out is not None:
            atomic_write_json(json_out, r.to_dict())
    mc = r.machine
    click.echo(f"{r.model_id} ({r.variant}, {r.model_bytes / 1024:.1f} KiB), {r.threads} thread(s)")
    click.echo(f"machine: {mc['cpu']}, {mc['cores']} cores, {mc['os']}, " +
               ", ".join(f"{k} {v}" for k, v in mc["versions"].items()))
    i, p = r.invoke_us, r.path_us
    click.echo(f"bare invoke      p50 {i['p50']:7.1f} µs  p90 {i['p90']:7.1f}  p99 {i['p99']:7.1f}  (n={i['n']:.0f})")
    click.echo(f"per-window path  p50 {p['p50']:7.1f} µs  p99 {p['p99']:7.1f}  = {r.path_over_invoke:.2f}x invoke")
    click.echo(f"replay           {r.replay_samples_per_s:,.0f} samples/s = {r.replay_x_realtime:,.0f}x real time")
    if r.rss_mb is not None and r.import_s is not None and r.load_s is not None:
        click.echo(f"start-up         import {1e3 * r.import_s:.0f} ms, load {1e3 * r.load_s:.1f} ms, "
                   f"RSS after load {r.rss_mb:.1f} MB")


if __name__ == "__main__":  # pragma: no cover
    main()
