"""Registers the test-database machinery; it stays idle unless a test asks for it."""

pytest_plugins = ("claude_headspace.testing.plugin",)
