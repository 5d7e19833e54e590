"""What the parent asks the smoke-test child, and the JSON lines the child answers with."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from modelvet.engine.fit.settings import RunSettings

# The environment variable that tells the child which process started it (see child.py).
PARENT_PID_VARIABLE = "MODELVET_PARENT_PID"


class SmokeRequest(BaseModel):
    """Everything the child needs; sent as one JSON line on its stdin."""

    model_config = ConfigDict(extra="forbid")

    model_path: str
    context_tokens: int = 4096
    n_threads: int | None = None
    flash_attention: bool = False
    kv_cache_type: Literal["f16", "q8_0", "q4_0"] = "f16"
    gpu_layers: int = 0
    swa_full: bool = True
    n_batch: int = 512
    n_ubatch: int = 512
    parallel_slots: int = Field(1, ge=1, description="Sequences the cache is sized for")
    kv_unified: bool = False
    generate_tokens: int = 64
    probes: list[ProbeSpec] = []
    prompt: str | None = None
    max_prompt_tokens: int = 256
    chat_format: str | None = Field(
        None,
        description="Override the embedded chat template; 'builtin': the architecture's own",
    )
    architecture: str | None = None
    file_identity: list[int] | None = Field(
        None, description="file_identity() when the file was checked; the child loads only that"
    )
    interactive: bool = Field(False, description="After the run, answer prompt lines on stdin")
    trial: list[TrialPrompt] = Field([], description="A trial: these prompts, each measured")
    fill: FillSpec | None = Field(None, description="Fill the context, then ask about a needle")


def settings_fields(settings: RunSettings) -> dict[str, Any]:
    """The request fields that make llama.cpp run exactly the predicted configuration."""
    return {
        "context_tokens": settings.context_tokens,
        "kv_cache_type": settings.kv_cache_type,
        "flash_attention": settings.flash_attention,
        "swa_full": settings.swa_full,
        "n_batch": settings.batch,
        "n_ubatch": settings.ubatch,
        "parallel_slots": settings.parallel_slots,
        "kv_unified": settings.kv_unified,
        "n_threads": settings.threads,
        "gpu_layers": settings.gpu_layers,
    }


class ProbeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    task: str
    prompt: str
    check: Literal["contains", "json", "python", "summary"]
    expected: str | None = None
    max_tokens: int = 128


class TrialPrompt(BaseModel):
    """One prompt of a trial: answered greedily and timed by llama.cpp's own counters."""

    model_config = ConfigDict(extra="forbid")

    id: str
    prompt: str
    max_tokens: int = Field(256, ge=1)


class FillSpec(BaseModel):
    """Proof of fit: `filler` repeated to fill the context, `needle` placed near its start,
    `question` asked at its end; the answer gets `answer_tokens` of the context."""

    model_config = ConfigDict(extra="forbid")

    filler: str = Field(min_length=1)
    needle: str
    question: str
    answer_tokens: int = Field(32, ge=1)
    needle_at: float = Field(0.05, ge=0.0, le=1.0, description="where the needle goes, 0..1")


class PromptLine(BaseModel):
    """A further prompt for an interactive child (one JSON line on its stdin)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str
    max_tokens: int = 256


def file_identity(path: str) -> list[int]:
    """Device, inode, size and modification time: what changes when a file is replaced or
    rewritten between the checks and the load."""
    status = os.stat(path)
    return [status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns]


BUILTIN_CHAT_FORMAT = "builtin"
# A special token that marks a chat format, and llama-cpp-python's name for that format.
FORMAT_MARKERS = (
    ("<|im_start|>", "chatml"),
    ("<|start_header_id|>", "llama-3"),
    ("<start_of_turn>", "gemma"),
    ("[INST]", "mistral-instruct"),
)
ARCHITECTURE_FORMATS = {
    "gemma": "gemma",
    "gemma2": "gemma",
    "gemma3": "gemma",
    "chatglm": "chatglm3",
    "llama": "llama-2",
    "baichuan": "baichuan-2",
}


def builtin_chat_format(architecture: str | None, is_one_token: Callable[[str], bool]) -> str:
    """The format that stands in for a template that is not to be rendered: the one whose
    markers the vocabulary has as single tokens, else the architecture's, else ChatML."""
    for marker, name in FORMAT_MARKERS:
        if is_one_token(marker):
            return name
    return ARCHITECTURE_FORMATS.get(architecture or "", "chatml")


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageEvent(_Event):
    """The child moved on: baseline (with the process's size before the model), loading,
    measuring, probe, trial, fill."""

    event: Literal["stage"] = "stage"
    stage: str
    detail: str = ""
    baseline_rss_bytes: int | None = None


class BuffersEvent(_Event):
    """llama.cpp's own load log, read: buffer sizes in MiB and the settings it applied."""

    event: Literal["buffers"] = "buffers"
    mib: dict[str, float]
    applied: dict[str, str] = {}


class LoadedEvent(_Event):
    event: Literal["loaded"] = "loaded"
    seconds: float
    n_ctx: int
    n_threads: int
    peak_rss_bytes: int
    chat_format: str | None


