"""The mutation run's report, read from Cosmic Ray's sessions (needs Cosmic Ray: run by
``nox -s mutation``; the rest of run.py is tested in tests/unit/test_mutation_tool.py)."""

import pytest

from mutation import run


def test_a_report_reads_the_sessions_of_an_unfinished_run(tmp_path, capsys):
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import MutationSpec, TestOutcome, WorkerOutcome, WorkItem, WorkResult

    (tmp_path / "config").mkdir()
    with use_db(str(tmp_path / "config" / "session.sqlite"), mode=WorkDB.Mode.create) as db:
        for job, outcome in (("a", TestOutcome.KILLED), ("b", TestOutcome.SURVIVED), ("c", None)):
            spec = MutationSpec("m.py", "core/AddNot", 0, (3, 0), (3, 5))
            db.add_work_item(WorkItem(job_id=job, mutations=[spec]))
            if outcome is not None:  # "c" never ran: the run was stopped
                result = WorkResult(WorkerOutcome.NORMAL, test_outcome=outcome, diff="+ x")
                db.set_result(job, result)
    assert run.main(["--work", str(tmp_path), "--report", "config", "guard"]) == 1
    out = capsys.readouterr().out
    assert "SURVIVED m.py:3 core/AddNot" in out
    assert "mutation_score=0.500 killed=1 survived=1 equivalent=0" in out
    assert out.rstrip().endswith(
        "not run yet: 1 mutants (the run was stopped; --survivors resumes it)"
    )
    with pytest.raises(SystemExit, match="no session with results"):
        run.main(["--work", str(tmp_path), "--report", "guard"])
