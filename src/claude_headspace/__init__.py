"""Claude Headspace: tracks Claude Code sessions."""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "create_app"]

if TYPE_CHECKING:
    from .app import create_app


def __getattr__(name: str) -> Any:
    # Imported on first use: importing the package (e.g. for the pytest plugin in the
    # xdist controller) must not pay for Flask and SQLAlchemy.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
