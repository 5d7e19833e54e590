"""Judges one answer against its prompt's check: passed, failed, or left to a human."""

from __future__ import annotations

import ast
import json
import re

from modelvet.engine.trial import language
from modelvet.engine.trial.schema_subset import violations
from modelvet.engine.trial.sets import Check, Contains, Json, Language, Python, Regex


def _extract_json(text: str) -> str:
    """The JSON in an answer: a fenced block, else from the first { or [ to the last } or ]."""
    fenced = re.search(r"```(?:json)?\s*\n(.*?)```", text, re.DOTALL)
    if fenced:
        return fenced.group(1)
    match = re.search(r"[\[{].*[\]}]", text, re.DOTALL)
    return match.group(0) if match else text


def _extract_code(text: str) -> str:
    fenced = re.search(r"```(?:python|py)?\s*\n(.*?)```", text, re.DOTALL)
    return fenced.group(1) if fenced else text


def judge(check: Check, answer: str) -> tuple[bool | None, str]:
    """(True / False, why) for an automatic check; (None, why) when a human must judge."""
    if isinstance(check, Contains):
        found = (
            check.text in answer if check.case_sensitive else check.text.lower() in answer.lower()
        )
        return found, f"answer {'contains' if found else 'lacks'} {check.text!r}"
    if isinstance(check, Regex):
        match = re.search(check.pattern, answer)
        return bool(match), (
            f"matches /{check.pattern}/" if match else f"does not match /{check.pattern}/"
        )
    if isinstance(check, Json):
        return _judge_json(check, answer)
    if isinstance(check, Python):
        return _judge_python(check, answer)
    if isinstance(check, Language):
        detected, why = language.detect(answer)
        said = detected or "of no clear language"
        return detected == check.language, f"answer is {said} ({why}); asked for {check.language}"
    return None, "no automatic check: a human judges"


def _judge_json(check: Json, answer: str) -> tuple[bool, str]:
    try:
        value = json.loads(_extract_json(answer))
    except json.JSONDecodeError as error:
        return False, f"not valid JSON: {error.msg} (line {error.lineno})"
    if check.schema_ is None:
        return True, "parses as JSON"
    problems = violations(value, check.schema_)
    if problems:
        return False, "parses, but " + "; ".join(problems[:3])
    return True, "parses and matches the schema"


def _judge_python(check: Python, answer: str) -> tuple[bool, str]:
    try:
        tree = ast.parse(_extract_code(answer))
    except SyntaxError as error:
        return False, f"not valid Python: {error.msg} (line {error.lineno})"
    defined = any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == check.function
        for node in ast.walk(tree)
    )
    return defined, (
        f"parses, defines {check.function}()"
        if defined
        else f"parses, but defines no {check.function}()"
    )
