"""Trial sets without a model: the file formats, their errors, the checks, the history tables,
the trial in the decision record."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from modelvet.engine.errors import ModelVetError
from modelvet.engine.smoke import history
from modelvet.engine.smoke.protocol import FillEvent
from modelvet.engine.smoke.result import Measured
from modelvet.engine.trial import store
from modelvet.engine.trial.checks import judge
from modelvet.engine.trial.language import detect
from modelvet.engine.trial.result import FitProof, ModelTrial, PromptOutcome, TrialResult, totals
from modelvet.engine.trial.sets import TrialItem, bundled_sets, load_set
from tests.helpers import run_modelvet


def test_every_bundled_set_loads_and_together_they_use_every_check() -> None:
    names = set(bundled_sets())
    assert {
        "general",
        "coding",
        "extraction",
        "summarisation",
        "french",
        "german",
        "spanish",
    } <= names
    types = {item.check.type for name in names for item in load_set(name).prompts}
    assert types == {"contains", "regex", "json", "python", "language", "none"}
    assert load_set("summarisation").document  # what --fill repeats


def check(**fields: object) -> TrialItem:
    return TrialItem.model_validate({"id": "x", "prompt": "p", "check": fields})


@pytest.mark.parametrize(
    ("fields", "answer", "passed"),
    [
        ({"type": "contains", "text": "Paris"}, "The capital is paris.", True),
        ({"type": "contains", "text": "Paris", "case_sensitive": True}, "paris", False),
        ({"type": "regex", "pattern": r"\b42\b"}, "17 + 25 = 42.", True),
        ({"type": "regex", "pattern": r"\b42\b"}, "17 + 25 = 420", False),
        ({"type": "json"}, 'Sure: ```json\n{"a": 1}\n```', True),
        ({"type": "json"}, "{'a': 1}", False),
        (
            {
                "type": "json",
                "schema": {
                    "type": "object",
                    "required": ["name", "age"],
                    "properties": {"age": {"type": "integer"}},
                },
            },
            '{"name": "Alice", "age": "30"}',
            False,
        ),
        (
            {"type": "json", "schema": {"type": "array", "items": {"type": "string"}}},
            '["Jupiter", "Saturn", "Uranus"]',
            True,
        ),
        (
            {"type": "python", "function": "add"},
            "```python\ndef add(a, b):\n    return a + b\n```",
            True,
        ),
        ({"type": "python", "function": "add"}, "def plus(a, b): return a + b", False),
        ({"type": "python", "function": "add"}, "def add(a, b) return a + b", False),
        (
            {"type": "language", "language": "fr"},
            "Le ciel est bleu parce que la lumière du soleil est diffusée dans l'air.",
            True,
        ),
        (
            {"type": "language", "language": "fr"},
            "The sky is blue because the light of the sun is scattered by the air.",
            False,
        ),
        ({"type": "none"}, "anything", None),
    ],
)
def test_checks(fields: dict[str, object], answer: str, passed: bool | None) -> None:
    verdict, why = judge(check(**fields).check, answer)
    assert verdict is passed, why
    assert why


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Der Himmel ist blau, weil das Licht an den Molekülen der Luft gestreut wird.", "de"),
        ("El cielo es azul porque la luz del sol se dispersa en la atmósfera.", "es"),
        ("The sky is blue because sunlight is scattered by the air.", "en"),
        ("空が青いのは、光が散乱されるからです。", "ja"),
        ("Небо голубое, потому что свет рассеивается.", "ru"),
        ("Paris", None),  # one word says nothing about the language
    ],
)
def test_language_detection(text: str, language: str | None) -> None:
    assert detect(text)[0] == language


BAD_SETS = [
    (
        "bad-regex.toml",
        '[[prompts]]\nid = "a"\nprompt = "hi"\n\n[[prompts]]\nid = "b"\nprompt = "hi"\n'
        'check = { type = "regex", pattern = "(unclosed" }\n',
        ["line 5", "prompt 2", "field check.pattern", "not a valid regular expression"],
    ),
    (
        "bad-type.toml",
        '[[prompts]]\nid = "a"\nprompt = "hi"\ncheck = { type = "smell" }\n',
        ["line 1", "field check", "smell"],
    ),
    (
        "bad-language.toml",
        '[[prompts]]\nid = "a"\nprompt = "hi"\ncheck = { type = "language", language = "xx" }\n',
        ["field check.language", "unknown language 'xx'"],
    ),
    (
        "dupe.toml",
        '[[prompts]]\nid = "a"\nprompt = "hi"\n[[prompts]]\nid = "a"\nprompt = "x"\n',
        ["field prompts", "used twice"],
    ),
    (
        "schema.toml",
        '[[prompts]]\nid = "a"\nprompt = "hi"\n'
        'check = { type = "json", schema = { oneOf = [] } }\n',
        ["field check.schema", "oneOf"],
    ),
    ("broken.toml", "[[prompts]\n", ["not valid TOML"]),
    (
        "lines.jsonl",
        '{"set": {"name": "mine"}}\n{"id": "a", "prompt": "hi"}\n'
        '{"id": "b", "prompt": "hi", "max_tokens": 0}\n',
        ["line 3", "field max_tokens"],
    ),
    ("notjson.jsonl", '{"id": "a", "prompt": "hi"}\n{"id": "b",\n', ["line 2", "not valid JSON"]),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD_SETS, ids=[b[0] for b in BAD_SETS])
def test_a_bad_set_is_one_line_naming_file_line_and_field(
    tmp_path: Path, name: str, text: str, expected: list[str]
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ModelVetError) as caught:
        load_set(path)
    message = caught.value.message()
    assert str(path) in message
    for part in expected:
        assert part in message


def test_the_cli_refuses_a_bad_set_with_exit_2_before_loading_anything(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD_SETS[0][1])
    done = run_modelvet("trial", "--set", str(path), "--model", str(tmp_path / "none.gguf"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"{path}: line 5, prompt 2, field check.pattern" in done.stderr
    unknown = run_modelvet("trial", "--set", "no-such-set", "--model", "x.gguf")
    assert unknown.returncode == 2 and "general" in unknown.stderr


def a_trial() -> TrialResult:
    prompts = [
        PromptOutcome(
            id="capital",
            prompt="?",
            check="contains",
            answer="Paris",
            passed=True,
            why="contains",
            prompt_tokens=30,
            prompt_tokens_per_s=100.0,
            decode_tokens=5,
            decode_tokens_per_s=20.0,
            time_to_first_token_s=0.3,
            seconds=0.5,
        ),
        PromptOutcome(
            id="email",
            prompt="?",
            check="none",
            answer="Dear",
            passed=None,
            why="human",
            prompt_tokens=30,
            prompt_tokens_per_s=90.0,
            decode_tokens=50,
            decode_tokens_per_s=18.0,
            time_to_first_token_s=0.4,
            seconds=3.0,
        ),
    ]
    fit = FitProof(
        requested_context_tokens=4096,
        context_tokens=4096,
        filled_tokens=4000,
        loaded=True,
        answered=True,
        fits=True,
        predicted_total_bytes=300 * 2**20,
        measured_peak_bytes=320 * 2**20,
        memory_ratio=320 / 300,
        measured_buffers_bytes=290 * 2**20,
        predicted_kv_cache_bytes=90 * 2**20,
        measured_kv_cache_bytes=90 * 2**20,
        prompt_tokens_per_s=200.0,
        decode_tokens_per_s_at_depth=12.0,
        predicted_decode_tokens_per_s_at_depth=15.0,
        time_to_first_token_s=20.0,
        needle_found=True,
        needle_answer="4817",
        verdict="fits: at 4096 tokens",
    )
    model = ModelTrial(
        file="/m/a.gguf",
        sha256="ab" * 32,
        catalog_model_id=None,
        kv_cache_type="q8_0",
        settings="context 4096",
        checks=[],
        measured=Measured(buffers_mib={"model": 92.1, "kv": 90.0}),
        prompts=prompts,
        totals=totals(prompts, 2**28),
        fit=fit,
        completed=True,
        error=None,
    )
    return TrialResult(
        set_name="General",
        set_source="general.toml",
        started_at="2026-12-01T12:00:00+00:00",
        models=[model],
    )


def test_totals_count_only_automatic_checks() -> None:
    t = a_trial().models[0].totals
    assert (t.checked, t.passed, t.pass_rate) == (1, 1, 1.0)
    assert t.median_decode_tokens_per_s == 19.0


def test_trials_and_marks_are_kept_by_a_migration_that_keeps_old_runs(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as connection:  # a version-1 database with one smoke run
        connection.executescript(history.MIGRATIONS[0] + "PRAGMA user_version = 1;")
        connection.execute("INSERT INTO runs VALUES (1, 't', 'old.gguf', 'abc', 's', 1, 9.0, '{}')")
    connection.close()
    trial_id = store.record_trial(a_trial(), path)
    assert history.schema_version(path) == history.SCHEMA_VERSION == 2
    assert [r["file"] for r in history.runs(path=path)] == ["old.gguf"]
    store.set_mark(trial_id, 0, "email", "good", path)
    store.set_mark(trial_id, 0, "capital", "bad", path)
    store.set_mark(trial_id, 0, "capital", None, path)  # taken back
    kept = store.load_trial(trial_id, path)
    assert kept.history_id == trial_id
    assert {p.id: p.human_mark for p in kept.models[0].prompts} == {
        "capital": None,
        "email": "good",
    }
    assert store.trials(path=path)[0]["set_name"] == "General"
    with pytest.raises(ModelVetError, match="no trial 99"):
        store.load_trial(99, path)


def test_the_decision_record_carries_the_trial(tmp_path: Path) -> None:
    trial = a_trial()
    trial.models[0].prompts[1].human_mark = "good"
    result_file = tmp_path / "trial.json"
    result_file.write_text(trial.model_dump_json())
    profile = Path(__file__).parent.parent / "examples" / "us-defense-24gb.toml"
    for fmt in ("md", "html", "json", "pdf"):
        out = tmp_path / f"record.{fmt}"
        done = run_modelvet(
            "report",
            "--profile",
            str(profile),
            "--format",
            fmt,
            "-o",
            str(out),
            "--trial",
            str(result_file),
        )
        assert done.returncode == 0, done.stderr
    markdown = (tmp_path / "record.md").read_text()
    assert "## Trial on the organisation's own prompts" in markdown
    assert "a.gguf (q8_0 KV)" in markdown and "1 of 1 (100%)" in markdown
    assert "| capital | pass |" in markdown and "| email | human, marked good |" in markdown
    assert "fits: at 4096 tokens" in markdown and "1 good, 0 bad" in markdown
    assert "256 MiB (llama.cpp's buffers 182 MiB)" in markdown
    assert "fits: at 4096 tokens" in (tmp_path / "record.html").read_text()
    bad = tmp_path / "smoke.json"
    bad.write_text('{"file": "x"}')
    refused = run_modelvet(
        "report",
        "--profile",
        str(profile),
        "--format",
        "md",
        "-o",
        str(tmp_path / "r.md"),
        "--trial",
        str(bad),
    )
    assert refused.returncode == 2 and "not a trial result" in refused.stderr


@pytest.fixture(scope="module")
def checked_smol(smol_gguf: Path) -> object:
    """The real file's checks before a load (header, hash, prediction), at 16384 tokens asked:
    twice the 8192 it was trained for."""
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.fit.settings import RunSettings
    from modelvet.engine.machine import detect
    from modelvet.engine.smoke.check import check_before_load

    settings = RunSettings.preset("llama-server", 16384)
    return check_before_load(smol_gguf, bundled_catalog(), settings, detect())


def fill_event(n_ctx: int, prompt_tokens: int, answer: str) -> FillEvent:
    return FillEvent(
        n_ctx=n_ctx,
        answer=answer,
        prompt_tokens=prompt_tokens,
        prompt_seconds=10.0,
        decode_tokens=12,
        decode_seconds=2.0,
        time_to_first_token_s=10.0,
        seconds=12.0,
        peak_rss_bytes=400 * 2**20,
    )


@pytest.mark.parametrize(
    ("requested", "event", "fits", "verdict"),
    [
        (8192, fill_event(8192, 8050, "It is 4817."), True, "fits: loaded and answered with 8062"),
        (8192, fill_event(8192, 8050, "I do not know."), True, "did NOT find the needle"),
        (
            16384,
            fill_event(8192, 8050, "4817"),
            False,
            "not proven at 16384 tokens: the model's trained context is 8192",
        ),
        (8192, fill_event(8192, 3000, "4817"), False, "not proven: loaded"),
        (8192, None, False, "not proven: loaded, but killed"),
    ],
)
def test_a_fill_proves_only_what_it_reached(
    checked_smol: object,
    requested: int,
    event: FillEvent | None,
    fits: bool,
    verdict: str,
) -> None:
    from modelvet.engine.trial.fit import fit_proof

    measured = Measured(
        load_seconds=0.3,
        baseline_rss_bytes=100 * 2**20,
        peak_rss_bytes=400 * 2**20,
        buffers_mib={"kv": 180.0, "model": 92.1},
    )
    proof = fit_proof(checked_smol, measured, event, "killed" if event is None else None, requested)  # type: ignore[arg-type]
    assert proof.fits is fits and verdict in proof.verdict, proof.verdict
    assert proof.requested_context_tokens == requested
    assert proof.measured_peak_bytes == 300 * 2**20 and proof.predicted_total_bytes
    assert proof.predicted_decode_tokens_per_s_at_depth


def test_the_text_table_shows_each_prompt_per_model_and_the_totals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from modelvet.cli_trial import print_trial

    print_trial(a_trial())
    out = capsys.readouterr().out
    assert "[1] a.gguf (q8_0 KV): context 4096" in out
    assert "\ncapital\n  [1] pass    100.0 pp t/s   20.0 tg t/s ttft 0.30 s  Paris" in out
    assert "\nemail\n  [1] human" in out
    assert "passed 1/1 (100%), median 95.0 pp t/s, 19.0 tg t/s, peak 256 MiB" in out
    assert "fill: fits: at 4096 tokens; decode at depth 12.0 t/s (predicted 15.0)" in out
