"""Which language an answer is in, offline: writing system first, then common function words.

Covers the languages the smoke test's probes know (probes.LANGUAGE_PROBES). Short answers
are often ambiguous; the check says so instead of guessing.
"""

from __future__ import annotations

import re

from modelvet.engine.smoke.probes import LANGUAGE_PROBES

# Function words that are frequent in one language and rare in the others.
_FUNCTION_WORDS = {
    "en": "the and is are of to in that it with for this was you not be have",
    "fr": "le la les et est des une un du que qui pour dans pas sur avec au ce sont vous nous",
    "de": "der die das und ist nicht ein eine zu mit den von sich auch auf für dem sind wir ich",
    "es": "el la los las y es de que en un una por con para no del se su al está son",
    "it": "il lo la gli le e è di che un una per con non del della sono nel",
    "pt": "o a os as e é de que um uma para com não do da em no na são",
    "nl": "de het een en is van dat niet op te met zijn voor er ook",
}
_WORDS = {code: frozenset(words.split()) for code, words in _FUNCTION_WORDS.items()}
# Scripts that name a language on their own (kana and hangul before Han).
_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("ja", r"[\u3040-\u30ff]"),
    ("ko", r"[\uac00-\ud7af]"),
    ("zh", r"[\u4e00-\u9fff]"),
    ("ar", r"[\u0600-\u06ff]"),
    ("ru", r"[\u0400-\u04ff]"),
)
LANGUAGES = frozenset(LANGUAGE_PROBES)


def detect(text: str) -> tuple[str | None, str]:
    """(language code or None, why): the script that dominates, else the most function words."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None, "no words to judge"
    for code, pattern in _SCRIPTS:
        share = len(re.findall(pattern, text)) / len(letters)
        if share > 0.3:
            return code, f"{share:.0%} of the letters are in its script"
    words = re.findall(r"[^\W\d_]+", text.lower())
    hits = {code: sum(w in vocabulary for w in words) for code, vocabulary in _WORDS.items()}
    best = max(hits, key=lambda code: hits[code])
    ranked = sorted(hits.values(), reverse=True)
    if ranked[0] < 2 or ranked[0] == ranked[1]:
        return None, f"too few telling words in {len(words)} word(s)"
    return best, f"{ranked[0]} of {len(words)} words are common {best} words"
