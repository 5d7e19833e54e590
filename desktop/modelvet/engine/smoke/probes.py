"""A small fixed battery of prompts, each checked automatically: is the model usable?"""

from __future__ import annotations

import ast
import json
import re

from modelvet.engine.smoke.protocol import ProbeSpec

SUMMARY_PARAGRAPH = (
    "The city council voted on Tuesday to extend the opening hours of the central library. "
    "From next month the library will stay open until nine in the evening on weekdays, so that "
    "students and working people can use the reading rooms after school and work. The council "
    "said the change will be paid for by savings in the energy budget."
)
_SUMMARY_KEYWORDS = ("library", "hours", "open", "evening", "council")

# One prompt per language: a question whose answer is one word that the check looks for.
LANGUAGE_PROBES: dict[str, tuple[str, str]] = {
    "en": ("What is the capital of France? Answer with one word.", "Paris"),
    "fr": ("Quelle est la capitale de l'Italie ? Réponds en un mot.", "Rome"),
    "de": ("Was ist die Hauptstadt von Spanien? Antworte mit einem Wort.", "Madrid"),
    "es": ("¿Cuál es la capital de Alemania? Responde con una palabra.", "Berl"),
    "it": ("Qual è la capitale del Giappone? Rispondi con una parola.", "Tokyo"),
    "pt": ("Qual é a capital do Reino Unido? Responda com uma palavra.", "Londres"),
    "nl": ("Wat is de hoofdstad van Frankrijk? Antwoord met één woord.", "Parijs"),
    "zh": ("法国的首都是哪里？请用一个词回答。", "巴黎"),
    "ja": ("フランスの首都はどこですか？一言で答えてください。", "パリ"),
    "ko": ("프랑스의 수도는 어디입니까? 한 단어로 대답하세요.", "파리"),
    "ar": ("ما هي عاصمة فرنسا؟ أجب بكلمة واحدة.", "باريس"),
    "ru": ("Какая столица Франции? Ответь одним словом.", "Париж"),
}


def battery(tasks: list[str], languages: list[str]) -> list[ProbeSpec]:
    """The fixed probes, plus one prompt per requested language."""
    probes = [
        ProbeSpec(
            id="arithmetic",
            task="math",
            check="contains",
            expected="42",
            prompt="What is 17 + 25? Answer with the number only.",
            max_tokens=16,
        ),
        ProbeSpec(
            id="json",
            task="general",
            check="json",
            prompt='Reply with only a JSON object with the keys "name" and "age" for a '
            "person called Alice who is 30 years old.",
            max_tokens=64,
        ),
        ProbeSpec(
            id="code",
            task="coding",
            check="python",
            prompt="Write a Python function add(a, b) that returns a + b. Reply with the "
            "code only.",
            max_tokens=96,
        ),
        ProbeSpec(
            id="summary",
            task="rag",
            check="summary",
            prompt=f"Summarise this paragraph in one sentence:\n\n{SUMMARY_PARAGRAPH}",
            max_tokens=96,
        ),
    ]
    for language in dict.fromkeys(languages):
        if language in LANGUAGE_PROBES:
            prompt, answer = LANGUAGE_PROBES[language]
            probes.append(
                ProbeSpec(
                    id=f"language-{language}",
                    task="multilingual",
                    check="contains",
                    expected=answer,
                    prompt=prompt,
                    max_tokens=24,
                )
            )
    return probes


def _extract_json(text: str) -> str:
    match = re.search(r"\{.*\}", text, re.DOTALL)
    return match.group(0) if match else text


def _extract_code(text: str) -> str:
    fenced = re.search(r"```(?:python)?\s*\n(.*?)```", text, re.DOTALL)
    return fenced.group(1) if fenced else text


def judge(probe: ProbeSpec, answer: str) -> tuple[bool, str]:
    """(passed, why) for one probe's answer."""
    if probe.check == "contains":
        ok = (probe.expected or "").lower() in answer.lower()
        return ok, f"answer {'contains' if ok else 'lacks'} {probe.expected!r}"
    if probe.check == "json":
        try:
            value = json.loads(_extract_json(answer))
        except json.JSONDecodeError as error:
            return False, f"not valid JSON: {error.msg}"
        ok = isinstance(value, dict) and {"name", "age"} <= set(value)
        return ok, "parses, with name and age" if ok else "parses, but lacks name or age"
    if probe.check == "python":
        code = _extract_code(answer)
        try:
            tree = ast.parse(code)
        except SyntaxError as error:
            return False, f"not valid Python: {error.msg} (line {error.lineno})"
        ok = any(
            isinstance(node, ast.FunctionDef) and node.name == "add" for node in ast.walk(tree)
        )
        return ok, "parses, defines add()" if ok else "parses, but defines no add()"
    words = answer.split()
    hits = [k for k in _SUMMARY_KEYWORDS if k in answer.lower()]
    ok = 0 < len(words) < len(SUMMARY_PARAGRAPH.split()) and len(hits) >= 2
    return ok, f"{len(words)} words, mentions {', '.join(hits) or 'none'} of the key facts"
