"""Errors the test machinery raises: each message says what happened and what to do."""


class TestDatabaseError(RuntimeError):
    """The test database could not be provided (no server, in use, ...)."""

    __test__ = False  # not a test class, whatever pytest's name patterns say


class UnsafeDatabaseError(TestDatabaseError):
    """Refused: the database is not a test database."""


class DatabaseInUseError(TestDatabaseError):
    """Another live test run holds the database."""


class ServerUnavailableError(TestDatabaseError):
    """No PostgreSQL server answers and no private cluster could be started."""


class UnownedDatabaseError(UnsafeDatabaseError):
    """A database has a test name but no mark of ours: somebody's data, never touched."""


class ClaimLostError(TestDatabaseError):
    """The connection holding this run's claim on its database was ended."""


class SettingsError(ValueError):
    """A test setting has a value the plugin cannot use: ``message`` is one line, no secrets."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
