"""Test database names and URLs: the pattern they follow and the one function that builds them.

A :class:`NamePattern` (ini ``pgdb_name_pattern``) has three placeholders: ``{base}``
(the base name: ini ``pgdb_base_name``, else the app's database name), ``{label}`` (an
extra database's purpose: ``migrations``, ``models``) and ``{worker}`` (the xdist
worker id, ``gw0`` …). An empty placeholder takes the underscore before it along, so
the default ``{base}_{label}_test_{worker}`` gives:

* ``shop_test`` (serial run), ``shop_test_gw0`` (worker gw0);
* ``shop_migrations_test`` (label), ``shop_migrations_test_gw1`` (both).

Apps that guard on a ``_test`` suffix themselves use ``{base}_{label}_{worker}_test``:
``shop_test``, ``shop_gw0_test``. Every name a pattern gives must still pass the guard's
name rule (``guard.is_test_database_name``); :meth:`NamePattern.parse` checks that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.engine import URL

from pytest_flask_pgdb.databases.guard import is_test_database_name, require_test_name
from pytest_flask_pgdb.errors import SettingsError, UnsafeDatabaseError

DEFAULT_NAME_PATTERN = "{base}_{label}_test_{worker}"
WORKER_ID = re.compile(r"^gw[0-9]+$")
_PLACEHOLDER = re.compile(r"(_?)\{(base|label|worker)\}")
_LITERAL = re.compile(r"^[a-z0-9_]*$")
_PART = {"base": "[a-z0-9_]+?", "label": "[a-z0-9_]+?", "worker": "gw[0-9]+"}


def worker_id(raw: str | None) -> str | None:
    """The pytest-xdist worker id (``gw0`` ...) or None (serial run, or not an id)."""
    worker = (raw or "").strip()
    return worker if WORKER_ID.match(worker) else None


@dataclass(frozen=True)
class NamePattern:
    """How test databases are named: see the module docstring."""

    pattern: str = DEFAULT_NAME_PATTERN

    @classmethod
    def parse(cls, raw: str, setting: str = "pgdb_name_pattern") -> NamePattern:
        """A checked pattern, or one :class:`SettingsError` naming the setting."""
        pattern = cls(raw.strip() or DEFAULT_NAME_PATTERN)
        found = [m.group(2) for m in _PLACEHOLDER.finditer(pattern.pattern)]
        literal = _PLACEHOLDER.sub("", pattern.pattern)
        if sorted(found) != ["base", "label", "worker"] or not _LITERAL.match(literal):
            raise SettingsError(
                f"{setting}={raw[:60]!r}: a name pattern holds {{base}}, {{label}} and "
                "{worker} once each, and otherwise lowercase letters, digits and underscores "
                f"(default {DEFAULT_NAME_PATTERN!r}; for a _test suffix "
                "'{base}_{label}_{worker}_test')."
            )
        samples = [pattern.render("app"), pattern.render("app", worker="gw0", label="x")]
        if not all(is_test_database_name(name) for name in samples):
            raise SettingsError(
                f"{setting}={raw[:60]!r} gives names like {samples[1]!r}, which are not test "
                "database names: they must end in _test (or _test_gw<N>), so that no name "
                "the tests create can be mistaken for an app's database."
            )
        return pattern

    def render(self, base: str, *, worker: str | None = None, label: str | None = None) -> str:
        values = {"base": base, "label": label or "", "worker": worker or ""}

        def fill(match: re.Match[str]) -> str:
            value = values[match.group(2)]
            return f"{match.group(1)}{value}" if value else ""

        return _PLACEHOLDER.sub(fill, self.pattern)

    def regex(self, base: str | None = None, *, serial: bool = False) -> re.Pattern[str]:
        """Names of this pattern (of ``base``, when given); ``serial``: no label, no worker."""
        parts = []
        position = 0
        for match in _PLACEHOLDER.finditer(self.pattern):
            parts.append(re.escape(self.pattern[position : match.start()]))
            name = match.group(2)
            value = (
                f"(?P<base>{re.escape(base) if base is not None else _PART['base']})"
                if name == "base"
                else _PART[name]
            )
            if name == "base":
                parts.append(re.escape(match.group(1)) + value)
            elif not serial:
                parts.append(f"(?:{re.escape(match.group(1))}{value})?")
            position = match.end()
        parts.append(re.escape(self.pattern[position:]))
        return re.compile("^" + "".join(parts) + "$")

    def base_of(self, name: str) -> str | None:
        """The base of a serial test database name (``shop_test`` -> ``shop``), else None."""
        match = self.regex(serial=True).match(name)
        return match.group("base") if match else None


def url_for_test_database(
    test_url: URL,
    *,
    pattern: NamePattern | None = None,
    worker: str | None = None,
    label: str | None = None,
    namespace: str = "",
) -> URL:
    """The URL of a test database, on the server of ``test_url`` (the serial run's).

    ``worker`` and ``label`` name a worker's and an extra database (see the module);
    ``namespace`` (``namespaces.py``) joins the base: ``shop_n2_test_gw0``.
    """
    names = pattern or NamePattern()
    base = names.base_of(test_url.database or "")
    if base is None:
        raise UnsafeDatabaseError(
            f"refusing to name test databases after {test_url.database!r}: it is not a "
            f"serial test database name of the pattern {names.pattern!r}."
        )
    name = names.render(f"{base}_{namespace}" if namespace else base, worker=worker, label=label)
    return test_url.set(database=require_test_name(name, "name"))
