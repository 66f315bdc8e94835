"""The reusable test-database machinery.

One package owns the test databases' whole life: their names, the guard that refuses
anything else, the server they live on, creation, cleanup between tests, and the
schema snapshots the parity checks compare. ``conftest.py`` files only wire fixtures
to it (see ``claude_headspace.testing.plugin``).
"""
