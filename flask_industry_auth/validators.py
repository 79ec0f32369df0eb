"""Pure validation and normalisation: 統一編號, phone numbers, email, free text.

No Flask here, so flows, forms and the CLI share one definition of "valid".
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_UBN_WEIGHTS = (1, 2, 1, 2, 1, 2, 4, 1)
# Cc (controls, NUL included), Cs (surrogates), Co (private use), Cn (unassigned): never
# legitimate in a name or an address, and a source of header and log injection.
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})
# Format characters (Cf) that change how text is shown without being seen: the bidi embeddings
# and overrides (U+202A–U+202E), isolates (U+2066–U+2069), marks (U+200E, U+200F, U+061C),
# and the zero-width ones (U+200B–U+200D, U+2060, U+FEFF). A name holding them reads
# differently to staff, in mail and in a terminal than what is stored (Trojan Source).
INVISIBLE_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
)
# phonenumbers understands "#123" and "ext. 123" but not the Chinese ways of writing it.
_EXTENSION_WORDS = re.compile(r"\s*(?:分機|轉|ext\.?|x)\s*", re.IGNORECASE)


def normalize_business_id(value: str | None) -> str:
    """Trim and turn full-width digits (typed by IME users) into ASCII."""
    return (value or "").strip().translate(_FULLWIDTH_DIGITS)


def is_valid_business_id(value: str | None) -> bool:
    """統一編號 check by the Ministry of Finance rule in force since 2023-04-01 (÷5), minus the
    numbers that pass it but identify nobody (:func:`is_reserved_business_id`).

    The rule: 8 ASCII digits; multiply by the weights 1 2 1 2 1 2 4 1, replace each product
    by the sum of its digits, add up to S; valid when S % 5 == 0, or, when the 7th digit is 7
    (28 → 10, which counts as 1 or 0), when (S + 1) % 5 == 0. Every number valid under the
    old ÷10 rule stays valid under this one.
    """
    ubn = normalize_business_id(value)
    if not _is_eight_digits(ubn) or is_reserved_business_id(ubn):
        return False
    return _check_digit_ok(ubn)


def _is_eight_digits(ubn: str) -> bool:
    return len(ubn) == 8 and ubn.isascii() and ubn.isdigit()


def is_reserved_business_id(value: str | None) -> bool:
    """Whether ``value`` is 8 digits all the same (``00000000``, ``55555555`` pass the check
    digit): a placeholder typed to get past the form, never a number the Ministry issues.
    Leading zeros alone are fine (``00000074`` is valid)."""
    ubn = normalize_business_id(value)
    return _is_eight_digits(ubn) and len(set(ubn)) == 1


def _check_digit_ok(ubn: str) -> bool:
    total = sum(sum(divmod(int(d) * w, 10)) for d, w in zip(ubn, _UBN_WEIGHTS, strict=True))
    if total % 5 == 0:
        return True
    # A 7th digit of 7 gives 28 → 10, which may count as 1 or 0.
    return ubn[6] == "7" and (total + 1) % 5 == 0


def parse_phone(value: str | None) -> tuple[str, str | None]:
    """Parse a Taiwan phone number; return (E.164, extension or None).

    Raises ``ValueError`` for anything ``phonenumbers`` does not call a valid number.
    """
    text = clean_text(value).translate(_FULLWIDTH_DIGITS)
    text = _EXTENSION_WORDS.sub("#", text)
    try:
        number = phonenumbers.parse(text, "TW")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    if number.extension and (len(number.extension) > 10 or not number.extension.isdigit()):
        raise ValueError("extension too long")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, number.extension or None


def format_phone(e164: str, extension: str | None = None) -> str:
    """Show a stored number the way Taiwan writes it: ``02 2311 2345 #123``."""
    try:
        number = phonenumbers.parse(e164, "TW")
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 886
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    shown = phonenumbers.format_number(number, fmt)
    return f"{shown} #{extension}" if extension else shown


def normalize_email(value: str | None) -> str:
    """Syntax check only (no DNS: portals must work offline); returns the normalised form.

    Raises ``ValueError`` with the library's explanation.
    """
    try:
        result = validate_email(clean_text(value), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return result.normalized


def has_bad_characters(value: str | None) -> bool:
    """Control, surrogate, private-use or unassigned characters (NUL, CR, LF included), and
    the invisible bidi and zero-width controls (:data:`INVISIBLE_CONTROLS`)."""
    return any(
        ch in INVISIBLE_CONTROLS or unicodedata.category(ch) in _BAD_CATEGORIES
        for ch in value or ""
    )


def has_invisible_controls(value: str | None) -> bool:
    """Bidi or zero-width controls (:data:`INVISIBLE_CONTROLS`), which
    :func:`has_bad_characters` refuses too: for a message that names them."""
    return any(ch in INVISIBLE_CONTROLS for ch in value or "")


# What shows nothing on screen, beyond the format characters (Cf) and separators (Z*): the
# Hangul fillers (letters by category), the braille blank, variation selectors and the
# combining grapheme joiner.
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5")
_BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})


def is_blank(value: str | None) -> bool:
    """Whether ``value`` holds no visible character: only spaces (NBSP and the ideographic
    space included), zero-width and other format characters, fillers, or marks with nothing
    to sit on. Such a name looks filled in and identifies nobody."""
    return not any(
        ch not in _BLANK_CHARACTERS
        and not 0xFE00 <= ord(ch) <= 0xFE0F
        and not 0xE0100 <= ord(ch) <= 0xE01EF
        and unicodedata.category(ch) not in _BLANK_CATEGORIES
        for ch in value or ""
    )


def clean_text(value: str | None) -> str:
    """NFC-normalise and trim free text. Rejecting bad characters is the caller's job."""
    return unicodedata.normalize("NFC", value or "").strip()
