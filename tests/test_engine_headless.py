"""The engine must run without a display: importing all of it loads no Qt module."""

import subprocess
import sys


def test_engine_imports_no_qt() -> None:
    """Every engine module (found by walking the package, not listed by hand) and the CLI."""
    code = (
        "import sys, importlib, pkgutil\n"
        "import modelvet.engine\n"
        "for module in pkgutil.walk_packages(modelvet.engine.__path__, 'modelvet.engine.'):\n"
        "    importlib.import_module(module.name)\n"
        "importlib.import_module('modelvet.cli')\n"
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


def test_every_engine_module_imports_with_qt_absent() -> None:
    """Each module under modelvet.engine, found by walking the package (no hand-kept list),
    imports in a fresh interpreter in which Qt cannot be imported at all."""
    code = (
        "import importlib, importlib.abc, pkgutil, sys\n"
        "class NoQt(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'shiboken6'):\n"
        "            raise ImportError(f'Qt is absent: {name}')\n"
        "sys.meta_path.insert(0, NoQt())\n"
        "import modelvet.engine as engine\n"
        "names = [m.name for m in pkgutil.walk_packages(engine.__path__, 'modelvet.engine.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 50  # every module was walked, not an empty package
