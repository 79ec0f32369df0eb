"""The national data set's generator (benchmarks/dataset.py) makes what the benchmark claims:
valid, distinct 統一編號, Chinese business names and addresses, rows that fit the columns."""

from benchmarks import dataset
from flask_industry_auth.passwords import READABLE_ALPHABET
from flask_industry_auth.validators import is_valid_business_id, parse_phone


def test_business_ids_and_account_ids_are_valid_and_distinct():
    ids = [dataset.business_id(n) for n in range(0, 2_000_000, 37)]
    assert len(set(ids)) == len(ids)
    assert all(is_valid_business_id(ubn) for ubn in ids)
    logins = [dataset.login_id(n) for n in range(0, 2_000_000, 37)]
    assert len(set(logins)) == len(logins)
    assert all(len(x) == 8 and set(x) <= set(READABLE_ALPHABET) for x in logins)


def test_account_rows_fit_the_columns_and_look_like_taiwan_companies():
    rows = list(dataset.account_rows(0, 2_000, "argon2-hash")) + list(
        dataset.account_rows(1_999_000, 2_000_000, "argon2-hash")
    )
    columns = dataset.ACCOUNT_COLUMNS
    assert all(len(row) == len(columns) for row in rows)
    named = [dict(zip(columns, row, strict=True)) for row in rows]
    assert [r["id"] for r in named] == [*range(1, 2_001), *range(1_999_001, 2_000_001)]
    assert len({r["account_id"] for r in named}) == len(named)
    assert len({(r["business_id"], r["email_key"]) for r in named}) == len(named)
    live = [r for r in named if r["state"] != "deleted"]
    forms = tuple(form for form, _ in dataset.FORMS)
    assert all(r["business_name"].endswith(forms) for r in live)
    assert all(len(r["business_name"]) <= 100 and len(r["address"]) <= 200 for r in named)
    assert all(r["address"][:3] in dataset.CITIES for r in named)
    assert all(parse_phone(r["phone"])[0] == r["phone"] for r in named[:300])
    states = {r["state"] for r in named}
    assert states == {state for state, _ in dataset.STATE_SHARES}
    # Only accounts that may log in carry a password; unactivated ones an activation token.
    assert all((r["password_hash"] is None) == (r["state"] == "requested") for r in named)
    assert all((r["activation_token_hash"] is None) != (r["state"] == "requested") for r in named)


def test_case_picks_by_cumulative_weight():
    sql = dataset._case(["a", None, "it's"], [10, 20, 5])
    assert sql == "CASE WHEN r < 10 THEN 'a' WHEN r < 30 THEN NULL WHEN r < 35 THEN 'it''s' END"
