"""``har-train``: parse options, call one function from :mod:`train.run`, map errors to exit codes."""

from __future__ import annotations

from dataclasses import replace
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
@click.option("--data", default="hapt", show_default=True,
              help="a data-set folder (dataset.json inside), hapt, hapt:PATH or uci-har:DIR_OR_ZIP")
@click.option("--classes", help="data-set folders: classes to use, merge or rename, e.g. "
                                "walking,jogging,stairs=upstairs+downstairs (default: all)")
@click.option("--test-subjects", type=SubjectsParam(), help="data-set folders: held-out subjects, e.g. 1634,1636 "
                                                            "(default: every fifth subject)")
@click.option("--train-subjects", type=SubjectsParam(), help="data-set folders: train on these subjects only")
@click.option("--window", help="data-set folders: window in samples (128) or seconds (2.56s; default 2.56 s)")
@click.option("--hop", help="data-set folders: hop in samples or seconds (default: half the window)")
@click.option("--class-weight", type=click.Choice(["auto", "balanced", "none"]), default="auto", show_default=True,
              help="weigh the loss by class frequency (auto: when classes differ by more than 1.5x)")
@click.option("--rotation", type=click.FloatRange(0, 180),
              help="largest random rotation (degrees) of each 3-axis sensor in augmentation (default: the "
                   "architecture's; 180 for a device that may be carried any way round)")
@click.option("--rotation-axis", type=click.Choice(["x", "y", "z"]),
              help="rotate only about this device axis (a phone in a trouser pocket: y, its long axis)")
@click.option("--flip", is_flag=True, help="also turn half the training windows upside down")
@click.option("--init-from", type=click.Path(path_type=Path),
              help="fine-tune the model of this run directory (same channels, rate and window; new classes are "
                   "fine: its output layer is replaced)")
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), help="default: the architecture's")
@click.option("--epochs", type=click.IntRange(min=1), help="default: the architecture's")
@click.option("--batch-size", type=click.IntRange(min=1), help="default: the architecture's")
@click.option("--repeats", type=click.IntRange(min=1), help="default: 10 (tutorial), 3 (compact)")
@click.option("--seed", type=int, default=0, show_default=True, help="repeat r uses seed+r")
@click.option("--features", type=click.Choice(sorted(FEATURE_SETS)),
              help="model input channels (default: raw6 on the HAPT channels, raw otherwise)")
@click.option("--val-subjects", type=SubjectsParam("auto", "none"), default="auto", show_default=True,
              help="training subjects held out for validation and model selection: auto, none or 1,3,5")
@click.option("--distribute", type=click.Choice(["none", "mirrored", "multiworker"]), default="none",
              show_default=True, help="tf.distribute strategy")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="run directory to create")
@click.option("--force", is_flag=True, help="overwrite an existing run directory")
@click.option("--quiet", is_flag=True, help="no Keras progress bar")
def fit(arch: str, data: str, classes: str | None, test_subjects: SubjectSelection | None,
        train_subjects: SubjectSelection | None, window: str | None,
        hop: str | None, class_weight: str, rotation: float | None, rotation_axis: str | None, flip: bool,
        init_from: Path | None,
        learning_rate: float | None, epochs: int | None, batch_size: int | None,
        repeats: int | None, seed: int, features: str | None, val_subjects: SubjectSelection, distribute: str,
        out: Path, force: bool, quiet: bool) -> None:
    """Train ARCH on the training subjects and test it on the held-out subjects."""
    from edge_runtime.datasets.catalog import load_splits
    from train.fit import config_for, default_val_subjects
    from train.run import run_fit

    with cli_errors():
        if init_from is not None and window is None:  # the pretrained model's window, unless told otherwise
            from train.run import load_trained

            spec = load_trained(init_from).spec
            window, hop = str(spec.window.length), hop or str(spec.window.hop)
        splits = load_splits(data, window_text=window, hop_text=hop, classes=classes,
                             test_subjects=test_subjects.ids if test_subjects else None,
                             train_subjects=train_subjects.ids if train_subjects else None)
        subjects = sorted({int(s) for s in splits.train.subjects})
        vs = val_subjects.resolve(subjects, {"auto": default_val_subjects(splits.train.subjects), "none": ()}) \
            if val_subjects.keyword else val_subjects.ids
        cfg = config_for(arch, epochs=epochs, batch_size=batch_size, repeats=repeats, seed=seed, features=features,
                         distribute=distribute, val_subjects=vs, class_weight=class_weight,
                         init_from=str(init_from) if init_from else None, learning_rate=learning_rate)
        aug = cfg.augmentation
        cfg = replace(cfg, augmentation=replace(aug, rotation_deg=aug.rotation_deg if rotation is None else rotation,
                                                rotation_axis=rotation_axis, flip=flip or aug.flip))
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