class TimingEvent(_Event):
    """Prompt processing and greedy generation, timed around llama.cpp's eval."""

    event: Literal["timing"] = "timing"
    prompt_tokens: int
    prompt_seconds: float
    generated_tokens: int
    generation_seconds: float
    time_to_first_token_s: float
    peak_rss_bytes: int


class ProbeResult(BaseModel):
    """One probe, asked and judged (as the child says it, and as a result keeps it)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    task: str
    prompt: str
    answer: str
    passed: bool
    why: str
    tokens: int
    seconds: float


class ProbeEvent(ProbeResult):
    event: Literal["probe"] = "probe"


class TokenEvent(_Event):
    """A streamed piece of an answer, with the count and rate so far."""

    event: Literal["token"] = "token"
    text: str
    tokens: int
    tokens_per_s: float


class AnswerEvent(_Event):
    """A whole answer to a prompt (after its `token` events)."""

    event: Literal["answer"] = "answer"
    text: str
    tokens: int
    seconds: float


class ResultEvent(_Event):
    """The run is complete (an interactive child then waits for prompts)."""

    event: Literal["result"] = "result"
    peak_rss_bytes: int


class ErrorEvent(_Event):
    """What went wrong, and at which stage (request, run, prompt; start and protocol are the
    parent's own: the child could not be started, or said something unreadable)."""

    event: Literal["error"] = "error"
    stage: str | None = None
    message: str


class TimedAnswer(_Event):
    """One greedy chat turn timed by llama.cpp's own counters (prompt and decode)."""

    answer: str
    prompt_tokens: int
    prompt_seconds: float
    decode_tokens: int
    decode_seconds: float
    time_to_first_token_s: float
    seconds: float
    peak_rss_bytes: int


class TrialEvent(TimedAnswer):
    """A trial prompt's answer and timings."""

    event: Literal["trial"] = "trial"
    id: str


class FillEvent(TimedAnswer):
    """The answer to the question asked with the context filled to `n_ctx`."""

    event: Literal["fill"] = "fill"
    n_ctx: int


ChildEvent = Annotated[
    StageEvent
    | BuffersEvent
    | LoadedEvent
    | TimingEvent
    | ProbeEvent
    | TokenEvent
    | AnswerEvent
    | ResultEvent
    | ErrorEvent
    | TrialEvent
    | FillEvent,
    Field(discriminator="event"),
]
EVENT_TYPES: tuple[type[_Event], ...] = get_args(get_args(ChildEvent)[0])
_CHILD_EVENT: TypeAdapter[ChildEvent] = TypeAdapter(ChildEvent)


class Unreadable(BaseModel):
    """A line on the child's stdout that is not one of its events (text some library printed,
    or an event this parent does not know): kept as output, never taken for an event."""

    model_config = ConfigDict(frozen=True)

    line: str


def encode(event: ChildEvent) -> str:
    """One event as its JSON line: the fields it was given (a field left at its default and
    never set, such as a stage's baseline, is not written)."""
    fields = event.model_dump(mode="json", exclude_unset=True, exclude={"event"})
    return json.dumps({"event": event.event, **fields}, ensure_ascii=False)


def decode(line: str) -> ChildEvent | Unreadable:
    """A line of the child's as its typed event. One of our events with missing or wrong
    fields is an ErrorEvent (stage "protocol") saying so; anything else is Unreadable."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return Unreadable(line=line)
    if not isinstance(value, dict) or value.get("event") not in _EVENT_NAMES:
        return Unreadable(line=line)
    try:
        return _CHILD_EVENT.validate_python(value)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'][1:]) or 'event'}: {item['msg']}"
            for item in error.errors()
        )
        return ErrorEvent(
            stage="protocol",
            message=f"the model process sent an unreadable '{value['event']}' event: {problems}",
        )


_EVENT_NAMES = frozenset(model.model_fields["event"].default for model in EVENT_TYPES)


# llama.cpp's own report of what it allocated, as it prints when loading a model.
_BUFFER = re.compile(
    r"(?P<device>[\w.-]+)\s+(?P<kind>model|KV|compute|output|RS) buffer size\s*=\s*"
    r"(?P<mib>[\d.]+)\s*MiB"
)


def parse_buffers(log: str) -> dict[str, float]:
    """Sum of each buffer kind in MiB (model, KV, compute, output, RS) across devices."""
    sizes: dict[str, float] = {}
    for match in _BUFFER.finditer(log):
        kind = match["kind"].lower()
        sizes[kind] = sizes.get(kind, 0.0) + float(match["mib"])
    return sizes


SmokeRequest.model_rebuild()


# The context settings llama.cpp states it applied (llama_context: …) and the cache sizes.
_APPLIED = re.compile(
    r"llama_context:\s+(?P<key>n_seq_max|n_ctx|n_batch|n_ubatch|flash_attn|kv_unified)\s*=\s*"
    r"(?P<value>\S+)"
)
_SWA_CELLS = re.compile(r"creating\s+SWA KV cache, size = (?P<cells>\d+) cells")


def parse_applied(log: str) -> dict[str, str]:
    """What llama.cpp says it used: n_ctx, batches, slots, flash attention, SWA cache cells."""
    applied = {m["key"]: m["value"] for m in _APPLIED.finditer(log)}
    swa = _SWA_CELLS.search(log)
    if swa:
        applied["swa_cache_cells"] = swa["cells"]
    return applied
