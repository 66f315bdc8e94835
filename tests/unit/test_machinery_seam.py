"""The test machinery knows the app only through the fixtures of tests/conftest.py."""

import subprocess
import sys
from pathlib import Path

import claude_headspace.testing

MACHINERY = sorted(
    f"claude_headspace.testing.{path.stem}"
    for path in Path(claude_headspace.testing.__file__).parent.glob("*.py")
    if path.stem != "__init__"
)
APP = ("claude_headspace.models", "claude_headspace.app", "claude_headspace.database")


def test_importing_every_machinery_module_imports_nothing_of_the_app():
    """In a fresh interpreter: what the imports pull in, directly or through others."""
    code = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in MACHINERY)
        + f"print(sorted(m for m in sys.modules if m.startswith({APP!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert len(MACHINERY) > 15
