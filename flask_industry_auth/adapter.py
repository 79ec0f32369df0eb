"""The one class a host subclasses to change policy.

Pass an instance to ``IndustryAuth(adapter=...)``. Keep it small: deployment values belong in
``INDUSTRY_AUTH_*`` config; this is for decisions that need code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from . import passwords

if TYPE_CHECKING:
    from .models import AccountMixin


class AccountAdapter:
    """Default policy. Override any method in a subclass."""

    #: Length of generated account ids (5 bits a symbol: 8 → 2^40 ids).
    account_id_length = 8
    #: What applicants are told, by refusal code (see :data:`~.messages.MESSAGES`): a
    #: message id of the portal's catalogs, a lazy string or ``{"zh_Hant_TW": …, "en": …}``
    #: per code the portal words its own way.
    messages: ClassVar[dict[str, Any]] = {}

    def generate_account_id(self) -> str:
        """A new 電子身分帳號: short, readable, no ambiguous characters (no 0/O, 1/I/L).

        Uniqueness is checked by the caller, which asks again on a collision.
        """
        return passwords.random_readable(self.account_id_length)

    def generate_temporary_password(self) -> str:
        """A system-issued password for the activation and forgot-password mails."""
        return passwords.temporary_password()

    def password_identifiers(self, account: AccountMixin) -> tuple[str, ...]:
        """Words a password of ``account`` may not contain (ASVS 6.2.11)."""
        local_part = (account.email or "").split("@")[0]
        return (
            account.business_id,
            account.account_id,
            account.business_name,
            account.responsible_person,
            account.contact_person,
            local_part,
        )

    def is_safe_redirect(self, target: str | None) -> bool:
        """Only same-origin paths: ``/x`` but not ``//evil``, ``/\\evil`` or ``https://…``."""
        if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
            return False
        if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
            return False
        parts = urlsplit(target)
        return not parts.scheme and not parts.netloc
