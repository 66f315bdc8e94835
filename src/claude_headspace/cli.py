"""``flask create-db``: create the configured database when it does not exist yet."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from .config import mask_url
from .database import CONNECT_TIMEOUT_SECONDS, describe_error


@click.command("create-db")
def create_db_command() -> None:
    """Create the application's database if it is missing (never drops anything)."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    engine = create_engine(
        url.set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            )
            if exists:
                click.echo(f"Database {url.database!r} already exists ({mask_url(url)}).")
                return
            quoted = connection.dialect.identifier_preparer.quote(url.database)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot create database {url.database!r} on {url.host}:{url.port}: "
            f"{describe_error(exc)}. Start PostgreSQL, or point config.yaml / DATABASE_URL "
            "at a server you can create databases on."
        ) from None
    finally:
        engine.dispose()
    click.echo(f"Created database {url.database!r} ({mask_url(url)}).")


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_db_command)
