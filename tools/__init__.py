"""Helpers of the noxfile that are plain Python (unit-tested without nox)."""
