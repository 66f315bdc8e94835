"""The environment variables that configure the app and the test machinery."""

from ..config import ENV_OVERRIDES
from .settings import TEST_DATABASE_URL

# Everything a developer may have exported that changes which database is used.
CONFIG_ENVIRONMENT: tuple[str, ...] = (
    "DATABASE_URL",
    *ENV_OVERRIDES,
    TEST_DATABASE_URL,
)
