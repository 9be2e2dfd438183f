"""The shared pieces every command relies on: errors and exit codes, logging, subject lists, where
data is found, and the typed reports' JSON round trip."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from edge_runtime.cliutil import SubjectsParam, cli_errors, log_level_option
from edge_runtime.datasets.catalog import data_search_path, find_data_file
from edge_runtime.datasets.subjects import SubjectSelection, parse_subjects
from edge_runtime.errors import EXIT_CODES, DatasetError, ExitCode, GateFailed, ModelError, UsageError
from edge_runtime.logs import RateLimitFilter, setup_logging
from edge_runtime.qtyping import ActivityRecord, ChangeRecord, GapRecord, StatsRecord, Variant
from edge_runtime.reports import EmittedDuring, StreamEvalReport, StreamSettings, SwitchDelay

ROOT = Path(__file__).resolve().parents[1]


def _command(fn: object) -> click.Command:
    @click.command()
    @log_level_option
    def cmd() -> None:
        with cli_errors():
            fn()  # type: ignore[operator]

    return cmd


@pytest.mark.parametrize(("exc", "code"), [
    (UsageError("bad --hop"), ExitCode.USAGE), (DatasetError("no data"), ExitCode.DATA_ERROR),
    (ModelError("bad model"), ExitCode.MODEL_ERROR), (GateFailed("out", ["int8: drop"]), ExitCode.GATE_FAILED),
])
def test_harlite_errors_exit_with_their_code_and_message(exc: Exception, code: ExitCode) -> None:
    def boom() -> None:
        raise exc

    res = CliRunner().invoke(_command(boom), [])
    assert res.exit_code == code and str(exc) in res.output and "Traceback" not in res.output


def test_a_bug_keeps_its_traceback_and_a_distinct_exit_code() -> None:
    def bug() -> None:
        raise ValueError("not a usage error: a programming error")

    res = CliRunner().invoke(_command(bug), [])
    assert res.exit_code == ExitCode.INTERNAL == 70
    assert "Traceback" in res.output and "not a usage error" in res.output and "internal error" in res.output


def test_every_exit_code_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("Exit codes (all CLIs"):].split("\n\n")[0]
    for code in ExitCode:
        assert re.search(rf"\b{int(code)} ", table), f"exit code {int(code)} missing from the README"
    assert set(EXIT_CODES) == set(ExitCode)


def test_rate_limit_filter_lets_one_through_per_interval_and_counts_the_rest() -> None:
    now = [0.0]
    f = RateLimitFilter(interval=5.0, clock=lambda: now[0])
    rec = lambda msg: logging.LogRecord("x", logging.WARNING, __file__, 1, msg, None, None)  # noqa: E731
    assert f.filter(rec("first"))
    assert not f.filter(rec("second")) and not f.filter(rec("third"))
    now[0] = 4.9
    assert not f.filter(rec("fourth"))
    now[0] = 5.0
    r = rec("fifth %d")
    r.args = (5,)
    assert f.filter(r) and r.getMessage() == "fifth 5 (+3 more since last report)"
    now[0] = 11.0
    r = rec("sixth")
    assert f.filter(r) and r.getMessage() == "sixth"


def test_log_level_and_format(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("warning")
    log = logging.getLogger("edge_runtime.device.daemon")
    log.info("hidden")
    log.warning("shown %s", "here")
    err = capsys.readouterr().err
    assert "hidden" not in err and "WARNING edge_runtime.device.daemon: shown here" in err
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging("loud")
    setup_logging("info")


@pytest.mark.parametrize(("text", "want"), [
    ("test", SubjectSelection(keyword="test")), ("2,4, 9", SubjectSelection(ids=(2, 4, 9))),
    (" 7 ", SubjectSelection(ids=(7,))),
])
def test_subject_lists(text: str, want: SubjectSelection) -> None:
    assert parse_subjects(text, ("test", "train", "all")) == want


@pytest.mark.parametrize("text", ["", "two", "2,x", "auto"])
def test_bad_subject_lists_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="ids like 2,4,9"):
        parse_subjects(text, ("test",))


def test_subject_selection_resolves_against_the_data() -> None:
    assert SubjectSelection(keyword="test").resolve([1, 2, 3], {"test": [3, 2]}) == (2, 3)
    with pytest.raises(DatasetError, match=r"\[99\] are not in the data"):
        SubjectSelection(ids=(1, 99)).resolve([1, 2], {})


def test_subjects_param_reports_a_click_usage_error() -> None:
    @click.command()
    @click.option("--subjects", type=SubjectsParam("auto", "none"), default="auto")
    def cmd(subjects: SubjectSelection) -> None:
        click.echo(repr(subjects))

    assert "keyword='auto'" in CliRunner().invoke(cmd, []).output
    res = CliRunner().invoke(cmd, ["--subjects", "x"])
    assert res.exit_code == ExitCode.USAGE and "auto, none or ids like 2,4,9" in res.output


def test_data_is_found_from_any_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARLITE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert find_data_file("hapt_raw.npz") == ROOT / "data" / "hapt_raw.npz"


def test_missing_data_names_every_place_and_where_to_put_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARLITE_DATA_DIR", str(tmp_path / "nowhere"))
    assert data_search_path() == [tmp_path / "nowhere"]
    with pytest.raises(DatasetError, match=r"nowhere.*HARLITE_DATA_DIR"):
        find_data_file("hapt_raw.npz")
    monkeypatch.delenv("HARLITE_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with pytest.raises(DatasetError, match=re.escape(str(tmp_path / "xdg" / "harlite"))):
        find_data_file("not_there.npz")


def test_records_keep_their_wire_keys_in_order() -> None:
    a = ActivityRecord(1.5, "WALKING", 0.9, "m", 12.0)
    assert list(a.to_dict()) == ["type", "t", "label", "confidence", "model_id", "latency_us"]
    assert a.to_dict()["type"] == "activity" and "probs" in ActivityRecord(1, "x", 1, "m", 1, {"x": 1.0}).to_dict()
    assert ChangeRecord(2.0, None, "SITTING").to_dict() == {"type": "change", "t": 2.0, "from": None, "to": "SITTING"}
    assert GapRecord(3.0, 1.25).to_dict() == {"type": "gap", "t": 3.0, "gap_s": 1.25}
    s = StatsRecord(True, 1.0, 2.0, 3, 3, 0, 0.0, {"p50": 0.0}, 0, {}, 0, 0, {"written": 1}).to_dict()
    assert list(s)[:3] == ["type", "final", "t_wall"] and s["type"] == "stats"
    with pytest.raises(AttributeError):
        a.label = "RUNNING"  # type: ignore[misc]


def test_variant_names_and_errors() -> None:
    assert f"model_{Variant.INT8}.tflite" == "model_int8.tflite" and Variant.parse("float16") is Variant.FLOAT16
    with pytest.raises(UsageError, match=r"unknown variant .int4."):
        Variant.parse("int4")


def test_reports_round_trip_and_refuse_a_newer_schema() -> None:
    rep = StreamEvalReport(
        model_id="m", data="hapt", subjects=[2], recordings=1, window_accuracy=0.9, window_macro_f1=0.8,
        windows_validated=10, streaming_accuracy=0.9, streaming_macro_f1=0.8, streaming_windows_labelled=9,
        unknown_on_labelled=0.0, per_class={}, switch_delay_s=SwitchDelay(1.0, 2.0, 3, 0),
        emitted_during={"transition": EmittedDuring(2, {"WALKING": 1.0})}, samples=100, wall_s=0.1,
        samples_per_s=1000.0, stream=StreamSettings(64, 1, 0.0, 1))
    d = rep.to_dict()
    assert d["emitted_during"]["transition"] == {"windows": 2, "as": {"WALKING": 1.0}} and "timeline" not in d
    assert StreamEvalReport.from_dict(d) == rep
    with pytest.raises(ValueError, match="schema 2 is newer"):
        StreamEvalReport.from_dict({**d, "schema": 2})
    with pytest.raises(ValueError, match="missing key 'model_id'"):
        StreamEvalReport.from_dict({k: v for k, v in d.items() if k != "model_id"})
