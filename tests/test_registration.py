"""Apply for a non-certificate account (seed 一.1): form, confirmation screen, apply."""

import pytest

from tests.helpers import VALID, text_of

LABELS = ["營利事業名稱", "統一編號", "負責人", "聯絡人", "電話", "地址", "電子郵件"]


def test_form_has_the_manuals_labels_tied_to_inputs(client):
    page = text_of(client.get("/account/register"))
    for label in LABELS:
        assert f">{label}</label>" in page
    for name in VALID:
        assert f'<label class="ia-label" for="{name}">' in page
        assert f'id="{name}"' in page
    assert "下一步" in page


def test_next_shows_every_value_and_stores_nothing(portal):
    response = portal.post("/account/register", {**VALID, "action": "next"})
    page = text_of(response)
    assert response.status_code == 200
    for value in VALID.values():
        assert value in page
    assert "申請帳號" in page and "返回修改" in page
    assert portal.accounts() == []
    assert portal.smtp.mails == []


def test_back_and_edit_keeps_the_values(portal):
    response = portal.post("/account/register", {**VALID, "action": "edit"})
    page = text_of(response)
    assert 'value="經濟部測試股份有限公司"' in page
    assert "下一步" in page
    assert portal.accounts() == []


def test_apply_creates_a_requested_account_and_shows_success(portal):
    response = portal.apply()
    assert response.status_code == 302
    done = portal.client.get(response.headers["Location"])
    assert "申請成功" in text_of(done)
    (account,) = portal.accounts()
    assert account.state == "requested"
    assert account.account_type == "non_certificate"
    assert account.business_id == "04595257"
    assert account.phone == "+886223112345" and account.phone_ext == "123"
    assert account.email == "applicant@example.com"
    assert account.locale == "zh_Hant_TW"


def test_full_width_business_id_is_accepted_and_stored_ascii(portal):
    portal.apply(business_id="０４５９５２５７")
    (account,) = portal.accounts()
    assert account.business_id == "04595257"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("business_id", "04595258", "請輸入正確的 8 位數統一編號"),
        ("business_id", "1234567", "請輸入正確的 8 位數統一編號"),
        ("business_id", "1234567A", "請輸入正確的 8 位數統一編號"),
        ("phone", "12345", "請輸入正確的電話號碼"),
        ("email", "not-an-email", "請輸入正確的電子郵件"),
        ("email", "a@example.com\r\nBcc: victim@example.com", "不允許的字元"),
        ("business_name", "", "此欄位為必填"),
        ("responsible_person", "   ", "此欄位為必填"),
        ("business_name", "名" * 101, "請最多使用 100 個字元"),
        ("address", "x" * 201, "請最多使用 200 個字元"),
        ("contact_person", "林\x00小華", "不允許的字元"),
        ("business_id", "00000000", "此統一編號不屬於任何營利事業"),
        ("business_id", "55555555", "此統一編號不屬於任何營利事業"),
        ("business_name", "\u200b\u200b\u200b", "只有空白或看不見的字元"),
        ("responsible_person", "\u3000\u00a0\u200b", "只有空白或看不見的字元"),
        ("contact_person", "\u3164\u00ad", "只有空白或看不見的字元"),
        ("address", "\u2800\u2061", "只有空白或看不見的字元"),
    ],
)
def test_invalid_input_is_marked_at_the_field_and_nothing_is_stored(portal, field, value, message):
    for action in ("next", "apply"):
        response = portal.post("/account/register", {**VALID, field: value, "action": action})
        page = text_of(response)
        assert response.status_code == 200
        assert message in page
        assert f'id="{field}-error"' in page
        assert 'aria-invalid="true"' in page
        assert "申請帳號" not in page  # still the form, not the confirmation screen
    assert portal.accounts() == []
    assert portal.smtp.mails == []


def test_every_field_missing_marks_every_field(portal):
    response = portal.post("/account/register", {"action": "next"})
    page = text_of(response)
    for name in VALID:
        assert f'id="{name}-error"' in page
    assert portal.accounts() == []


def test_html_in_fields_is_escaped_on_the_confirmation_screen(portal):
    response = portal.post(
        "/account/register",
        {**VALID, "business_name": "<script>alert(1)</script>", "action": "next"},
    )
    raw = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw


