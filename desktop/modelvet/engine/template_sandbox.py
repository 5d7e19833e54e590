"""Renders a chat template once, in Jinja's immutable sandbox, in a throwaway child process.

The child has a time limit and a memory limit, and renders a three-message chat the way
llama-cpp-python does (same sandbox class, same extensions). What the template then does
beyond formatting a chat — reach for Python internals, loop over an unbounded range, import
another template, run forever, print without end — becomes a finding. The app itself never
renders a model's template.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

MIN_JINJA = (3, 1, 6)  # CVE-2024-56326 fixed in 3.1.5, CVE-2025-27516 (|attr) in 3.1.6
RENDER_TIMEOUT_S = 5.0
MEMORY_LIMIT_BYTES = 512 * 2**20
MAX_OUTPUT_CHARS = 256 * 1024
SAMPLE_CHAT = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 2 + 2?"},
    {"role": "assistant", "content": "4"},
    {"role": "user", "content": "Thank you."},
]


def jinja_version() -> tuple[int, ...]:
    import jinja2

    return tuple(int(part) for part in jinja2.__version__.split(".")[:3] if part.isdigit())


def jinja_is_safe() -> bool:
    return jinja_version() >= MIN_JINJA


def sandbox_command() -> list[str]:
    """How to start the sandbox child: `python -m …`, or the frozen app itself with a flag."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--template-sandbox"]
    return [sys.executable, "-m", "modelvet.engine.template_sandbox"]


def render_in_sandbox(template: str) -> dict[str, Any]:
    """{"outcome": ok | refused | range | import | syntax | error | timeout | memory | recursion,
    "detail": str, "chars": int}."""
    try:
        done = subprocess.run(
            sandbox_command(),
            input=json.dumps({"template": template}),
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return {"outcome": "timeout", "detail": f"still rendering after {RENDER_TIMEOUT_S:g} s"}
    try:
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return answer
    except (ValueError, IndexError):
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        outcome = "memory" if "MemoryError" in done.stderr else "error"
        return {"outcome": outcome, "detail": last[:200]}


def _render(template: str) -> dict[str, Any]:
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

    environment = ImmutableSandboxedEnvironment(
        loader=jinja2.BaseLoader(),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[jinja2.ext.loopcontrols],
    )
    environment.filters["tojson"] = json.dumps
    try:
        text = environment.from_string(template).render(
            messages=SAMPLE_CHAT,
            add_generation_prompt=True,
            bos_token="<s>",
            eos_token="</s>",
            raise_exception=_raise,
        )
    except SecurityError as error:
        return {"outcome": "refused", "detail": str(error)[:200]}
    except OverflowError as error:
        return {"outcome": "range", "detail": str(error)[:200]}
    except jinja2.TemplateNotFound as error:
        return {"outcome": "import", "detail": f"template {error.name!r}"}
    except jinja2.TemplateSyntaxError as error:
        return {"outcome": "syntax", "detail": f"line {error.lineno}: {error.message}"[:200]}
    except MemoryError:
        return {"outcome": "memory", "detail": "ran out of memory"}
    except RecursionError:
        return {"outcome": "recursion", "detail": "a macro calls itself without end"}
    except Exception as error:  # raise_exception(), a missing key: the template's own rules
        return {"outcome": "error", "detail": f"{type(error).__name__}: {error}"[:200]}
    return {"outcome": "ok", "detail": "", "chars": len(text)}


def _raise(message: str) -> None:
    raise ValueError(message)


def main() -> int:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    template = json.loads(sys.stdin.read())["template"]
    print(json.dumps(_render(template)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
