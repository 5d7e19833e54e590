"""The smoke-test child process: the one module that imports llama_cpp.

Run as `python -m modelvet.engine.smoke.child`; reads one SmokeRequest JSON line on stdin and
writes JSON-line events on stdout. A crash, an out-of-memory kill or a hostile file ends this
process, never the app. llama.cpp's load log (stderr) is captured to read the buffer sizes it
allocated, then stderr is restored so a later crash still says why.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from modelvet.engine.smoke.probes import judge
from modelvet.engine.smoke.protocol import (
    BUILTIN_CHAT_FORMAT,
    PARENT_PID_VARIABLE,
    AnswerEvent,
    BuffersEvent,
    ChildEvent,
    ErrorEvent,
    FillEvent,
    FillSpec,
    LoadedEvent,
    ProbeEvent,
    PromptLine,
    ResultEvent,
    SmokeRequest,
    StageEvent,
    TimedAnswer,
    TimingEvent,
    TokenEvent,
    TrialEvent,
    builtin_chat_format,
    encode,
    file_identity,
    parse_applied,
    parse_buffers,
)
from modelvet.engine.template_sandbox import jinja_is_safe

PR_SET_PDEATHSIG = 1


def emit(event: ChildEvent) -> None:
    sys.stdout.write(encode(event) + "\n")
    sys.stdout.flush()


@contextlib.contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Redirect file descriptor 2 (where llama.cpp logs) into a temp file for the block."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


class FileChanged(Exception):
    """The file on disk is no longer the one the parent verified."""


class _UncompiledTemplate:
    """Stands in for llama-cpp-python's Jinja2ChatFormatter: the embedded template is kept as
    text, never compiled or rendered."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    def to_chat_handler(self) -> Any:
        def refuse(**kwargs: Any) -> Any:
            raise RuntimeError("the model's chat template is not used (it did not pass screening)")

        return refuse


@contextlib.contextmanager
def templates_never_compiled(active: bool) -> Iterator[None]:
    """While a model loads, keep llama-cpp-python from compiling its embedded templates."""
    if not active:
        yield
        return
    from llama_cpp import llama_chat_format

    real = llama_chat_format.Jinja2ChatFormatter
    llama_chat_format.Jinja2ChatFormatter = _UncompiledTemplate  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        llama_chat_format.Jinja2ChatFormatter = real  # type: ignore[misc]


@contextlib.contextmanager
def sequence_slots(request: SmokeRequest) -> Iterator[None]:
    """Size the context for `parallel_slots` sequences (sharing one cache if `kv_unified`), as
    llama-server does; llama-cpp-python's constructor has no argument for either, so its
    default context parameters are amended while it builds the context."""
    from llama_cpp import llama_cpp as low_level

    original = low_level.llama_context_default_params

    def amended() -> Any:
        params = original()
        params.n_seq_max = request.parallel_slots
        params.kv_unified = request.kv_unified
        return params

    low_level.llama_context_default_params = amended
    try:
        yield
    finally:
        low_level.llama_context_default_params = original


def load(request: SmokeRequest) -> Any:
    if request.file_identity and file_identity(request.model_path) != request.file_identity:
        raise FileChanged("the file changed after it was checked; it was not loaded")
    import llama_cpp

    # What the process holds before the model: the interpreter and llama.cpp's libraries.
    emit(
        StageEvent(
            stage="baseline", detail="runtime loaded", baseline_rss_bytes=current_rss_bytes()
        )
    )
    kv_types = {"f16": 1, "q8_0": 8, "q4_0": 2}  # ggml_type ids
    emit(StageEvent(stage="loading", detail=f"loading {os.path.basename(request.model_path)}"))
    builtin = request.chat_format == BUILTIN_CHAT_FORMAT or (
        request.chat_format is None and not jinja_is_safe()
    )
    start = time.perf_counter()
    with captured_stderr() as log, templates_never_compiled(builtin), sequence_slots(request):
        llm = llama_cpp.Llama(
            model_path=request.model_path,
            n_ctx=request.context_tokens,
            n_batch=request.n_batch,
            n_ubatch=request.n_ubatch,
            n_threads=request.n_threads,
            n_threads_batch=request.n_threads,
            n_gpu_layers=request.gpu_layers,
            flash_attn=request.flash_attention,
            swa_full=request.swa_full,
            type_k=kv_types[request.kv_cache_type],
            type_v=kv_types[request.kv_cache_type],
            # "chatml" until the built-in format is known: the embedded template never becomes
            # the active format when it is not to be rendered
            chat_format="chatml" if builtin else request.chat_format,
            verbose=True,
        )
    seconds = time.perf_counter() - start
    if builtin:
        llm.chat_format = builtin_chat_format(
            request.architecture,
            lambda marker: len(llm.tokenize(marker.encode(), add_bos=False, special=True)) == 1,
        )
    text = "\n".join(log)
    emit(BuffersEvent(mib=parse_buffers(text), applied=parse_applied(text)))
    emit(
        LoadedEvent(
            seconds=seconds,
            n_ctx=llm.n_ctx(),
            n_threads=llm.n_threads,
            peak_rss_bytes=peak_rss_bytes(),
            chat_format=llm.chat_format,
        )
    )
    return llm


