"""After each test: rows emptied the way TRUNCATE would, and what a test left beyond its rows."""
