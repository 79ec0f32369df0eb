"""The registration limit counts applications (申請帳號), not the steps before one."""

from tests.helpers import VALID, Portal, text_of


def test_steps_and_corrections_do_not_count_applications_do(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_REGISTER_PER_IP="3/minute")
    portal = Portal(app, app.test_client(), smtp)
    for _ in range(5):  # 下一步, 返回修改 and a mistake, over and over: one applicant correcting
        assert portal.post("/account/register", {**VALID, "action": "next"}).status_code == 200
        assert portal.post("/account/register", {**VALID, "action": "edit"}).status_code == 200
        wrong = portal.post("/account/register", {**VALID, "phone": "12", "action": "next"})
        assert wrong.status_code == 200 and "請輸入正確的電話號碼" in text_of(wrong)
    for n in range(3):
        applied = portal.post(
            "/account/register", {**VALID, "email": f"a{n}@example.com", "action": "apply"}
        )
        assert applied.status_code == 302
    refused = portal.post(
        "/account/register", {**VALID, "email": "x@example.com", "action": "apply"}
    )
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert len(portal.accounts()) == 3


def test_certificate_applications_count_the_same_way(make, smtp):
    app = make(INDUSTRY_AUTH_RATELIMIT_REGISTER_PER_IP="2/minute")
    portal = Portal(app, app.test_client(), smtp)
    for _ in range(4):
        confirm = portal.post("/account/register/certificate", {**VALID, "action": "next"})
        assert confirm.status_code == 200
    for _ in range(2):  # unsigned: refused by the flow, but an application all the same
        assert (
            portal.post("/account/register/certificate", {**VALID, "action": "apply"}).status_code
            == 200
        )
    third = portal.post("/account/register/certificate", {**VALID, "action": "apply"})
    assert third.status_code == 429
