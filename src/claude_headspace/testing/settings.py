"""Names and choices of the test machinery's settings (stdlib only: cheap to import).

The pytest plugin reads these in the xdist controller, which never touches a database,
so this module must not pull in SQLAlchemy or Flask.
"""

TEST_DATABASE_URL = "TEST_DATABASE_URL"
SERVER_SETTING = "TEST_DATABASE_SERVER"
SERVER_MODES = ("auto", "configured", "private")
CLEANUP_SETTING = "TEST_DATABASE_CLEANUP"
CLEANUP_STRATEGIES = ("delete", "truncate")
DEFAULT_CLEANUP_STRATEGY = "delete"
LOCK_WAIT_SETTING = "TEST_DATABASE_LOCK_WAIT"
BINDIR_SETTING = "TEST_DATABASE_PG_BINDIR"
