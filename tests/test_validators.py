"""統一編號, phone and email rules (pure functions, no app)."""

import pytest

from flask_industry_auth import validators as v

# Every test number of shared/design/DOMAIN.md.
VALID_UBNS = ["22099131", "04595257", "10458575", "04595252", "12345670", "62140097", "00000074"]
INVALID_UBNS = [
    "22099132",
    "12345678",
    "00501502",
    "1234567",
    "1234567A",
    "123456789",
    "",
    "        ",
    "٠٤٥٩٥٢٥٧",
]  # Arabic-Indic digits are not 統一編號 digits


@pytest.mark.parametrize("ubn", VALID_UBNS)
def test_valid_business_ids(ubn):
    assert v.is_valid_business_id(ubn)


@pytest.mark.parametrize("ubn", INVALID_UBNS)
def test_invalid_business_ids(ubn):
    assert not v.is_valid_business_id(ubn)


def test_old_rule_only_number_is_valid_under_2023_rule():
    # 04595252: sum divisible by 5 but not by 10 - rejected by the pre-2023 rule.
    digits = [int(d) * w for d, w in zip("04595252", (1, 2, 1, 2, 1, 2, 4, 1), strict=True)]
    total = sum(sum(divmod(p, 10)) for p in digits)
    assert total % 10 != 0 and total % 5 == 0
    assert v.is_valid_business_id("04595252")


def test_full_width_digits_are_normalised():
    assert v.normalize_business_id(" ０４５９５２５７ ") == "04595257"
    assert v.is_valid_business_id("０４５９５２５７")


@pytest.mark.parametrize(
    ("typed", "e164", "ext"),
    [
        ("(02)2311-2345", "+886223112345", None),
        ("02-2311-2345", "+886223112345", None),
        ("02-2311-2345#123", "+886223112345", "123"),
        ("02-2311-2345 分機123", "+886223112345", "123"),
        ("02-2311-2345轉 45", "+886223112345", "45"),
        ("02-2311-2345 ext. 123", "+886223112345", "123"),
        ("037-123456", "+88637123456", None),
        ("0912-345-678", "+886912345678", None),
        ("０９１２３４５６７８", "+886912345678", None),
        ("+886 2 2311 2345", "+886223112345", None),
    ],
)
def test_taiwan_phone_numbers(typed, e164, ext):
    assert v.parse_phone(typed) == (e164, ext)


@pytest.mark.parametrize("typed", ["12345", "02-2311", "hello", "", "0912-345-678#12345678901"])
def test_bad_phone_numbers(typed):
    with pytest.raises(ValueError):
        v.parse_phone(typed)


def test_phone_display_is_national_format_with_extension():
    assert v.format_phone("+886223112345", "123") == "02 2311 2345 #123"
    assert v.format_phone("+886912345678") == "0912 345 678"


def test_email_syntax_without_dns():
    assert v.normalize_email("Someone@Example.COM") == "Someone@example.com"
    for bad in ["no-at-sign", "a@b", "a@@example.com", "a@example.com\r\nBcc: x@evil.test", ""]:
        with pytest.raises(ValueError):
            v.normalize_email(bad)


def test_control_characters_are_detected():
    assert v.has_bad_characters("abc\x00")
    assert v.has_bad_characters("line\nbreak")
    assert not v.has_bad_characters("臺北市中正區")


@pytest.mark.parametrize("ubn", ["00000000", "55555555", "０００００００００"[:8]])
def test_numbers_that_identify_nobody_are_refused(ubn):
    # All eight digits the same: 00000000 and 55555555 pass the check digit, identify nobody.
    assert v.is_reserved_business_id(ubn)
    assert not v.is_valid_business_id(ubn)


@pytest.mark.parametrize("ubn", VALID_UBNS)
def test_no_listed_valid_number_is_reserved(ubn):
    assert not v.is_reserved_business_id(ubn)


@pytest.mark.parametrize(
    "typed",
    [
        "\u200b\u200b\u200b",  # zero-width spaces
        "\u00a0\u3000",  # NBSP, ideographic space
        "\u00ad\u2061\u180e",  # soft hyphen, function application, Mongolian vowel separator
        "\u3164\uffa0\u115f",  # Hangul fillers: letters that show nothing
        "\u2800",  # braille blank
        "\ufe0f\u034f",  # a variation selector, the combining grapheme joiner
        "\U000e0041",  # a tag character
        "",
    ],
)
def test_text_without_a_visible_character_is_blank(typed):
    assert v.is_blank(typed)


@pytest.mark.parametrize("typed", ["王", "A", "1", "臺北市 中正區", "é", "\u200b王"])
def test_text_with_a_visible_character_is_not_blank(typed):
    assert not v.is_blank(typed)
