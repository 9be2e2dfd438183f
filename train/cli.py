"""``har-train``: parse options, call one function from :mod:`train.run`, map errors to exit codes."""

from __future__ import annotations

from pathlib import Path

import click

from edge_runtime.contract import FEATURE_SETS
from edge_runtime.exitcodes import cli_errors
from train.models import ARCHITECTURES


def _parse_subjects(value: str | None) -> tuple[int, ...] | None:
    if value is None or value == "auto":
        return None
    if value == "none":
        return ()
    try:
        return tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter("use auto, none or a comma-separated list of subject ids") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Train and evaluate harlite activity models."""


@main.command()
@click.option("--arch", type=click.Choice(list(ARCHITECTURES)), default="compact", show_default=True)
@click.option("--data", default="hapt", show_default=True, help="hapt, hapt:PATH or uci-har:DIR_OR_ZIP")
@click.option("--epochs", type=click.IntRange(min=1), help="default: the architecture's")
@click.option("--batch-size", type=click.IntRange(min=1), help="default: the architecture's")
@click.option("--repeats", type=click.IntRange(min=1), help="default: 10 (tutorial), 3 (compact)")
@click.option("--seed", type=int, default=0, show_default=True, help="repeat r uses seed+r")
@click.option("--features", type=click.Choice(sorted(FEATURE_SETS)), help="model input channels")
@click.option("--val-subjects", default="auto", show_default=True,
              help="training subjects held out for validation and model selection: auto, none or 1,3,5")
@click.option("--distribute", type=click.Choice(["none", "mirrored", "multiworker"]), default="none",
              show_default=True, help="tf.distribute strategy")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory to create")
@click.option("--force", is_flag=True, help="overwrite an existing run directory")
@click.option("--quiet", is_flag=True, help="no Keras progress bar")
def fit(arch: str, data: str, epochs: int | None, batch_size: int | None, repeats: int | None, seed: int,
        features: str | None, val_subjects: str, distribute: str, out: Path, force: bool, quiet: bool) -> None:
    """Train ARCH on the training subjects and test it on the held-out subjects."""
    from edge_runtime.datasets import load_splits
    from train.fit import config_for, default_val_subjects
    from train.run import run_fit

    with cli_errors():
        splits = load_splits(data)
        vs = _parse_subjects(val_subjects)
        cfg = config_for(
            arch, epochs=epochs, batch_size=batch_size, repeats=repeats, seed=seed, features=features,
            distribute=distribute,
            val_subjects=default_val_subjects(splits.train.subjects) if vs is None else vs,
        )
        run_fit(cfg, splits, out, force=force, echo=click.echo, verbose=0 if quiet else "auto")


@main.command("eval")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--data", default="hapt", show_default=True, help="hapt, hapt:PATH or uci-har:DIR_OR_ZIP")
def eval_(model: Path, data: str) -> None:
    """Print test metrics of MODEL (a model.keras or run directory) on the held-out subjects."""
    from train.run import run_eval

    with cli_errors():
        run_eval(model, data, echo=click.echo)


if __name__ == "__main__":  # pragma: no cover
    main()
