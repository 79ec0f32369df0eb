from tests.helpers import VALID


def test_whole_journey(portal):
    details = portal.active_account()
    assert portal.client.get("/account/").status_code == 200
    assert portal.account(details["account_id"]).state == "activated"
    assert portal.account(details["account_id"]).business_id == VALID["business_id"]
