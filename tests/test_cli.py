"""``flask industry-auth``: show, unlock, states, deliver-mail."""

from tests.helpers import OWN_PASSWORD, VALID


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["industry-auth", *args])


def test_show_prints_state_type_and_failures(app, portal, account):
    portal.login(VALID["business_id"], account["account_id"], "wrong password!!")
    result = _run(app, "show", VALID["business_id"], account["account_id"])
    assert result.exit_code == 0
    assert "state          activated" in result.output
    assert "type           non_certificate" in result.output
    assert "failed_logins  1" in result.output


def test_unknown_account_is_a_clear_error(app, account):
    result = _run(app, "show", "22099131", account["account_id"])
    assert result.exit_code != 0 and "no account" in result.output


def test_unlock(app, portal, account):
    for _ in range(5):
        portal.login(VALID["business_id"], account["account_id"], "wrong password!!")
    assert portal.account(account["account_id"]).state == "locked"
    result = _run(app, "unlock", VALID["business_id"], account["account_id"])
    assert result.exit_code == 0 and "activated" in result.output
    assert (
        portal.login(VALID["business_id"], account["account_id"], OWN_PASSWORD).status_code == 302
    )
    again = _run(app, "unlock", VALID["business_id"], account["account_id"])
    assert (
        again.exit_code != 0 and "cannot 'unlock' an account in state 'activated'" in again.output
    )


def test_states_prints_mermaid(app):
    result = _run(app, "states")
    assert result.output.startswith("stateDiagram-v2\n    [*] --> requested\n")
    assert "requested --> activated: activate" in result.output
    assert "locked --> activated: unlock" in result.output
