"""ledger's tests: they commit, and each starts with empty tables and ids from 1."""

import os

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

import ledger
from ledger.models import Account, Entry, Ledger


def opened_account(db_session, name="Household"):
    """An account whose opening entry is one of its own entries: the foreign-key cycle."""
    book = Ledger(name=name)
    account = Account(ledger=book, code="1000")
    db_session.add(account)
    db_session.flush()
    opening = Entry(account=account, amount_cents=12_500)
    db_session.add(opening)
    db_session.flush()
    account.opening_entry_id = opening.id
    db_session.commit()
    return account


@pytest.mark.parametrize("run", [1, 2, 3])
def test_each_test_starts_empty_with_ids_from_one(db_session, run):
    account = opened_account(db_session)
    assert (account.id, account.opening_entry_id, account.ledger_id) == (1, 1, 1)
    assert db_session.scalar(select(func.count()).select_from(Entry)) == 1


def test_the_cycle_is_restrict_both_ways(db_session):
    account = opened_account(db_session)
    db_session.delete(db_session.get(Entry, account.opening_entry_id))
    with pytest.raises(IntegrityError, match="violates foreign key constraint"):
        db_session.commit()
    db_session.rollback()


def test_an_account_tree(db_session):
    root = opened_account(db_session)
    child = Account(ledger_id=root.ledger_id, parent_id=root.id, code="1100")
    db_session.add(child)
    db_session.commit()
    assert [a.code for a in db_session.get(Account, root.id).children] == ["1100"]


def test_the_balance_over_http(client, db_session):
    account = opened_account(db_session)
    db_session.add(Entry(account_id=account.id, amount_cents=-2_500))
    db_session.commit()
    response = client.get(f"/ledgers/{account.ledger_id}/balance")
    assert response.json == {"ledger": "Household", "balance_cents": 10_000, "currency": "EUR"}


def test_a_new_ledger_over_http(client):
    assert client.post("/ledgers", json={"name": "Travel"}).json == {"id": 1}


def test_code_under_test_that_builds_its_own_app_reaches_the_test_database(app):
    url = ledger.database_url()
    assert url == os.environ["DATABASE_URL"]
    # ledger_test, or ledger_gw<N>_test under xdist; on a private cluster, by its socket
    assert make_url(url).database.endswith("_test")


def test_ledgers_own_guard_still_refuses_a_real_database(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@localhost/ledger")
    with pytest.raises(RuntimeError, match="not a \\*_test database"):
        ledger.create_app(testing=True)
