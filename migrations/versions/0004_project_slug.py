"""Projects get a unique, NOT NULL slug, backfilled from their names.

Revision ID: 0004
Revises: 0003
Create Date: 2026-02-17 11:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Same rule as models.project.slugify; duplicates get -2, -3, ... in id order, and a
# name with no letters or digits falls back to project-<id>.
BACKFILL = """
UPDATE projects AS p
SET slug = ranked.slug
FROM (
    SELECT id,
           CASE WHEN rank = 1 THEN base ELSE base || '-' || rank END AS slug
    FROM (
        SELECT id, base, row_number() OVER (PARTITION BY base ORDER BY id) AS rank
        FROM (
            SELECT id,
                   coalesce(
                       nullif(btrim(regexp_replace(lower(name), '[^a-z0-9]+', '-', 'g'), '-'), ''),
                       'project-' || id
                   ) AS base
            FROM projects
        ) AS bases
    ) AS numbered
) AS ranked
WHERE p.id = ranked.id
"""


def upgrade():
    op.add_column("projects", sa.Column("slug", sa.String(length=255), nullable=True))
    op.execute(BACKFILL)
    op.alter_column("projects", "slug", existing_type=sa.String(length=255), nullable=False)
    op.create_unique_constraint(op.f("uq_projects_slug"), "projects", ["slug"])


def downgrade():
    op.drop_constraint(op.f("uq_projects_slug"), "projects", type_="unique")
    op.drop_column("projects", "slug")