def measure_generation(llm: Any, request: SmokeRequest) -> None:
    """Prompt processing and greedy generation timed directly around llama.cpp's eval."""
    emit(StageEvent(stage="measuring", detail=f"generating {request.generate_tokens} tokens"))
    prompt = (
        "Write a short story about a lighthouse keeper who finds a message in a bottle. "
        "Describe the sea, the weather and the keeper's thoughts in detail."
    )
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True)
    llm.reset()
    start = time.perf_counter()
    llm.eval(tokens)
    prefill_seconds = time.perf_counter() - start
    generated = 0
    first_token_at = None
    gen_start = time.perf_counter()
    for _ in range(request.generate_tokens):
        token = llm.sample(top_k=1, temp=0.0)
        if first_token_at is None:
            first_token_at = time.perf_counter()
        if llm.token_eos() == token:
            break
        llm.eval([token])
        generated += 1
    gen_seconds = time.perf_counter() - gen_start
    emit(
        TimingEvent(
            prompt_tokens=len(tokens),
            prompt_seconds=prefill_seconds,
            generated_tokens=generated,
            generation_seconds=gen_seconds,
            time_to_first_token_s=(first_token_at or gen_start) - start,
            peak_rss_bytes=peak_rss_bytes(),
        )
    )


def chat(llm: Any, prompt: str, max_tokens: int, stream: bool) -> tuple[str, int, float]:
    """One greedy chat turn; streams `token` events when asked. (text, tokens, seconds)."""
    llm.reset()
    start = time.perf_counter()
    parts: list[str] = []
    count = 0
    chunks = llm.create_chat_completion(
        messages=[{"role": "user", "content": prompt}],
        max_tokens=max_tokens,
        temperature=0.0,
        top_k=1,
        stream=True,
    )
    for chunk in chunks:
        piece = chunk["choices"][0]["delta"].get("content") or ""
        if not piece:
            continue
        parts.append(piece)
        count += 1
        if stream:
            elapsed = time.perf_counter() - start
            emit(TokenEvent(text=piece, tokens=count, tokens_per_s=count / elapsed))
    return "".join(parts), count, time.perf_counter() - start


def timed_chat(llm: Any, prompt: str, max_tokens: int) -> TimedAnswer:
    """One greedy chat turn, timed by llama.cpp's own counters (prompt and decode), with the
    time to the first streamed piece of text."""
    from llama_cpp import llama_cpp as low_level

    llm.reset()
    low_level.llama_perf_context_reset(llm.ctx)
    start = time.perf_counter()
    first_at = None
    parts: list[str] = []
    for chunk in llm.create_chat_completion(
        messages=[{"role": "user", "content": prompt}],
        max_tokens=max_tokens,
        temperature=0.0,
        top_k=1,
        stream=True,
    ):
        piece = chunk["choices"][0]["delta"].get("content") or ""
        if piece and first_at is None:
            first_at = time.perf_counter()
        parts.append(piece)
    end = time.perf_counter()
    perf = low_level.llama_perf_context(llm.ctx)
    return TimedAnswer(
        answer="".join(parts),
        prompt_tokens=int(perf.n_p_eval),
        prompt_seconds=perf.t_p_eval_ms / 1000,
        decode_tokens=int(perf.n_eval),
        decode_seconds=perf.t_eval_ms / 1000,
        time_to_first_token_s=(first_at or end) - start,
        seconds=end - start,
        peak_rss_bytes=peak_rss_bytes(),
    )


