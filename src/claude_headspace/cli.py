"""``flask create-db`` and ``flask prepare-db``: the configured database, made ready.

* ``create-db`` creates the database when it does not exist yet (never drops anything)
  and fails with one line of advice that fits the failure;
* ``prepare-db`` (what ``nox -s serve`` runs) creates and migrates it; when the server
  cannot be used it says why in one line and returns, so that the app starts degraded
  and connects once the server is there (the database PRD's FR8).
"""

from __future__ import annotations

import click
import flask_migrate
from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from .config import address_of, mask_url
from .connections import admin_connection, describe_error

# What libpq and the server say, by what the user should do about it.
_SERVER_DOWN = (
    "connection refused",
    "could not connect",
    "no such file or directory",
    "timeout expired",
    "could not translate host name",
    "name or service not known",
    "server closed the connection",
    "the database system is starting up",
    "the database system is shutting down",
)
_LOGIN_REFUSED = (
    "password authentication failed",
    "peer authentication failed",
    "ident authentication failed",
    "no password supplied",
    "no pg_hba.conf entry",
    "does not exist",  # role "x" does not exist
)
_NO_PRIVILEGE = ("permission denied to create database",)


class DatabaseNotReady(click.ClickException):
    """The configured database cannot be created or reached; the message says what to do."""


def advice(exc: SQLAlchemyError, url: URL) -> str:
    """One line: what failed, and what to do about that failure in particular."""
    where = address_of(url)
    problem = describe_error(exc)
    lowered = problem.lower()
    if any(phrase in lowered for phrase in _NO_PRIVILEGE):
        return (
            f"user {url.username!r} may not create databases on {where} ({problem}). Create "
            f"{url.database!r} yourself, or grant it: ALTER ROLE {url.username} CREATEDB;"
        )
    if any(phrase in lowered for phrase in _LOGIN_REFUSED):
        return (
            f"the PostgreSQL server at {where} refused user {url.username!r} ({problem}). Fix "
            "database.user / database.password in config.yaml (or DATABASE_USER, "
            "DATABASE_PASSWORD, DATABASE_URL)."
        )
    if any(phrase in lowered for phrase in _SERVER_DOWN):
        return (
            f"no PostgreSQL server answers at {where} ({problem}). Start it, or point "
            "config.yaml / DATABASE_URL at the server you use."
        )
    return f"cannot use the PostgreSQL server at {where}: {problem}."


def create_database(url: URL) -> bool:
    """Create ``url``'s database if missing; True if it was created. Raises DatabaseNotReady."""
    try:
        with admin_connection(url.set(database="postgres")) as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            )
            if exists:
                return False
            quoted = connection.dialect.identifier_preparer.quote(url.database or "")
            connection.execute(text(f"CREATE DATABASE {quoted}"))
    except SQLAlchemyError as exc:
        raise DatabaseNotReady(
            f"cannot create database {url.database!r}: {advice(exc, url)}"
        ) from None
    return True


@click.command("create-db")
def create_db_command() -> None:
    """Create the application's database if it is missing (never drops anything)."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if create_database(url):
        click.echo(f"Created database {url.database!r} ({mask_url(url)}).")
    else:
        click.echo(f"Database {url.database!r} already exists ({mask_url(url)}).")


@click.command("prepare-db")
def prepare_db_command() -> None:
    """Create the database if missing and migrate it to the newest revision.

    When the server cannot be used, one line says why and the command succeeds: the
    app then starts degraded and connects by itself once the server is up.
    """
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        create_database(url)
    except DatabaseNotReady as exc:
        click.echo(f"Warning: {exc.message} The app starts degraded for now.", err=True)
        return
    flask_migrate.upgrade()
    click.echo(f"Database {url.database!r} is at the newest revision ({mask_url(url)}).")


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_db_command)
    app.cli.add_command(prepare_db_command)
