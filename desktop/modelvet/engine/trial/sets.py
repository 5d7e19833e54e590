"""Trial sets: prompts with checks, read from TOML or JSONL files; the bundled sets.

A set file (see README, "Trials"):

    name = "Coding"                       # optional; the file name otherwise
    description = "..."
    document = "..."                      # optional long text: `--fill` repeats it
    [[prompts]]
    id = "add"
    prompt = "Write a Python function add(a, b) ..."
    max_tokens = 128                      # optional, default 256
    check = { type = "python", function = "add" }

Check types: `contains` (`text`), `regex` (`pattern`), `json` (optional `schema`),
`python` (`function`), `language` (`language`, e.g. "fr"), `none` (a human judges; default).
A JSONL set has one prompt object per line; a line with a "set" key carries name, description
and document.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modelvet.engine.errors import ModelVetError
from modelvet.engine.resources import resources_dir
from modelvet.engine.trial.language import LANGUAGES
from modelvet.engine.trial.schema_subset import SchemaError, check_schema


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Contains(_Check):
    type: Literal["contains"]
    text: str = Field(min_length=1)
    case_sensitive: bool = False


class Regex(_Check):
    type: Literal["regex"]
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from None
        return pattern


class Json(_Check):
    type: Literal["json"]
    schema_: dict[str, Any] | None = Field(None, alias="schema")

    @field_validator("schema_")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None:
            try:
                check_schema(schema)
            except SchemaError as error:
                raise ValueError(f"not a JSON schema ModelVet can use: {error}") from None
        return schema


class Python(_Check):
    type: Literal["python"]
    function: str = Field(pattern=r"^[A-Za-z_]\w*$")


class Language(_Check):
    type: Literal["language"]
    language: str

    @field_validator("language")
    @classmethod
    def _known(cls, code: str) -> str:
        if code not in LANGUAGES:
            raise ValueError(f"unknown language {code!r}; one of {', '.join(sorted(LANGUAGES))}")
        return code


class NoCheck(_Check):
    type: Literal["none"] = "none"


Check = Annotated[
    Contains | Regex | Json | Python | Language | NoCheck, Field(discriminator="type")
]


class TrialItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    max_tokens: int = Field(256, ge=1, le=8192)
    check: Check = NoCheck()


class TrialSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    document: str | None = None
    prompts: list[TrialItem] = Field(min_length=1)
    source: str = ""  # the file it was read from

    @field_validator("prompts")
    @classmethod
    def _unique_ids(cls, prompts: list[TrialItem]) -> list[TrialItem]:
        seen: set[str] = set()
        for item in prompts:
            if item.id in seen:
                raise ValueError(f"prompt id {item.id!r} is used twice")
            seen.add(item.id)
        return prompts


def sets_dir() -> Path:
    return resources_dir() / "trials"


def bundled_sets() -> dict[str, Path]:
    """Bundled set name (the file's stem) → file."""
    folder = sets_dir()
    return {p.stem: p for p in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


def load_set(name_or_path: str | Path) -> TrialSet:
    """A bundled set by name, or a .toml / .jsonl file; ModelVetError names file, line, field."""
    bundled = bundled_sets()
    path = bundled.get(str(name_or_path)) or Path(name_or_path)
    if not path.is_file():
        raise ModelVetError(
            "no such trial set", str(name_or_path), f"a file, or one of: {', '.join(bundled)}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ModelVetError(f"cannot read the trial set: {error}", str(path)) from error
    if path.suffix.lower() == ".jsonl":
        return _from_jsonl(path, text)
    return _from_toml(path, text)


def _from_toml(path: Path, text: str) -> TrialSet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ModelVetError(f"not valid TOML: {error}", str(path)) from None
    data.setdefault("name", path.stem)
    try:
        return TrialSet.model_validate({**data, "source": str(path)})
    except ValidationError as error:
        raise _field_error(path, error, _toml_prompt_lines(text)) from None


def _toml_prompt_lines(text: str) -> list[int]:
    """Line numbers (1-based) of each [[prompts]] header, to point at the bad prompt."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[prompts]]"]


def _from_jsonl(path: Path, text: str) -> TrialSet:
    head: dict[str, Any] = {"name": path.stem}
    prompts: list[dict[str, Any]] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise ModelVetError(f"line {number}: not valid JSON: {error.msg}", str(path)) from None
        if not isinstance(value, dict):
            raise ModelVetError(f"line {number}: not a JSON object", str(path))
        if "set" in value and isinstance(value["set"], dict):
            head |= value["set"]
        else:
            prompts.append(value)
            lines.append(number)
    try:
        return TrialSet.model_validate({**head, "prompts": prompts, "source": str(path)})
    except ValidationError as error:
        raise _field_error(path, error, lines) from None


def _field_error(path: Path, error: ValidationError, prompt_lines: list[int]) -> ModelVetError:
    """The first problem as one line: where (line, prompt), which field, why."""
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    where = ""
    if len(loc) >= 2 and loc[0] == "prompts" and loc[1].isdigit():
        index = int(loc[1])
        if index < len(prompt_lines):
            where = f"line {prompt_lines[index]}, "
        where += f"prompt {index + 1}, "
        loc = loc[2:]
    # a discriminated union adds the check type to the path: keep only the field
    if len(loc) > 2 and loc[0] == "check":
        del loc[1]
    field = ".".join(loc) or "the set"
    message = first["msg"].removeprefix("Value error, ")
    return ModelVetError(f"{where}field {field}: {message}", str(path))