def filled_prompt(llm: Any, fill: FillSpec, budget_tokens: int) -> str:
    """Filler repeated to `budget_tokens` (as this model counts them), the needle near the
    start, the question at the end."""

    def count(text: str) -> int:
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False))

    room = max(budget_tokens - count(fill.needle) - count(fill.question) - 8, 0)
    unit = llm.tokenize(fill.filler.encode("utf-8"), add_bos=False)
    body = (unit * (room // max(len(unit), 1) + 1))[:room]
    split = int(len(body) * fill.needle_at)
    before = llm.detokenize(body[:split]).decode("utf-8", "ignore")
    after = llm.detokenize(body[split:]).decode("utf-8", "ignore")
    return f"{before}\n\n{fill.needle}\n\n{after}\n\n{fill.question}"


def fill_and_ask(llm: Any, fill: FillSpec) -> FillEvent:
    """Ask the question at the end of a context filled to its size, less the answer's room
    and the chat template's; a template longer than that margin gets a second, shorter try."""
    n_ctx = llm.n_ctx()
    margin = 64
    for _ in range(3):
        prompt = filled_prompt(llm, fill, n_ctx - fill.answer_tokens - margin)
        try:
            return FillEvent(n_ctx=n_ctx, **dict(timed_chat(llm, prompt, fill.answer_tokens)))
        except ValueError as error:  # llama-cpp-python: "Requested tokens … exceed context"
            if "exceed" not in str(error):
                raise
            margin *= 4
    raise ValueError(f"the filled prompt did not fit in {n_ctx} tokens with its template")


def run_trial(llm: Any, request: SmokeRequest) -> None:
    for item in request.trial:
        emit(StageEvent(stage="trial", detail=item.id))
        emit(TrialEvent(id=item.id, **dict(timed_chat(llm, item.prompt, item.max_tokens))))
    if request.fill is not None:
        emit(StageEvent(stage="fill", detail=f"filling the context to {llm.n_ctx()} tokens"))
        emit(fill_and_ask(llm, request.fill))


def run(request: SmokeRequest) -> None:
    llm = load(request)
    if request.trial or request.fill is not None:
        run_trial(llm, request)
    elif request.prompt is not None:
        text, count, seconds = chat(llm, request.prompt, request.max_prompt_tokens, stream=True)
        emit(AnswerEvent(text=text, tokens=count, seconds=seconds))
    else:
        measure_generation(llm, request)
        for probe in request.probes:
            emit(StageEvent(stage="probe", detail=probe.id))
            text, count, seconds = chat(llm, probe.prompt, probe.max_tokens, stream=False)
            passed, why = judge(probe, text)
            emit(
                ProbeEvent(
                    id=probe.id,
                    task=probe.task,
                    prompt=probe.prompt,
                    answer=text,
                    passed=passed,
                    why=why,
                    tokens=count,
                    seconds=seconds,
                )
            )
    emit(ResultEvent(peak_rss_bytes=peak_rss_bytes()))
    if request.interactive:
        serve_prompts(llm)


def serve_prompts(llm: Any) -> None:
    """Keep the model loaded and answer each prompt line until stdin closes."""
    for line in sys.stdin:
        try:
            asked = PromptLine.model_validate_json(line)
        except ValueError as error:
            emit(ErrorEvent(stage="prompt", message=f"bad prompt line: {error}"))
            continue
        text, count, seconds = chat(llm, asked.prompt, asked.max_tokens, stream=True)
        emit(AnswerEvent(text=text, tokens=count, seconds=seconds))


def die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when the app that started it dies, so a
    crashed or killed app never leaves a model loaded in an orphan."""
    expected = os.environ.get(PARENT_PID_VARIABLE)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if expected and os.getppid() != int(expected):  # the parent died before prctl took hold
        os._exit(1)


def main() -> int:
    die_with_parent()
    line = sys.stdin.readline()
    try:
        request = SmokeRequest.model_validate_json(line)
    except ValueError as error:
        emit(ErrorEvent(stage="request", message=f"bad request: {error}"))
        return 2
    try:
        run(request)
    except Exception as error:  # report any failure of llama.cpp as an event, then exit 1
        emit(ErrorEvent(stage="run", message=f"{type(error).__name__}: {error}"))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
