"""ledger: accounts and their entries. The database URL comes from DATABASE_URL."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, jsonify, request
from flask_migrate import Migrate
from sqlalchemy.engine import make_url

from ledger.models import Account, Entry, Ledger, db

DEFAULT_DATABASE_URL = "postgresql+psycopg2://postgres@localhost:5432/ledger"

migrate = Migrate()


def database_url(environ: Any = None) -> str:
    """The app's database: DATABASE_URL, else the local default."""
    return (environ if environ is not None else os.environ).get(
        "DATABASE_URL", DEFAULT_DATABASE_URL
    )


def load_settings(path: str = "config.yaml") -> dict[str, Any]:
    if not Path(path).exists():
        return {}
    return yaml.safe_load(Path(path).read_text()) or {}


def create_app(testing: bool = False) -> Flask:
    settings = load_settings()
    logging.basicConfig(level=settings.get("logging", {}).get("level", "INFO"))
    app = Flask(__name__)
    url = database_url()
    name = make_url(url).database or ""
    if testing and not name.endswith("_test"):
        # Our own guard, as many apps have: tests never run on a real database.
        raise RuntimeError(f"refusing to test against {name!r}: not a *_test database")
    app.config.update(
        TESTING=testing,
        SQLALCHEMY_DATABASE_URI=url,
        CURRENCY=settings.get("ledger", {}).get("currency", "EUR"),
    )
    db.init_app(app)
    migrate.init_app(app, db)  # flask db: migrations/ of the checkout

    @app.get("/ledgers/<int:ledger_id>/balance")
    def balance(ledger_id: int) -> Any:
        ledger = db.get_or_404(Ledger, ledger_id)
        total = sum(e.amount_cents for a in ledger.accounts for e in a.entries)
        return jsonify(ledger=ledger.name, balance_cents=total, currency=app.config["CURRENCY"])

    @app.post("/ledgers")
    def create_ledger() -> Any:
        ledger = Ledger(name=request.get_json()["name"])
        db.session.add(ledger)
        db.session.commit()
        return jsonify(id=ledger.id), 201

    return app


__all__ = ["Account", "Entry", "Ledger", "create_app", "database_url", "db"]
