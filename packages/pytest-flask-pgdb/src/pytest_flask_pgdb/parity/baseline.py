"""The parity baseline: differences a project has reviewed and accepts, each with a reason.

An existing project turns schema parity on with the differences it has today written
down (``pytest --pgdb-write-parity-baseline``), then fixes them at its own pace: a
check fails on any difference not in the file, and on any entry of the file it no
longer finds, so the file only shrinks (as mypy's and ruff's baselines do). A TOML
file, one ``[[accepted]]`` table per difference, in the words the check reports it::

    [[accepted]]
    check = "schema"
    reason = "create_all databases have no server defaults; ticket #123"
    difference = \"\"\"
    column public.entries.posted_at: default — migrations: now(), models: (none)\"\"\"
"""

from __future__ import annotations

import fcntl
import os
import re
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pytest_flask_pgdb.parity.compare import report
from pytest_flask_pgdb.parity.snapshot import Difference
from pytest_flask_pgdb.settings import SettingsError

CHECKS = ("schema", "autogenerate", "column order", "stairway")
NEW_REASON = "accepted when parity was turned on: say why, or fix it"
HEADER = (
    "# Schema-parity differences this project accepts for now (pytest-flask-pgdb).\n"
    "# Written by `pytest --pgdb-write-parity-baseline`; give each a reason. A check\n"
    "# fails on a difference not listed here and on an entry it no longer finds.\n"
)


@dataclass(frozen=True)
class Accepted:
    check: str
    difference: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    """What a check found, against the baseline."""

    new: list[str]  # found, not accepted: the failure
    stale: list[Accepted]  # accepted, no longer found: fails too (remove them)
    accepted: int  # found and accepted


@dataclass(frozen=True)
class Baseline:
    path: Path
    entries: tuple[Accepted, ...]

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """The file at ``path``; none there is an empty baseline."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path, ())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"the parity baseline {path} cannot be read: {exc}") from None
        entries = []
        for number, item in enumerate(data.get("accepted", []), 1):
            fields = item if isinstance(item, dict) else {}
            check, difference, reason = (fields.get(k) for k in ("check", "difference", "reason"))
            if check not in CHECKS or not isinstance(difference, str) or not difference:
                raise SettingsError(
                    f"the parity baseline {path}: entry {number} needs check (one of "
                    f"{', '.join(CHECKS)}) and difference; write it again with "
                    "--pgdb-write-parity-baseline"
                )
            if not isinstance(reason, str) or not reason.strip():
                raise SettingsError(
                    f"the parity baseline {path}: entry {number} ({check}) has no reason: "
                    "say why the difference is accepted"
                )
            entries.append(Accepted(check, difference, reason))
        return cls(path, tuple(entries))

    def judge(self, check: str, found: list[str]) -> Verdict:
        accepted = {e.difference for e in self.entries if e.check == check}
        present = set(found)
        return Verdict(
            new=[f for f in found if f not in accepted],
            stale=[e for e in self.entries if e.check == check and e.difference not in present],
            accepted=sum(f in accepted for f in found),
        )


def record(path: Path, check: str, found: list[str]) -> int:
    """Make ``check``'s entries in the file exactly ``found`` (reasons already given are
    kept); the other checks' entries stay. Safe under xdist: workers take turns."""
    with _locked(path.parent):
        kept = Baseline.load(path).entries
        reasons = {e.difference: e.reason for e in kept if e.check == check}
        entries = [e for e in kept if e.check != check] + [
            Accepted(check, difference, reasons.get(difference, NEW_REASON))
            for difference in dict.fromkeys(found)
        ]
        if entries:
            entries.sort(key=lambda e: (CHECKS.index(e.check), e.difference))
            temporary = path.with_name(f".{path.name}.{os.getpid()}")
            temporary.write_text(HEADER + "".join(_table(e) for e in entries), encoding="utf-8")
            temporary.replace(path)
        else:
            path.unlink(missing_ok=True)  # nothing accepted: no file to keep in step
    return len(found)


def _table(entry: Accepted) -> str:
    return (
        f"\n[[accepted]]\ncheck = {_basic(entry.check)}\nreason = {_basic(entry.reason)}\n"
        f'difference = """\n{_multiline(entry.difference)}"""\n'
    )


def _basic(value: str) -> str:
    return '"' + _controls_escaped(value.replace("\\", "\\\\").replace('"', '\\"'), "\t") + '"'


def _multiline(value: str) -> str:
    # TOML multi-line basic string: backslashes escaped, and a quote only where it could
    # close the string (before another quote, or last), so SQL stays readable.
    escaped = re.sub(r'"(?=")|"$', r'\\"', value.replace("\\", "\\\\"))
    return _controls_escaped(escaped, "\t\n")


def _controls_escaped(text: str, allowed: str) -> str:
    """TOML allows no control character raw in a string but those ``allowed``."""
    return "".join(
        f"\\u{ord(c):04x}" if (c < " " or c == "\x7f") and c not in allowed else c for c in text
    )


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class BaselineInUse:
    """The baseline of this run, and whether the run writes it instead of judging."""

    baseline: Baseline
    writing: bool

    def failure(self, check: str, title: str, found: Sequence[str | Difference]) -> str | None:
        """What a check that found ``found`` fails with (None: it passes). Writing,
        every check passes and ``found`` becomes its accepted differences."""
        texts = [str(f) for f in found]
        if self.writing:
            try:
                record(self.baseline.path, check, texts)
            except OSError as exc:
                return f"cannot write the parity baseline {self.baseline.path}: {exc}"
            return None
        verdict = self.baseline.judge(check, texts)
        unaccepted = set(verdict.new)  # (a set per finding made this quadratic)
        new = [f for f, text in zip(found, texts, strict=True) if text in unaccepted]
        parts = []
        if new:
            accepted = (
                f" ({verdict.accepted} more accepted in {self.baseline.path.name})"
                if verdict.accepted
                else ""
            )
            parts.append(report(title + accepted, new))
        if verdict.stale:
            parts.append(
                report(
                    f"accepted in {self.baseline.path} but no longer found (remove them, or "
                    f"write the baseline again with --pgdb-write-parity-baseline: it only "
                    f"shrinks)",
                    [f"{e.check}: {e.difference}" for e in verdict.stale],
                )
            )
        return "\n".join(parts) or None
