"""The docs' worked example is the file the integration suite runs, word for word."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_testing_guide_example_is_the_file_that_runs():
    guide = (ROOT / "docs" / "testing.md").read_text()
    match = re.search(
        r"<!-- example: (?P<path>\S+) -->\n```python\n(?P<code>.*?)```", guide, re.DOTALL
    )
    assert match, "docs/testing.md lost its worked example marker"
    assert (ROOT / match["path"]).read_text() == match["code"]


def test_the_module_table_lists_exactly_the_modules_of_the_test_machinery():
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    section = architecture.split("## The test machinery", 1)[1]
    listed = set(re.findall(r"^\| `(\w+\.py)` \|", section, re.M))
    on_disk = {
        path.name
        for path in (ROOT / "src" / "claude_headspace" / "testing").glob("*.py")
        if path.name != "__init__.py"
    }
    assert listed == on_disk
