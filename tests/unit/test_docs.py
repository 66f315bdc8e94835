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
