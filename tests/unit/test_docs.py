"""The docs' worked example is the file the integration suite runs, word for word."""

import re
from pathlib import Path

from pytest_flask_pgdb.reset import cleanup

ROOT = Path(__file__).resolve().parents[2]


def test_testing_guide_example_is_the_file_that_runs():
    guide = (ROOT / "docs" / "testing.md").read_text()
    match = re.search(
        r"<!-- example: (?P<path>\S+) -->\n```python\n(?P<code>.*?)```", guide, re.DOTALL
    )
    assert match, "docs/testing.md lost its worked example marker"
    assert (ROOT / match["path"]).read_text() == match["code"]


def test_the_module_table_lists_exactly_the_modules_of_the_plugin():
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    section = architecture.split("## The test machinery", 1)[1]
    listed = set(re.findall(r"^\| `([\w/]+\.py)` \|", section, re.M))
    package = ROOT / "packages" / "pytest-flask-pgdb" / "src" / "pytest_flask_pgdb"
    on_disk = {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if path.name != "__init__.py"
    }
    assert listed == on_disk


def test_the_adoption_examples_glue_is_at_most_40_lines_as_the_guide_counts():
    conftest = (ROOT / "examples" / "ledger" / "tests" / "conftest.py").read_text()
    block = conftest.split("# -- pytest-flask-pgdb glue")[1].split("# -- end of the glue")[0]
    glue = block.splitlines()[1:]  # the lines after the marker's own line
    assert 10 < len(glue) <= 40
    assert f"**{len(glue)} lines**" in (ROOT / "docs" / "adopting.md").read_text()


def test_the_vacuum_interval_the_guide_gives_is_the_shipped_one():
    guide = (ROOT / "docs" / "testing.md").read_text()
    said = re.search(r"the cleaner vacuums the tables\s+every (\d+) tests", guide)
    assert said is not None
    assert int(said.group(1)) == cleanup.VACUUM_EVERY
