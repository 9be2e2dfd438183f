"""``har-data``: bring recordings into the harlite data-set format and look at them.

    har-data import wisdm SRC --out DIR [--device phone|watch] [--sensors acc,gyro] [--rate 20]
    har-data import csv SRC --out DIR ...          (generic CSV/TSV, phyphox, Sensor Logger)
    har-data inspect DIR [--plot FILE.png]

Each command parses options, calls one library function and maps errors to exit codes.
"""

from __future__ import annotations

from pathlib import Path

import click

from edge_runtime.cliutil import EXIT_CODES_HELP, cli_errors, log_level_option


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@log_level_option
def main() -> None:
    """Import recordings into harlite's data-set format and inspect data sets."""


@main.group("import")
def import_() -> None:
    """Write a data-set folder (dataset.json + CSV recordings) from another format."""


@import_.command("wisdm")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="data-set folder to create")
@click.option("--device", type=click.Choice(["phone", "watch"]), default="phone", show_default=True)
@click.option("--sensors", default="acc,gyro", show_default=True, help="acc, gyro or acc,gyro")
@click.option("--rate", type=click.FloatRange(min=1, max=1000), default=20.0, show_default=True,
              help="sample rate of the data set in Hz (sensors are aligned and anti-aliased onto it)")
@click.option("--force", is_flag=True, help="overwrite an existing output folder")
def import_wisdm(src: Path, out: Path, device: str, sensors: str, rate: float, force: bool) -> None:
    """WISDM 2019 raw text files (the folder or its .tar.xz archive)."""
    from train.importers.wisdm import import_wisdm as run

    with cli_errors():
        rep = run(src, out, device=device, sensors=tuple(s.strip() for s in sensors.split(",") if s.strip()),
                  rate=rate, force=force)
    click.echo(f"{out}: {rep.recordings} recordings, "
               + ", ".join(f"{k} {v / 60:.1f} min" for k, v in sorted(rep.seconds_per_class.items())))


@import_.command("csv")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="data-set folder to create")
@click.option("--labels", "labels_table", type=click.Path(path_type=Path),
              help="labels table: CSV recording,label,subject[,start,end] (recording: file or folder under SRC)")
@click.option("--label", help="one label for every recording")
@click.option("--label-pattern", help="regular expression on the recording's path; group 1 is the label")
@click.option("--subject", help="one subject for every recording")
@click.option("--subject-pattern", help="regular expression on the recording's path; group 1 is the subject")
@click.option("--sensors", default="acc,gyro", show_default=True, help="sensor groups to import: acc, gyro, mag")
@click.option("--time-column", help="name of the time column (default: seconds_elapsed, time, t, timestamp)")
@click.option("--time-unit", type=click.Choice(["auto", "s", "ms", "us", "ns"]), default="auto", show_default=True)
@click.option("--acc-unit", type=click.Choice(["g", "m/s2"]), help="when the header does not say")
@click.option("--gyro-unit", type=click.Choice(["rad/s", "deg/s"]), help="when the header does not say")
@click.option("--rate", type=click.FloatRange(min=1, max=1000), help="data-set rate in Hz (default: median measured)")
@click.option("--force", is_flag=True, help="overwrite an existing output folder")
def import_csv_cmd(src: Path, out: Path, labels_table: Path | None, label: str | None, label_pattern: str | None,
                   subject: str | None, subject_pattern: str | None, sensors: str, time_column: str | None,
                   time_unit: str, acc_unit: str | None, gyro_unit: str | None, rate: float | None,
                   force: bool) -> None:
    """CSV/TSV tables, phyphox and Sensor Logger exports (folders or .zip), Edge Impulse JSON/CSV."""
    from train.importers.generic import Options, import_csv

    with cli_errors():
        opts = Options(tuple(s.strip() for s in sensors.split(",") if s.strip()), time_column, time_unit, acc_unit,
                       gyro_unit, rate)
        s = import_csv(src, out, opts=opts, labels_table=labels_table, label=label, subject=subject,
                       subject_pattern=subject_pattern, label_pattern=label_pattern, force=force)
    click.echo(f"{out}: {s['recordings']} recordings at {s['rate_hz']:g} Hz, channels {', '.join(s['channels'])}, "
               f"classes {', '.join(s['classes'])}")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--plot", type=click.Path(path_type=Path), help="PNG of one recording's channels")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="write the summary as JSON")
def inspect(path: Path, plot: Path | None, json_out: Path | None) -> None:
    """Minutes per class and subject, measured rates, gaps and a units check of a data set."""
    from edge_runtime.fileio import atomic_write_json
    from train.inspect import inspect_dataset, render

    with cli_errors():
        summary = inspect_dataset(path, plot)
        if json_out is not None:
            atomic_write_json(json_out, summary)
    click.echo(render(summary))


if __name__ == "__main__":  # pragma: no cover
    main()
