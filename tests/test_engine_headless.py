"""The engine must run without a display: importing all of it loads no Qt module."""

import subprocess
import sys

ENGINE_MODULES = [
    "modelvet.engine.catalog",
    "modelvet.engine.catalog.frame",
    "modelvet.engine.catalog.listing",
    "modelvet.engine.catalog.integrity",
    "modelvet.engine.catalog.updates",
    "modelvet.engine.gguf_header",
    "modelvet.engine.template_sandbox",
    "modelvet.engine.fit.memory",
    "modelvet.engine.fit.placement",
    "modelvet.engine.fit.single",
    "modelvet.engine.hardware",
    "modelvet.engine.inspect",
    "modelvet.engine.policy",
    "modelvet.engine.profile",
    "modelvet.engine.rank.recommend",
    "modelvet.engine.smoke",
    "modelvet.engine.smoke.history",
    "modelvet.engine.report",
    "modelvet.cli",
]


def test_engine_imports_no_qt() -> None:
    code = (
        "import sys, importlib\n"
        f"for name in {ENGINE_MODULES!r}: importlib.import_module(name)\n"
        "from modelvet.engine.rank.recommend import recommend\n"
        "from modelvet.engine.profile import Profile\n"
        "recommend(Profile.model_validate({'hardware': {'ram_gb': 16}}))\n"
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6')))\n"
        "print(','.join(qt))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"engine loaded Qt modules: {done.stdout}"


def test_only_the_smoke_child_imports_llama_cpp() -> None:
    from pathlib import Path

    import modelvet

    root = Path(modelvet.__file__).parent
    importers = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if any(
            line.strip().startswith(("import llama_cpp", "from llama_cpp"))
            for line in p.read_text().splitlines()
        )
    )
    assert importers == ["engine/smoke/child.py"]
