"""Storage cost of llama.cpp's quantisation types, and the quality each one gives up."""

from __future__ import annotations

# Bits per weight of ggml block types, from their block layouts (bytes per block × 8 / weights
# per block, ggml/src/ggml-common.h): Q8_0 34 B/32, Q4_0 18 B/32, Q4_1 20 B/32, Q5_0 22 B/32,
# Q5_1 24 B/32, MXFP4 17 B/32. The K-quant mixes (_S/_M/_L) keep some tensors at a higher type,
# so for them the figure is the whole-file average llama.cpp measured on Llama-3.1-8B
# (https://github.com/ggml-org/llama.cpp/blob/master/tools/quantize/README.md, "bits/weight").
# Used only to estimate a file size the catalog does not have; such sizes are marked estimated.
BITS_PER_WEIGHT: dict[str, float] = {
    "F32": 32.0,
    "F16": 16.0,
    "BF16": 16.0,
    "Q8_0": 8.5,
    "Q6_K": 6.5633,
    "Q5_K_M": 5.7036,
    "Q5_K_S": 5.5704,
    "Q5_1": 6.0,
    "Q5_0": 5.5,
    "Q4_K_M": 4.8944,
    "Q4_K_S": 4.6672,
    "Q4_1": 5.0,
    "Q4_0": 4.5,
    "IQ4_NL": 4.6818,
    "IQ4_XS": 4.4597,
    "MXFP4": 4.25,
    "Q3_K_L": 4.2979,
    "Q3_K_M": 3.996,
    "Q3_K_S": 3.6429,
    "IQ3_M": 3.7628,
    "IQ3_XXS": 3.2548,
    "Q2_K": 3.1593,
    "Q2_K_S": 2.9697,
    "IQ2_M": 2.9294,
    "IQ2_XXS": 2.3824,
    "IQ1_M": 2.146,
    "IQ1_S": 2.0042,
}
UNKNOWN_QUANT_BITS = 4.0
# Formats models are released in carry no quantisation loss (only gpt-oss ships MXFP4, as trained).
NATIVE_PRECISION = frozenset({"F32", "F16", "BF16", "MXFP4"})


# Bytes per cached element for the KV cache types llama.cpp offers (block layouts as above).
KV_BYTES_PER_ELEMENT: dict[str, float] = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}


def normalise_quant(name: str) -> str:
    """'q4_k_m', 'Q4_K_M' and 'UD-Q4_K_XL' style names to the table's spelling."""
    upper = name.upper().replace("-", "_")
    return upper.removeprefix("UD_")
