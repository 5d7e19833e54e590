"""Plain-text rendering of engine results for the terminal (the --json output is the contract)."""

from __future__ import annotations

from typing import Any

from modelvet.engine.fit.estimate import Estimate
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.inspect import InspectReport
from modelvet.engine.rank.result import Recommendation
from modelvet.engine.smoke.result import SmokeResult
from modelvet.engine.vocabulary import format_bytes, placement_label, placement_phrase


def _memory(memory: Any) -> str:
    """An inspect report's or an estimate's memory, part by part."""
    return (
        f"weights {format_bytes(memory.weights_bytes)}, KV cache "
        f"{format_bytes(memory.kv_cache_bytes)}, compute {format_bytes(memory.compute_bytes)}, "
        f"total {format_bytes(memory.total_bytes)}"
    )


def print_hardware(spec: HardwareSpec) -> None:
    print(f"{spec.name}  [{spec.origin}]")
    print(
        f"  CPU      {spec.cpu_model or '?'}, {spec.cpu_cores or '?'} cores, "
        f"{' '.join(spec.isa_flags) or 'no ISA flags read'}"
    )
    bandwidth = f", {spec.ram_bandwidth_gbs:g} GB/s" if spec.ram_bandwidth_gbs else ""
    print(
        f"  RAM      {spec.ram_gb:.1f} GB{bandwidth}"
        + (f", {spec.ram_available_gb:.1f} GB available" if spec.ram_available_gb else "")
    )
    for gpu in spec.gpus or []:
        print(
            f"  GPU      {gpu.name}, {gpu.memory_gb:.1f} GB"
            + (f", {gpu.bandwidth_gbs:g} GB/s" if gpu.bandwidth_gbs else "")
        )
    if not spec.gpus:
        print("  GPU      none found")
    if spec.disk_free_gb is not None:
        print(f"  Disk     {spec.disk_free_gb:.0f} GB free")
    for warning in spec.warnings:
        print(f"  note: {warning}")


def print_recommendation(result: Recommendation) -> None:
    print(f"Catalog {result.catalog_version}; hardware: {result.hardware.name}; {result.settings}")
    print(f"\nRecommended ({len(result.recommended)}):")
    for item in result.recommended:
        if item.placement == "hosted":
            where = f"hosted by {item.publisher}"
        else:
            speed = (
                f"{item.predicted_tokens_per_s:.0f} tok/s"
                if item.predicted_tokens_per_s
                else "speed unknown"
            )
            placed = placement_label(item.placement, item.gpu_share)
            where = f"{item.quant}, {placed}, {format_bytes(item.predicted_memory_bytes)}, {speed}"
        print(f"{item.rank:>3}. {item.name} — {where}, score {item.score:.1f}")
        for reason in item.reasons:
            print(f"       · {reason}")
        for duty in item.obligations:
            print(f"       duty ({duty.licence_name}): {duty.duty} <{duty.clause_url}>")
        for alternative in item.alternatives:
            where = placement_phrase(alternative.placement)
            print(f"       alternative {alternative.quant} {where}: {alternative.trade}")
        if item.run_command:
            print(f"       run: {item.run_command}")
    print(f"\nExcluded ({len(result.excluded)}):")
    for excluded in result.excluded:
        print(f"  {excluded.name} ({excluded.developer}, {excluded.developer_country})")
        for failure in excluded.reasons:
            mark = "?" if failure.status == "unknown" else "✗"
            status = " (not established)" if failure.status == "unknown" else ""
            url = failure.clause_url
            clause = f" <{url}>" if url and url not in failure.detail else ""
            print(f"       {mark} {failure.rule}{status}: {failure.detail}{clause}")
    print("\nAssumptions: " + "; ".join(result.assumptions))


def print_inspect(report: InspectReport) -> None:
    print(f"{report.path}")
    print(
        f"  {report.name or '(no name)'} — {report.architecture}, "
        f"{report.parameter_count / 1e9:.3f} B parameters, {report.file_type or '?'}"
    )
    print(
        f"  layers {report.layers}, heads {report.attention_heads}, KV heads {report.kv_heads}, "
        f"head size {report.head_dim}, vocabulary {report.vocab_size}, "
        f"trained context {report.context_length}"
    )
    print(f"  size {report.file_size_bytes} bytes, sha256 {report.sha256 or '(not computed)'}")
    memory = report.memory
    print(f"  memory at {report.settings}: {_memory(memory)}")
    match = report.catalog_match
    print(f"  catalog: {match.model_id or 'no match'} (matched by {match.matched_by})")
    for problem in match.problems:
        print(f"  ✗ {problem}")
    for finding in report.chat_template.findings:
        print(f"  chat template {finding.severity}: {finding.detail}")


def print_smoke(result: SmokeResult) -> None:
    print(f"\n{result.file}\n  {result.settings}")
    for check in result.checks:
        print(f"  ✓ {check}")
    print(f"  {'quantity':<40} {'predicted':>12} {'measured':>12} {'ratio':>7}")
    for row in result.comparisons:
        predicted = "-" if row.predicted is None else f"{row.predicted:.2f}"
        measured = "-" if row.measured is None else f"{row.measured:.2f}"
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
        print(
            f"  {row.quantity + ' (' + row.unit + ')':<40} {predicted:>12} {measured:>12} "
            f"{ratio:>7}"
        )
    if result.bandwidth_bound_tokens_per_s:
        print(f"  memory-bandwidth bound: {result.bandwidth_bound_tokens_per_s:.1f} tokens/s")
    for probe in result.probes:
        mark = "✓" if probe.passed else "✗"
        answer = " ".join(probe.answer.split())[:100]
        print(f"  {mark} probe {probe.id}: {probe.why} — {answer!r}")
    print(f"\n{result.verdict}")


def print_estimate(result: Estimate) -> None:
    memory = result.memory
    print(f"{result.name} ({result.model_id}) {result.quant or ''} on {result.hardware}")
    print(f"  runtime: {result.runtime['description']}")
    estimated = " (size estimated)" if result.size_status == "estimated" else ""
    print(f"  memory: {_memory(memory)}{estimated}")
    print(f"  placement: {placement_label(result.placement, result.gpu_share)}")
    if result.predicted_tokens_per_s is not None and result.predicted_tokens_per_s_range:
        low, high = result.predicted_tokens_per_s_range
        print(
            f"  decode at depth {result.depth_tokens}: {result.predicted_tokens_per_s:.1f} "
            f"tokens/s ({low:.1f}–{high:.1f}), bound by {result.speed_bound}"
        )
    if result.predicted_prefill_tokens_per_s is not None:
        print(f"  prefill: {result.predicted_prefill_tokens_per_s:.0f} tokens/s")
    verdict = "admitted" if result.policy.admitted else "not admitted"
    print(f"  policy: {verdict}")
    for reason in result.policy.reasons:
        print(f"    ✗ {reason.rule}: {reason.detail}")
    print("  assumptions: " + "; ".join(result.assumptions))
