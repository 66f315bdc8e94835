"""Claude Headspace: tracks Claude Code sessions."""

__version__ = "0.1.0"

from .app import create_app  # after __version__: the routes import it

__all__ = ["__version__", "create_app"]
