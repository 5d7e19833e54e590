"""Proof of fit: the context filled to its size, a needle near the start, the question at the end,
and what that cost against the prediction."""

from __future__ import annotations

from modelvet.engine.fit.single import predict_one
from modelvet.engine.smoke.check import PreLoad
from modelvet.engine.smoke.protocol import FillEvent, FillSpec
from modelvet.engine.smoke.result import MIB, Measured
from modelvet.engine.trial.result import FitProof, rate
from modelvet.engine.trial.sets import TrialSet

# Filler with no facts a model could confuse with the needle.
FILLER = (
    "The river runs past the old mill and under the stone bridge. In the morning the fields are "
    "wet with dew, and by noon the farmers have gone home to eat. The road to the next village "
    "climbs the hill through a wood of beech and oak, and comes down again beside the lake. "
)
NEEDLE_CODE = "4817"
NEEDLE = f"Remember this: the access code for the archive room is {NEEDLE_CODE}."
QUESTION = "What is the access code for the archive room? Answer with the number only."
# Proven when prompt and answer took the context less at most this: the answer's room, the
# child's margin for the chat template, and the template itself.
FILL_SLACK_TOKENS = 160


def fill_spec(trial_set: TrialSet) -> FillSpec:
    """The set's own long document as the filler when it has one, else neutral text."""
    return FillSpec(filler=trial_set.document or FILLER, needle=NEEDLE, question=QUESTION)


def fit_proof(
    pre: PreLoad,
    measured: Measured,
    fill: FillEvent | None,
    error: str | None,
    requested_context_tokens: int,
) -> FitProof:
    """What the filled run proved; never more than the context that was asked for."""
    settings = pre.settings
    context = fill.n_ctx if fill else settings.context_tokens
    at_depth = predict_one(
        pre.facts.architecture_row(), settings, pre.hardware, depth_tokens=context
    )
    predicted_total = pre.predicted.get("total_bytes")
    peak = None
    if measured.peak_rss_bytes and measured.baseline_rss_bytes is not None:
        peak = measured.peak_rss_bytes - measured.baseline_rss_bytes
    kv_mib = measured.buffers_mib.get("kv")
    filled = fill.prompt_tokens + fill.decode_tokens if fill else None
    answered = bool(fill and fill.answer.strip())
    found = NEEDLE_CODE in fill.answer if fill else None
    fits = (
        answered
        and filled is not None
        and filled >= context - FILL_SLACK_TOKENS
        and context >= requested_context_tokens
    )
    buffers = sum(measured.buffers_mib.get(k, 0.0) for k in ("model", "kv", "compute", "output"))
    proof = FitProof(
        requested_context_tokens=requested_context_tokens,
        context_tokens=context,
        filled_tokens=filled,
        loaded=measured.load_seconds is not None,
        answered=answered,
        fits=fits,
        predicted_total_bytes=predicted_total,
        measured_peak_bytes=peak,
        memory_ratio=peak / predicted_total if peak and predicted_total else None,
        measured_buffers_bytes=int(buffers * MIB) if buffers else None,
        predicted_kv_cache_bytes=pre.predicted.get("kv_cache_bytes"),
        measured_kv_cache_bytes=int(kv_mib * MIB) if kv_mib is not None else None,
        prompt_tokens_per_s=rate(fill.prompt_tokens, fill.prompt_seconds) if fill else None,
        decode_tokens_per_s_at_depth=(
            rate(fill.decode_tokens, fill.decode_seconds) if fill else None
        ),
        predicted_decode_tokens_per_s_at_depth=at_depth.get("predicted_tokens_per_s"),
        time_to_first_token_s=fill.time_to_first_token_s if fill else None,
        needle_found=found,
        needle_answer=fill.answer if fill else "",
        verdict="",
    )
    return proof.model_copy(update={"verdict": _verdict(proof, error)})


def _verdict(proof: FitProof, error: str | None) -> str:
    if not proof.loaded:
        return f"does not fit: the model did not load at {proof.context_tokens} tokens ({error})"
    if proof.answered and proof.context_tokens < proof.requested_context_tokens:
        return (
            f"not proven at {proof.requested_context_tokens} tokens: the model's trained "
            f"context is {proof.context_tokens}, and the fill stopped there "
            f"({proof.filled_tokens} tokens)"
        )
    if not proof.fits:
        why = error or "no answer at that depth"
        return f"not proven: loaded, but {why} with the context filled"
    memory = ""
    if proof.predicted_total_bytes and proof.measured_buffers_bytes:
        memory = (
            f"; predicted {proof.predicted_total_bytes / MIB:,.0f} MiB, llama.cpp "
            f"allocated {proof.measured_buffers_bytes / MIB:,.0f} MiB"
        )
    if proof.measured_peak_bytes:
        memory += f", the process grew by {proof.measured_peak_bytes / MIB:,.0f} MiB at its peak"
    needle = "found the needle" if proof.needle_found else "did NOT find the needle"
    return (
        f"fits: loaded and answered with {proof.filled_tokens} of {proof.context_tokens} "
        f"tokens in the context{memory}; {needle}"
    )
