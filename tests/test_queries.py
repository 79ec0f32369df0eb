"""How many SQL statements a page costs (counted, not timed)."""

import pytest
import sqlalchemy as sa

from tests.hostapp import db


@pytest.fixture
def count_queries(app):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield statements
    sa.event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("path", ["/account/", "/account/profile", "/host-page"])
def test_an_authenticated_page_issues_at_most_two_queries(portal, signed_in, count_queries, path):
    count_queries.clear()
    assert portal.client.get(path).status_code == 200
    assert len(count_queries) <= 2, count_queries


def test_the_login_page_issues_no_query(client, count_queries):
    count_queries.clear()
    assert client.get("/account/login").status_code == 200
    assert count_queries == []
