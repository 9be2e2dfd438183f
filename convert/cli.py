"""``har-convert``: parse options, call :func:`convert.pipeline.run_convert`, map errors to exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from convert.variants import RANGES_CHOICES, RangesChoice
from edge_runtime.cliutil import EXIT_CODES_HELP, cli_errors, log_level_option


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@log_level_option
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="output directory to create")
@click.option("--quantize", default="int8,float32", show_default=True,
              help="comma-separated variants: int8, float16, dynamic, float32")
@click.option("--calibration-samples", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--calibration-clip", default="auto", show_default=True, callback=lambda _c, _p, v: _clip(v),
              help="clip calibration inputs to this percentile (100 = plain min/max), or auto: try 99.9 and "
                   "99.5 and keep the better on other training windows")
@click.option("--activation-ranges", type=click.Choice(RANGES_CHOICES), default="auto", show_default=True,
              help="int8 activation ranges: the extremes over all calibration windows (the TFLite "
                   "calibrator's rule), the mean of each window's min and max, or auto: try both")
@click.option("--max-drop", type=click.FloatRange(min=0), default=0.5, show_default=True,
              help="largest allowed accuracy drop vs float, percentage points")
@click.option("--data", default=None, help="hapt, hapt:PATH or uci-har:DIR (default: the training run's)")
@click.option("--force", is_flag=True, help="overwrite an existing output directory")
def main(source: Path, out: Path, quantize: str, calibration_samples: int, calibration_clip: float | Literal["auto"],
         activation_ranges: RangesChoice, max_drop: float, data: str | None, force: bool) -> None:
    """Convert SOURCE (a run directory or model.keras) to TFLite and gate its accuracy."""
    from convert.pipeline import parse_variants, run_convert

    with cli_errors():  # the gate's failure exits 6, see edge_runtime.errors.ExitCode
        run_convert(source, out, variants=parse_variants(quantize), calibration_samples=calibration_samples,
                    calibration_clip=calibration_clip, activation_ranges=activation_ranges,
                    max_drop_pp=max_drop, data=data, force=force)


def _clip(value: str) -> float | Literal["auto"]:
    """``auto`` or a percentile in (50, 100]."""
    if value == "auto":
        return "auto"
    try:
        pct = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither 'auto' nor a number") from None
    if not 50 < pct <= 100:
        raise click.BadParameter(f"percentile must lie in (50, 100], got {pct}")
    return pct


if __name__ == "__main__":  # pragma: no cover
    main()
