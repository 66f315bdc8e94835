"""The parity baseline file: written, read back, judged; bad files refused clearly."""

import pytest

from pytest_flask_pgdb.parity.baseline import NEW_REASON, Baseline, BaselineInUse, record
from pytest_flask_pgdb.parity.snapshot import Difference
from pytest_flask_pgdb.settings import SettingsError

AWKWARD = [
    "column public.t.a: default — migrations: 'x'::text, models: (none)",
    'index public.i: definition\n    migrations: CREATE INDEX i ON public.t USING btree ("a\\b")'
    '\n    models:     CREATE INDEX """i""" ON public.t',
    "table public.ünïcode only in models\n\tcolumn with a tab",
    "constraint public.t.c: definition CHECK (a <> '''' AND b = '\"') ends in \"",
]


def test_what_is_written_reads_back_exactly_whatever_its_characters(tmp_path):
    path = tmp_path / "parity-baseline.toml"
    record(path, "schema", AWKWARD)
    baseline = Baseline.load(path)
    assert [e.difference for e in baseline.entries] == sorted(AWKWARD)
    assert {e.reason for e in baseline.entries} == {NEW_REASON}
    assert baseline.judge("schema", AWKWARD).new == []


def test_writing_again_keeps_given_reasons_and_other_checks_and_drops_what_is_gone(tmp_path):
    path = tmp_path / "parity-baseline.toml"
    record(path, "schema", AWKWARD[:2])
    record(path, "stairway", ["0004: the step failed"])
    blocks = path.read_text().split("[[accepted]]")
    path.write_text(  # the reviewer gives the index's entry a reason
        "[[accepted]]".join(
            b.replace(NEW_REASON, "ticket 12") if "index public.i" in b else b for b in blocks
        )
    )
    record(path, "schema", AWKWARD[1:3])  # AWKWARD[0] is fixed, AWKWARD[2] is new
    entries = {(e.check, e.difference): e.reason for e in Baseline.load(path).entries}
    assert entries == {
        ("schema", AWKWARD[1]): "ticket 12",
        ("schema", AWKWARD[2]): NEW_REASON,
        ("stairway", "0004: the step failed"): NEW_REASON,
    }
    record(path, "schema", [])
    record(path, "stairway", [])
    assert not path.exists()  # nothing accepted: no file


def test_new_and_stale_fail_accepted_pass(tmp_path):
    path = tmp_path / "parity-baseline.toml"
    record(path, "schema", ["a", "b"])
    in_use = BaselineInUse(Baseline.load(path), writing=False)
    assert in_use.failure("schema", "differ", [Difference("a", "behaviour")]) == (
        f"accepted in {path} but no longer found (remove them, or write the baseline again "
        "with --pgdb-write-parity-baseline: it only shrinks):\n- schema: b"
    )
    failure = in_use.failure("schema", "differ", ["a", "b", "c"])
    assert failure == "differ (2 more accepted in parity-baseline.toml):\n- c"
    assert in_use.failure("schema", "differ", ["b", "a"]) is None
    assert in_use.failure("stairway", "no", []) is None


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("[[accepted]]\ncheck = 'schema'\ndifference = 'x'\n", "has no reason"),
        ("[[accepted]]\ncheck = 'schema'\ndifference = 'x'\nreason = '  '\n", "has no reason"),
        ("[[accepted]]\ncheck = 'tables'\ndifference = 'x'\nreason = 'r'\n", "needs check"),
        ("[[accepted]]\ncheck = 'schema'\nreason = 'r'\n", "needs check"),
        ("accepted = [1]\n", "needs check"),
        ("[[accepted]\n", "cannot be read"),
        (b"\xff\xfe", "cannot be read"),
    ],
)
def test_a_bad_file_is_refused_naming_it_and_what_to_do(tmp_path, content, says):
    path = tmp_path / "parity-baseline.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(SettingsError, match=says) as raised:
        Baseline.load(path)
    assert str(path) in str(raised.value)
    if "accepted" in str(content) and says != "cannot be read":
        assert "entry 1 " in str(raised.value)  # counted as a reader counts: from one


