"""Times as applicants and staff read them: in ``INDUSTRY_AUTH_TIMEZONE`` (default
Asia/Taipei, 臺北時間), and with ``INDUSTRY_AUTH_CALENDAR = "minguo"`` in the 民國 calendar
that government forms use (民國 year = Gregorian year − 1911).

Every table stores naive UTC (``models.utcnow``); nothing is converted until it is shown. The
same functions serve pages (the ``industry_auth_datetime`` and ``industry_auth_date`` template
filters), mail (rendered in the applicant's language) and the CLI.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from .i18n import current_locale
from .i18n import gettext as _

#: The first year of the 民國 calendar, in Gregorian years.
MINGUO_EPOCH = 1911


def local(value: datetime) -> datetime:
    """``value`` (naive values are UTC) in the configured time zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(current_app.config["INDUSTRY_AUTH_TIMEZONE"]))


def zone_name(at: datetime | None = None) -> str:
    """The time zone as people read it: 臺北時間 for Asia/Taipei; else the UTC offset in force
    ``at`` that moment, or, for a heading over many moments, the offset of a zone that keeps
    one all year and the zone's name (Europe/Paris) for one with summer time."""
    name = current_app.config["INDUSTRY_AUTH_TIMEZONE"]
    if name == "Asia/Taipei":
        return _("Taipei time")
    zone = ZoneInfo(name)
    if at is None:
        year = datetime.now(UTC).year
        offsets = {datetime(year, month, 1, tzinfo=zone).utcoffset() for month in (1, 7)}
        if len(offsets) > 1:
            return name
        at = datetime(year, 1, 1, tzinfo=zone)
    offset = local(at).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


def format_date(value: date | datetime | None, *, short: bool = False) -> str:
    """A date in the reader's language and the configured calendar: 2026年12月2日 (or
    民國115年12月2日), 2026-12-02 in English; ``short`` for tables: 2026-12-02 (or 115/12/02)."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        value = local(value).date()
    minguo = current_app.config["INDUSTRY_AUTH_CALENDAR"] == "minguo"
    if minguo and value.year <= MINGUO_EPOCH:
        minguo = False  # before 民國元年: no 民國 year to write
    chinese = not current_locale().startswith("en")
    if minguo:
        year = value.year - MINGUO_EPOCH
        if short:
            return f"{year:03d}/{value.month:02d}/{value.day:02d}"
        if chinese:
            return f"民國{year}年{value.month}月{value.day}日"
        return f"ROC {year}-{value.month:02d}-{value.day:02d}"
    if chinese and not short:
        return f"{value.year}年{value.month}月{value.day}日"
    return value.isoformat()


def format_datetime(
    value: datetime | None, *, short: bool = False, seconds: bool = False, zone: bool = True
) -> str:
    """A moment in the configured time zone, as :func:`format_date` writes dates, then the time
    (14:05) and, unless ``zone`` is false (a table that names the zone in its heading), the
    zone: 2026年12月2日 14:05（臺北時間）."""
    if value is None:
        return "-"
    moment = local(value)
    clock = moment.strftime("%H:%M:%S" if seconds else "%H:%M")
    text = f"{format_date(moment.date(), short=short)} {clock}"
    if not zone:
        return text
    if current_locale().startswith("en"):
        return f"{text} ({zone_name(moment)})"
    return f"{text}（{zone_name(moment)}）"


def format_timestamp(value: datetime | None, *, seconds: bool = False) -> str:
    """A moment for terminals and scripts (the CLI): the configured zone's time with its
    UTC offset, whatever the language or calendar: 2026-12-02 14:05 +08:00."""
    if value is None:
        return "-"
    moment = local(value)
    offset = moment.strftime("%z")
    clock = moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{clock} {offset[:3]}:{offset[3:]}"
