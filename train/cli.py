"""``har-train``: parse options, call one function from :mod:`train.run`, map errors to exit codes."""

from __future__ import annotations

from pathlib import Path

import click

from edge_runtime.cliutil import EXIT_CODES_HELP, SubjectsParam, cli_errors, log_level_option
from edge_runtime.contract import FEATURE_SETS
from edge_runtime.datasets.subjects import SubjectSelection
from train.models import ARCHITECTURES


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@log_level_option
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
@click.option("--val-subjects", type=SubjectsParam("auto", "none"), default="auto", show_default=True,
              help="training subjects held out for validation and model selection: auto, none or 1,3,5")
@click.option("--distribute", type=click.Choice(["none", "mirrored", "multiworker"]), default="none",
              show_default=True, help="tf.distribute strategy")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory to create")
@click.option("--force", is_flag=True, help="overwrite an existing run directory")
@click.option("--quiet", is_flag=True, help="no Keras progress bar")
def fit(arch: str, data: str, epochs: int | None, batch_size: int | None, repeats: int | None, seed: int,
        features: str | None, val_subjects: SubjectSelection, distribute: str, out: Path, force: bool,
        quiet: bool) -> None:
    """Train ARCH on the training subjects and test it on the held-out subjects."""
    from edge_runtime.datasets.catalog import load_splits
    from train.fit import config_for, default_val_subjects
    from train.run import run_fit

    with cli_errors():
        splits = load_splits(data)
        subjects = sorted({int(s) for s in splits.train.subjects})
        vs = val_subjects.resolve(subjects, {"auto": default_val_subjects(splits.train.subjects), "none": ()}) \
            if val_subjects.keyword else val_subjects.ids
        cfg = config_for(arch, epochs=epochs, batch_size=batch_size, repeats=repeats, seed=seed, features=features,
                         distribute=distribute, val_subjects=vs)
        run_fit(cfg, splits, out, force=force, verbose=0 if quiet else "auto")


@main.command("eval")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--data", default="hapt", show_default=True, help="hapt, hapt:PATH or uci-har:DIR_OR_ZIP")
def eval_(model: Path, data: str) -> None:
    """Print test metrics of MODEL (a model.keras or run directory) on the held-out subjects."""
    from train.run import run_eval

    with cli_errors():
        rep = run_eval(model, data)
    click.echo(f"{model} on {data} ({rep['n']} test windows)")
    click.echo(f"Accuracy: {100 * rep['accuracy']:.3f}%  macro-F1: {100 * rep['macro_f1']:.3f}%")
    for name, pc in rep["per_class"].items():
        click.echo(f"  {name:20s} precision {100 * pc['precision']:6.2f}  recall {100 * pc['recall']:6.2f}  "
                   f"n={pc['support']}")


if __name__ == "__main__":  # pragma: no cover
    main()