def test_the_entry_at_fault_is_named_by_its_place(tmp_path):
    path = tmp_path / "parity-baseline.toml"
    good = "[[accepted]]\ncheck = 'schema'\ndifference = 'x'\nreason = 'r'\n"
    path.write_text(good + good.replace("reason = 'r'", "reason = ''"))
    with pytest.raises(SettingsError, match=r"entry 2 \(schema\) has no reason"):
        Baseline.load(path)


def test_no_file_is_an_empty_baseline(tmp_path):
    assert Baseline.load(tmp_path / "absent.toml").entries == ()


def test_a_baseline_that_cannot_be_written_says_so_in_one_line(tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    in_use = BaselineInUse(Baseline(blocked / "parity-baseline.toml", ()), writing=True)
    failure = in_use.failure("schema", "differ", ["a"])
    assert failure.startswith(f"cannot write the parity baseline {blocked}/parity-baseline.toml: ")
    assert "\n" not in failure


def test_each_check_has_its_own_entries(tmp_path):
    """The same words found by two checks are two entries: a reason, a stale entry and
    a rewrite of one check never reach the other's."""
    path = tmp_path / "parity-baseline.toml"
    record(path, "stairway", ["same words"])
    path.write_text(path.read_text().replace(NEW_REASON, "the stairway's reason"))
    record(path, "schema", ["same words"])
    reasons = {(e.check, e.reason) for e in Baseline.load(path).entries}
    assert reasons == {("stairway", "the stairway's reason"), ("schema", NEW_REASON)}
    in_use = BaselineInUse(Baseline.load(path), writing=False)
    assert in_use.failure("autogenerate", "differ", []) is None  # no entry of its own
    assert in_use.failure("column order", "differ", []) is None
    # ... and accepts nothing for another check
    assert in_use.failure("autogenerate", "differ", ["same words"]) == "differ:\n- same words"
    assert in_use.failure("column order", "differ", ["same words"]) == "differ:\n- same words"


def test_writing_nothing_where_there_is_no_file_leaves_none(tmp_path):
    path = tmp_path / "parity-baseline.toml"
    assert record(path, "schema", []) == 0
    assert not path.exists()


def test_a_reason_with_control_characters_survives_a_rewrite(tmp_path):
    path = tmp_path / "parity-baseline.toml"
    record(path, "schema", ["a"])
    path.write_text(path.read_text().replace(NEW_REASON, "ticket\\t12\\u0007"))
    record(path, "schema", ["a", "b"])  # written again: the reason kept, still valid TOML
    assert {e.reason for e in Baseline.load(path).entries} == {"ticket\t12\x07", NEW_REASON}


def test_no_check_borrows_anothers_entries_whichever_sorts_first(tmp_path):
    path = tmp_path / "parity-baseline.toml"
    record(path, "autogenerate", ["words"])
    path.write_text(path.read_text().replace(NEW_REASON, "autogenerate's reason"))
    record(path, "schema", ["words"])
    reasons = {(e.check, e.reason) for e in Baseline.load(path).entries}
    assert reasons == {("autogenerate", "autogenerate's reason"), ("schema", NEW_REASON)}
    only_autogenerate = BaselineInUse(Baseline.load(path), writing=False)
    path.unlink()
    record(path, "autogenerate", ["words"])
    in_use = BaselineInUse(Baseline.load(path), writing=False)
    assert in_use.failure("schema", "differ", ["words"]) == "differ:\n- words"
    assert in_use.failure("stairway", "differ", ["words"]) == "differ:\n- words"
    assert only_autogenerate.failure("schema", "differ", ["words"]) is None


def test_every_control_character_in_a_reason_survives(tmp_path):
    path = tmp_path / "parity-baseline.toml"
    record(path, "schema", ["a"])
    odd = "".join(chr(c) for c in range(1, 32)) + "\x7f"
    escaped = "".join(f"\\u{ord(c):04x}" for c in odd)
    path.write_text(path.read_text().replace(NEW_REASON, escaped))
    record(path, "schema", ["a", "b"])
    assert {e.reason for e in Baseline.load(path).entries} == {odd, NEW_REASON}


def test_every_control_character_in_a_difference_survives(tmp_path):
    path = tmp_path / "parity-baseline.toml"
    odd = "line one\n" + "".join(chr(c) for c in range(1, 32)) + '\x7f"""end"'
    record(path, "schema", [odd])
    assert [e.difference for e in Baseline.load(path).entries] == [odd]
