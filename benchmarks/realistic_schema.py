"""A schema shaped like a real app's (the adopter's: ~20 models, 116 relations), for the
benchmark and the cleanup's tests: 26 tables, self-references, wide tables, and a
foreign-key cycle with ON DELETE RESTRICT that is not deferrable.

Tables are generated from a short spec so that the shape (not the domain) is what is
read: per table its parents (``name`` or ``name?`` for a nullable key, ``name!`` for
RESTRICT), how many extra text columns, and whether it refers to itself.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

# name: (parents, extra text columns, self-reference)
SPEC: dict[str, tuple[tuple[str, ...], int, bool]] = {
    "organizations": ((), 4, False),
    "users": (("organizations",), 6, True),  # manager_id
    "teams": (("organizations",), 2, True),
    "memberships": (("users", "teams"), 1, False),
    "accounts": (("organizations",), 5, False),
    "contacts": (("accounts!",), 8, False),
    "addresses": (("contacts",), 7, False),
    "categories": (("organizations",), 2, True),
    "products": (("categories",), 10, False),
    "price_lists": (("organizations",), 2, False),
    "prices": (("products", "price_lists"), 1, False),
    "orders": (("accounts", "contacts?", "addresses?"), 6, False),
    "order_lines": (("orders", "products!"), 3, False),
    "invoices": (("orders", "accounts"), 5, False),
    "invoice_lines": (("invoices", "order_lines?"), 3, False),
    "payments": (("invoices!",), 4, False),
    "projects": (("organizations", "accounts?"), 4, False),
    "tasks": (("projects", "users?"), 6, True),  # parent_id
    "comments": (("tasks", "users"), 2, True),  # reply_to_id
    "attachments": (("tasks?", "comments?"), 4, False),
    "tags": (("organizations",), 1, False),
    "task_tags": (("tasks", "tags"), 0, False),
    "notifications": (("users",), 4, False),
    "api_keys": (("users!",), 2, False),
    "webhooks": (("organizations",), 3, False),
    "audit_events": (("organizations", "users?"), 30, False),  # the wide one
}


def realistic_metadata() -> MetaData:
    metadata = MetaData()
    for name, (parents, texts, self_ref) in SPEC.items():
        columns: list = [
            Column("id", Integer, primary_key=True),
            Column("created_at", DateTime(timezone=True), server_default=func.now()),
            Column("name", String(200), nullable=False, server_default=text("''")),
            Column("active", Boolean, nullable=False, server_default=text("true")),
            Column("data", JSONB),
        ]
        for parent in parents:
            table = parent.rstrip("?!")
            restrict = parent.endswith("!")
            columns.append(
                Column(
                    f"{table}_id",
                    ForeignKey(f"{table}.id", ondelete="RESTRICT" if restrict else "CASCADE"),
                    nullable=parent.endswith("?"),
                    index=True,
                )
            )
        if self_ref:
            columns.append(Column("parent_id", ForeignKey(f"{name}.id", ondelete="SET NULL")))
        columns += [Column(f"text_{i}", Text) for i in range(texts)]
        if texts > 5:
            columns += [Column("amount", Numeric(12, 2)), Column("counter", BigInteger)]
        Table(name, metadata, *columns, Index(f"ix_{name}_name_active", "name", "active"))
    # The cycle: an account's primary contact is one of its contacts; RESTRICT both ways.
    accounts = metadata.tables["accounts"]
    accounts.append_column(
        Column(
            "primary_contact_id",
            ForeignKey("contacts.id", ondelete="RESTRICT", use_alter=True),
            nullable=True,
        )
    )
    return metadata


def write_rows(connection: Connection) -> int:
    """What a typical test writes: a handful of rows across the schema, the cycle closed."""
    statements = [
        "INSERT INTO organizations (name) VALUES ('acme')",
        "INSERT INTO users (name, organizations_id) VALUES ('ann', 1), ('bob', 1)",
        "UPDATE users SET parent_id = 1 WHERE id = 2",
        "INSERT INTO accounts (name, organizations_id) VALUES ('customer', 1)",
        "INSERT INTO contacts (name, accounts_id) VALUES ('carol', 1)",
        "UPDATE accounts SET primary_contact_id = 1 WHERE id = 1",
        "INSERT INTO categories (name, organizations_id) VALUES ('tools', 1)",
        "INSERT INTO products (name, categories_id) VALUES ('hammer', 1), ('saw', 1)",
        "INSERT INTO orders (name, accounts_id, contacts_id) VALUES ('o-1', 1, 1)",
        "INSERT INTO order_lines (name, orders_id, products_id) VALUES ('l', 1, 1), ('l', 1, 2)",
        "INSERT INTO projects (name, organizations_id) VALUES ('p', 1)",
        "INSERT INTO tasks (name, projects_id, users_id) VALUES ('t', 1, 1)",
        "INSERT INTO audit_events (name, organizations_id, text_0) VALUES ('e', 1, 'x')",
    ]
    for statement in statements:
        connection.exec_driver_sql(statement)
    return len(statements)
