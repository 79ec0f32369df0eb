"""Times as applicants and staff read them: 臺北時間 by default, another zone by setting,
and the 民國 calendar as an option (flask_industry_auth.dates)."""

from datetime import UTC, date, datetime

import flask_babel
import pytest

from flask_industry_auth.dates import format_date, format_datetime, zone_name

# 2026-12-02 06:05 UTC is 14:05 in Taipei (UTC+8, no summer time).
MOMENT = datetime(2026, 12, 2, 6, 5)


def written(app, locale, function, *args, **kwargs):
    with app.test_request_context(), flask_babel.force_locale(locale):
        return function(*args, **kwargs)


def test_taipei_time_by_default_in_both_languages(app):
    assert written(app, "zh_Hant_TW", format_datetime, MOMENT) == "2026年12月2日 14:05（臺北時間）"
    assert written(app, "en", format_datetime, MOMENT) == "2026-12-02 14:05 (Taipei time)"


def test_an_aware_value_is_converted_not_reread(app):
    aware = MOMENT.replace(tzinfo=UTC)
    assert written(app, "en", format_datetime, aware, zone=False) == "2026-12-02 14:05"


def test_the_date_changes_at_taipei_midnight_not_utc_midnight(app):
    late = datetime(2026, 12, 31, 16, 30)  # 00:30 on 1 January in Taipei
    assert written(app, "en", format_date, late) == "2027-01-01"


def test_tables_write_short_dates_and_may_name_the_zone_in_their_heading(app):
    text = written(app, "zh_Hant_TW", format_datetime, MOMENT, short=True, zone=False)
    assert text == "2026-12-02 14:05"
    assert written(app, "en", format_datetime, MOMENT, seconds=True, zone=False).endswith(
        "14:05:00"
    )


def test_minguo_calendar_on_request(make):
    app = make(INDUSTRY_AUTH_CALENDAR="minguo")
    assert written(app, "zh_Hant_TW", format_datetime, MOMENT) == (
        "民國115年12月2日 14:05（臺北時間）"
    )
    assert written(app, "zh_Hant_TW", format_date, MOMENT, short=True) == "115/12/02"
    assert written(app, "en", format_date, date(2026, 12, 2)) == "ROC 115-12-02"
    # Before 民國元年 there is no 民國 year: the Gregorian date is written.
    assert written(app, "en", format_date, date(1900, 1, 1)) == "1900-01-01"


@pytest.mark.parametrize(
    ("zone", "expected"), [("Asia/Tokyo", "15:05（UTC+09:00）"), ("UTC", "06:05（UTC+00:00）")]
)
def test_another_time_zone_names_its_offset(make, zone, expected):
    app = make(INDUSTRY_AUTH_TIMEZONE=zone)
    assert written(app, "zh_Hant_TW", format_datetime, MOMENT).endswith(expected)


def test_nothing_to_write_is_a_dash(app):
    assert written(app, "en", format_datetime, None) == "-"
    assert written(app, "en", format_date, None) == "-"


def test_templates_have_the_filters(app):
    with app.test_request_context(), flask_babel.force_locale("en"):
        template = app.jinja_env.from_string(
            "{{ t|industry_auth_datetime }} {{ t|industry_auth_date(short=True) }}"
        )
        assert template.render(t=MOMENT) == "2026-12-02 14:05 (Taipei time) 2026-12-02"


def test_the_cli_writes_the_zones_offset_whatever_the_language(make):
    from flask_industry_auth.dates import format_timestamp

    app = make(INDUSTRY_AUTH_CALENDAR="minguo")
    assert written(app, "zh_Hant_TW", format_timestamp, MOMENT) == "2026-12-02 14:05 +08:00"
    assert written(app, "en", format_timestamp, MOMENT, seconds=True) == (
        "2026-12-02 14:05:00 +08:00"
    )
    assert written(app, "en", format_timestamp, None) == "-"
    india = make(INDUSTRY_AUTH_TIMEZONE="Asia/Kolkata")
    assert written(india, "en", format_timestamp, MOMENT) == "2026-12-02 11:35 +05:30"


def test_a_mail_writes_dates_in_the_configured_calendar(make, tmp_path, smtp):
    from flask_industry_auth.models import utcnow
    from tests.helpers import Portal

    mail = tmp_path / "industry_auth" / "email" / "activation_message.txt"
    mail.parent.mkdir(parents=True)
    mail.write_text(
        '{% include "industry_auth/packaged/email/activation_message.txt" %}'
        "APPLIED {{ account.created_at | industry_auth_date }}",
        encoding="utf-8",
    )
    app = make(INDUSTRY_AUTH_CALENDAR="minguo")
    app.template_folder = str(tmp_path)
    details = Portal(app, app.test_client(), smtp).apply_and_read_mail()
    assert f"APPLIED 民國{utcnow().year - 1911}年" in details["mail"].text


def test_a_zone_with_summer_time_names_the_offset_of_each_moment(make):
    app = make(INDUSTRY_AUTH_TIMEZONE="Europe/Berlin")
    summer, winter = datetime(2026, 7, 1, 10, 0), datetime(2026, 12, 1, 10, 0)
    assert written(app, "en", format_datetime, summer) == "2026-07-01 12:00 (UTC+02:00)"
    assert written(app, "en", format_datetime, winter) == "2026-12-01 11:00 (UTC+01:00)"
    # A heading over many moments names the zone: no one offset is right for them all.
    assert written(app, "en", zone_name) == "Europe/Berlin"
