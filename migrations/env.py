"""Alembic environment for Flask-Migrate: the URL and metadata come from the Flask app."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    # Only when nothing configured logging yet: keeps pytest's and the app's handlers.
    fileConfig(config.config_file_name, disable_existing_loggers=False)

migrate_ext = current_app.extensions["migrate"]
target_metadata = migrate_ext.db.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=migrate_ext.db.engine.url.render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        **migrate_ext.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_revision(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logging.getLogger("alembic.env").info("No changes in schema detected.")

    configure_args = dict(migrate_ext.configure_args)
    configure_args.setdefault("process_revision_directives", skip_empty_revision)
    with migrate_ext.db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, **configure_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
