"""The parity report: each difference in full, grouped by what it changes."""

from pytest_flask_pgdb.parity.compare import report as parity_report
from pytest_flask_pgdb.parity.snapshot import Difference


def test_the_report_groups_differences_by_the_name_of_their_group():
    """Groups are compared by name: a difference made elsewhere (from a string read or
    built, not the module's own literal) lands in its group, not nowhere."""
    built = "".join(["names", " ", "only"])
    report = parity_report("differ", [Difference("x renamed", built), Difference("y", "behaviour")])
    assert report.splitlines() == [
        "differ:",
        "behaviour — what the database accepts, stores or returns (1):",
        "- y",
        "names only — the same object, named differently (1):",
        "- x renamed",
    ]
