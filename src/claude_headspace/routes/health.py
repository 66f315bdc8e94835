"""``GET /health``: the application is up; says whether the database answers."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .. import __version__
from ..database import check_database_health

health_bp = Blueprint("health", __name__)


@health_bp.get("/health")
def health() -> Response:
    ok, error = check_database_health()
    body: dict[str, str] = {
        "status": "healthy" if ok else "degraded",
        "version": __version__,
        "database": "connected" if ok else "disconnected",
    }
    if error:
        body["database_error"] = error
    return jsonify(body)