def test_a_double_submit_is_one_application_and_no_mail(portal):
    # 5 quick submits of the same application (a double click, the back button, a retry).
    answers = {(r.status_code, r.headers["Location"]) for r in [portal.apply() for _ in range(5)]}
    assert answers == {(302, "/account/register/done")}
    assert len(portal.accounts()) == 1
    (mail,) = portal.settle()
    assert mail.subject == "啟用您的電子身分證"
    # The same applicant, whatever the case of the email's letters.
    portal.apply(email="APPLICANT@example.com")
    assert len(portal.settle()) == 1


def test_a_second_application_later_offers_the_activation_mail_again(portal, time_machine):
    time_machine.move_to("2026-11-28 09:00:00", tick=True)
    first = portal.apply_and_read_mail()
    time_machine.move_to("2026-11-28 09:05:01", tick=True)  # past the 5-minute window
    response = portal.apply()
    assert response.status_code == 302  # the same answer as a new application
    assert len(portal.accounts()) == 1
    mail = portal.wait_mails(2)[1]
    assert mail.subject == "有人以您的資料再次申請帳號"
    assert first["account_id"] in mail.text
    assert mail.recipients == ["applicant@example.com"]
    # Not activated yet: the way to a new activation mail, not 忘記密碼 (which sends nothing).
    assert "https://portal.example.gov.tw/account/activate-again" in mail.text
    assert "https://portal.example.gov.tw/account/activate-again" in mail.html
    assert "忘記密碼" not in mail.text
    assert "尚未啟用" in mail.text


def test_other_data_within_the_window_is_a_second_application(portal):
    portal.apply_and_read_mail()
    portal.apply(contact_person="陳小美")  # someone else, or the applicant changing the data
    mail = portal.wait_mails(2)[1]
    assert mail.subject == "有人以您的資料再次申請帳號"
    assert len(portal.accounts()) == 1


def test_a_second_application_for_an_active_account_points_to_forgot_password(portal):
    details = portal.active_account()
    portal.logout()
    portal.forget_mails()
    portal.apply()
    (mail,) = portal.wait_mails(1)
    assert mail.subject == "有人以您的資料再次申請帳號"
    assert details["account_id"] in mail.text and "忘記密碼" in mail.text
    assert "activate-again" not in mail.text


def test_the_window_is_a_setting_and_zero_mails_every_time(make, smtp):
    from tests.helpers import Portal

    app = make(INDUSTRY_AUTH_REPEAT_APPLICATION_SECONDS=0)
    portal = Portal(app, app.test_client(), smtp)
    portal.apply_and_read_mail()
    portal.apply()
    assert portal.wait_mails(2)[1].subject == "有人以您的資料再次申請帳號"


def test_other_email_of_same_business_gets_its_own_account(portal):
    portal.apply_and_read_mail()
    portal.apply_and_read_mail(email="second@example.com")
    assert len(portal.accounts()) == 2


def test_values_that_identify_nobody_are_refused_in_english_too(portal):
    portal.post("/account/language", {"locale": "en", "next": "/account/register"})
    data = {**VALID, "business_id": "00000000", "business_name": "\u200b\u3000", "action": "next"}
    page = text_of(portal.post("/account/register", data))
    assert "This unified business number (統一編號) belongs to no business." in page
    assert "This field holds only spaces or invisible characters." in page
    assert 'id="business_id-error"' in page and 'id="business_name-error"' in page
    assert portal.accounts() == []


def test_no_page_cuts_a_value_with_maxlength(portal):
    # The browser's maxlength cuts a paste without a word; the server tells the maximum.
    pages = ["/account/register", "/account/register/certificate", "/account/login"]
    pages += ["/account/forgot-password", "/account/activate-again"]
    for url in pages:
        page = portal.client.get(url).get_data(as_text=True)
        assert "<input" in page and "maxlength" not in page, url
    long_name = "名" * 150
    response = portal.post(
        "/account/register", {**VALID, "business_name": long_name, "action": "next"}
    )
    page = text_of(response)
    assert "請最多使用 100 個字元" in page
    assert f'value="{long_name}"' in page  # kept whole, to be shortened by the applicant


def test_a_second_application_in_review_says_so(make, smtp, time_machine):
    from tests.helpers import Portal

    time_machine.move_to("2026-11-28 09:00:00", tick=True)
    app = make(INDUSTRY_AUTH_REQUIRE_APPROVAL=True)
    portal = Portal(app, app.test_client(), smtp)
    portal.apply()
    portal.apply()  # a double submit: nothing
    time_machine.move_to("2026-11-28 10:00:00", tick=True)
    portal.apply()
    (mail,) = portal.wait_mails(1)
    assert "此申請仍在審核中" in mail.text and "忘記密碼" not in mail.text
