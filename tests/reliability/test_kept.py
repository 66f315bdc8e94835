"""A database kept for the next run is taken over only as it was left, and emptied."""

from tests.reliability.harness import caches_on

ONE_TEST = ("-k", "test_chain and 0")  # asserts the first project gets id 1


def test_a_kept_database_is_emptied_before_use_and_replaced_after_ddl(reliability):
    first = reliability.run_sample(*ONE_TEST)
    assert first.returncode == 0, first.output
    assert "claude_headspace_test" in caches_on(reliability.url())

    # Between runs someone writes to it: a sequence moved, a row written.
    reliability.execute(
        "claude_headspace_test",
        "SELECT setval('projects_id_seq', 41)",
        "INSERT INTO events (event_type, payload) VALUES ('sneaked', '{}')",
    )
    second = reliability.run_sample(*ONE_TEST)
    assert second.returncode == 0, second.output
    assert "(kept from the last run)" in second.output

    # Between runs someone changes its schema: it is not taken over.
    reliability.execute("claude_headspace_test", "ALTER TABLE projects ADD COLUMN sneaked text")
    third = reliability.run_sample(*ONE_TEST)
    assert third.returncode == 0, third.output
    assert "(cloned from the schema template)" in third.output
