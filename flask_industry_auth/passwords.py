"""Password hashing (argon2id), the password policy, and the secrets the system issues.

Temporary passwords, account ids and tokens come from ``secrets``; only their hashes are kept.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: Readable and unambiguous: no 0/O, 1/I/L. 32 symbols = 5 bits each.
READABLE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class Hasher:
    """argon2id with the app's parameters; counts its computations (for enumeration tests)."""

    def __init__(self, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self._ph = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        self._dummy = self._ph.hash(secrets.token_urlsafe(16))
        #: How many hash or verify computations ran; tests compare paths by this.
        self.computations = 0

    def hash(self, password: str) -> str:
        self.computations += 1
        return self._ph.hash(_prepare(password))

    def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored``. Runs a dummy verify when there is no
        hash, so an unknown account costs the same as a wrong password."""
        self.computations += 1
        try:
            return self._ph.verify(stored or self._dummy, _prepare(password)) and bool(stored)
        except (VerificationError, InvalidHashError):
            return False

    def dummy_verify(self) -> None:
        """Spend one verification on nothing (keeps unknown-account paths timing-equal)."""
        self.verify(None, "")

    def needs_rehash(self, stored: str) -> bool:
        return self._ph.check_needs_rehash(stored)


def _prepare(password: str) -> str:
    # NFC so that the same passphrase typed on different systems (NFC vs NFD) matches.
    return unicodedata.normalize("NFC", password)


def password_length(password: str) -> int:
    """Length in Unicode code points after NFC, the unit of the policy."""
    return len(_prepare(password))


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case)."""
    data = resources.files(__package__).joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


@dataclass(frozen=True)
class PolicyContext:
    """What the policy needs to know about the account."""

    identifiers: tuple[str, ...]
    history: tuple[str, ...]  # previous hashes, newest first, the current one included


def policy_problems(
    password: str, ctx: PolicyContext, *, hasher: Hasher, min_length: int, max_length: int
) -> list[str]:
    """Codes of every rule ``password`` breaks: ``too_short``, ``too_long``, ``common``,
    ``contains_identifier``, ``reused``. No composition rules (ASVS 6.2.5)."""
    problems = []
    length = password_length(password)
    if length < min_length:
        problems.append("too_short")
    if length > max_length:
        problems.append("too_long")
        return problems  # don't spend hashes on a value we refuse anyway
    lowered = _prepare(password).casefold()
    if lowered in common_passwords() or lowered.strip("0123456789!@#$%^&*.") in common_passwords():
        problems.append("common")
    if any(len(i) >= 4 and i.casefold() in lowered for i in ctx.identifiers if i):
        problems.append("contains_identifier")
    if not problems and any(hasher.verify(old, password) for old in ctx.history):
        problems.append("reused")
    return problems


def random_readable(length: int) -> str:
    """``length`` symbols from :data:`READABLE_ALPHABET`."""
    return "".join(secrets.choice(READABLE_ALPHABET) for _ in range(length))


def temporary_password() -> str:
    """A typeable password of 140 bits: seven groups of four, e.g. ``K7QX-...``."""
    raw = random_readable(28)
    return "-".join(raw[i : i + 4] for i in range(0, 28, 4))


def new_token() -> str:
    """A URL-safe token of 256 bits."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy token. A slow hash is unnecessary: tokens are not guessable."""
    return hashlib.sha256(token.encode()).hexdigest()
