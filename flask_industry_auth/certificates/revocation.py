"""Revocation checking, pluggable: a cached CRL checker, an OCSP checker, or both.

A checker is any object with ``check(cert, issuer)`` that returns a :class:`RevocationAnswer`
(what said the certificate is not revoked: the CRL or the OCSP response, with its digest)
and raises :class:`CertificateRefused` (``revoked`` or ``revocation_unknown``) otherwise.
Pass one as ``IndustryAuth(revocation=...)``; the default is built from the
``INDUSTRY_AUTH_CERT_REVOCATION`` settings by :func:`from_config` (a :class:`CRLChecker`).

At national size (MOICA G2's CRL lists ~412,000 certificates, ~20 MB, reissued daily) a
login never waits on a download: :class:`CRLChecker` fetches and parses CRLs in background
threads, keeps the revoked serials as one sorted blob of fixed-width serials (16 bytes per
entry for MOICA's serials: ~6.6 MB for 412,000) and answers a login in a few microseconds
(``python -m benchmarks.crl`` measures it). CAs are told apart by their key identifier, not
their name: MOICA G2 and G3 share one subject name.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import re
import threading
import urllib.request
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from .cms import signature_valid
from .errors import CertificateRefused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RevocationAnswer:
    """What answered "not revoked" for a certificate: evidence for the audit trail.

    ``method`` is ``"crl"`` or ``"ocsp"``; ``source`` the URL asked; ``this_update`` the
    CRL's thisUpdate or the OCSP response's thisUpdate (the time the status was known);
    ``next_update`` its nextUpdate (None when it names none); ``digest`` the SHA-256 (hex) of
    the CRL's or the OCSP response's DER; ``response`` the OCSP response DER (None for a CRL,
    which is too large to keep per login: its digest names it); ``crl_number`` the CRL's
    cRLNumber, if it has one.
    """

    method: str
    source: str
    this_update: datetime
    next_update: datetime | None
    digest: str
    response: bytes | None = None
    crl_number: int | None = None


class RevocationChecker(Protocol):
    """What :func:`~.validation.validate` calls for the signer certificate."""

    def check(self, cert: x509.Certificate, issuer: x509.Certificate) -> RevocationAnswer: ...


# -- key identifiers ---------------------------------------------------------------------------


def key_identifier(cert: x509.Certificate) -> str:
    """The certificate's Subject Key Identifier as lower-case hex (computed from its public
    key, RFC 5280 method 1, when the extension is absent): how a CA is named here, since
    names repeat across generations (MOICA G2 and G3)."""
    try:
        digest = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        digest = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    return digest.hex()


#: What an issuer key identifier looks like: 4 to 64 bytes of hex, with or without colons.
_KEY_ID = re.compile(r"(?:[0-9a-f]{2}){4,64}")


def normalize_key_identifier(key: Any) -> str:
    """``key`` as :func:`key_identifier` spells it (lower case, no colons), or ValueError.

    Accepts ``"A1B2…"``, ``"a1b2…"`` and ``"A1:B2:…"`` (as ``openssl x509 -noout -ext
    subjectKeyIdentifier`` prints it)."""
    text = key.strip().lower().replace(":", "").replace(" ", "") if isinstance(key, str) else ""
    if _KEY_ID.fullmatch(text):
        return text
    raise ValueError(
        f"{key!r} is not an issuer key identifier: CRL urls are keyed by the issuing CA's key "
        "identifier now, not by its name (MOICA G2 and G3 share one name). Use the hex of the "
        "CA certificate's Subject Key Identifier, e.g. 'a1b2c3…' or 'A1:B2:C3:…' (`openssl "
        "x509 -noout -ext subjectKeyIdentifier -in ca.pem` prints it; so does "
        "flask_industry_auth.certificates.revocation.key_identifier(ca_certificate))"
    )


# -- fetching ----------------------------------------------------------------------------------


def _fetch(
    url: str, timeout: float, data: bytes | None = None, content_type: str | None = None
) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise CertificateRefused("revocation_unknown", f"unsupported address {url!r}")
    request = urllib.request.Request(url, data=data)  # noqa: S310 (scheme checked above)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.read(64 * 1024 * 1024)
    except OSError as exc:
        raise CertificateRefused("revocation_unknown", f"{url}: {exc}") from None


def _uris(cert: x509.Certificate, extension_class) -> list[str]:
    try:
        value = cert.extensions.get_extension_for_class(extension_class).value
    except x509.ExtensionNotFound:
        return []
    if extension_class is x509.CRLDistributionPoints:
        found = [
            n.value
            for point in value
            for n in (point.full_name or [])
            if isinstance(n, x509.UniformResourceIdentifier)
        ]
    else:
        found = [
            d.access_location.value
            for d in value
            if d.access_method == AuthorityInformationAccessOID.OCSP
            and isinstance(d.access_location, x509.UniformResourceIdentifier)
        ]
    # Only what can be fetched here: an ldap:// point first must not hide the http:// one.
    return [uri for uri in found if uri.lower().startswith(("http://", "https://"))]


# -- the CRL index -----------------------------------------------------------------------------


class RevokedSerials:
    """The revoked serial numbers of one CRL, compact: one sorted ``bytes`` of fixed-width
    big-endian serials, searched by bisection (log2(412,000) ≈ 19 comparisons).

    16 bytes per entry for 16-byte serials (MOICA's), against ~90 for a ``set`` of ints; one
    immutable object, so worker processes forked after it was loaded share its pages."""

    __slots__ = ("_blob", "_count", "_other", "_width")

    def __init__(self, serials: Iterable[int]) -> None:
        serials = list(serials)
        positive = [s for s in serials if s > 0]
        # RFC 5280 serials are positive; a non-conforming CA's others are kept aside.
        self._other = frozenset(s for s in serials if s <= 0)
        del serials
        positive.sort()
        width = max(1, (positive[-1].bit_length() + 7) // 8) if positive else 1
        blob = bytearray(width * len(positive))
        for i, serial in enumerate(positive):
            blob[i * width : (i + 1) * width] = serial.to_bytes(width, "big")
        self._blob = bytes(blob)
        self._width = width
        self._count = len(positive)

    def __contains__(self, serial: object) -> bool:
        if not isinstance(serial, int):
            return False
        if serial <= 0:
            return serial in self._other
        width = self._width
        if serial.bit_length() > width * 8:
            return False
        key = serial.to_bytes(width, "big")
        blob = self._blob
        low, high = 0, self._count
        while low < high:
            middle = (low + high) // 2
            row = blob[middle * width : middle * width + width]
            if row < key:
                low = middle + 1
            elif row > key:
                high = middle
            else:
                return True
        return False

    def __len__(self) -> int:
        return self._count + len(self._other)

    @property
    def nbytes(self) -> int:
        """Bytes the index keeps (the blob; the few non-conforming serials aside)."""
        return len(self._blob)


def release_freed_memory() -> None:
    """Give the memory a CRL load freed back to the system (glibc's ``malloc_trim``; nothing
    elsewhere). Loading a 20 MB CRL allocates ~40 MB for a moment (the signature check copies
    the CRL, the serials become Python ints before the index); glibc keeps most of that in
    the process (~24 MB for MOICA G2's CRL) unless trimmed, leaving ~the index's size."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim():
    global _TRIM
    if _TRIM is False:
        try:
            _TRIM = ctypes.CDLL(None).malloc_trim
        except (OSError, AttributeError, TypeError):
            _TRIM = None
    return _TRIM


_TRIM: Any = False


@dataclass(frozen=True)
class LoadedCRL:
    """A CRL that was fetched, verified against its issuer's key and indexed."""

    url: str
    key_id: str
    issuer_name: str
    serials: RevokedSerials
    this_update: datetime
    next_update: datetime | None
    digest: str
    crl_number: int | None
    answer: RevocationAnswer = field(repr=False)
    #: The distribution points a partitioned CRL says it covers (its IssuingDistributionPoint);
    #: empty for a complete CRL.
    scope: tuple[str, ...] = ()

    def newer_than(self, other: LoadedCRL) -> bool:
        """Whether this CRL replaces ``other``: another CRL, not an older one (a lagging
        mirror); by cRLNumber when both have one, else by thisUpdate (which counts seconds:
        of two different CRLs of the same second, the one fetched last)."""
        if self.digest == other.digest:
            return False
        if self.crl_number is not None and other.crl_number is not None:
            return self.crl_number > other.crl_number
        return self.this_update >= other.this_update


def _scope(crl: x509.CertificateRevocationList, url: str) -> tuple[str, ...]:
    # A CRL that lists only some certificates (CA certificates, some reasons, another
    # issuer's) says nothing of a card: refused. A partition names what it covers.
    try:
        point = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        return ()
    if (
        point.only_contains_ca_certs
        or point.only_contains_attribute_certs
        or point.indirect_crl
        or point.only_some_reasons
    ):
        raise CertificateRefused(
            "revocation_unknown", f"the CRL from {url} covers only some certificates or reasons"
        )
    return tuple(
        n.value for n in (point.full_name or []) if isinstance(n, x509.UniformResourceIdentifier)
    )


def load_crl(data: bytes, issuer: x509.Certificate, url: str) -> LoadedCRL:
    """Parse a CRL (DER or PEM), check it is ``issuer``'s (name, key identifier when it
    carries one, signature), and index its serials. Raises ``revocation_unknown``."""
    pem = data[:64].lstrip().startswith(b"-----")
    try:
        crl = x509.load_pem_x509_crl(data) if pem else x509.load_der_x509_crl(data)
    except ValueError:
        raise CertificateRefused("revocation_unknown", f"unreadable CRL from {url}") from None
    der = crl.public_bytes(serialization.Encoding.DER) if pem else data
    key_id = key_identifier(issuer)
    who = f"{issuer.subject.rfc4514_string()} (key id {key_id})"
    try:
        aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        aki = None
    if aki is not None and aki.key_identifier is not None and aki.key_identifier.hex() != key_id:
        raise CertificateRefused(
            "revocation_unknown",
            f"the CRL from {url} is of the CA with key id {aki.key_identifier.hex()}, not {who}",
        )
    if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):
        raise CertificateRefused("revocation_unknown", f"the CRL from {url} is not {who}'s")
    try:
        crl.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    except x509.ExtensionNotFound:
        pass
    else:
        raise CertificateRefused("revocation_unknown", f"{url} is a delta CRL, not a full one")
    scope = _scope(crl, url)
    try:
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = None
    serials = RevokedSerials([entry.serial_number for entry in crl])
    digest = hashlib.sha256(der).hexdigest()
    answer = RevocationAnswer(
        method="crl",
        source=url,
        this_update=crl.last_update_utc,
        next_update=crl.next_update_utc,
        digest=digest,
        response=None,
        crl_number=number,
    )
    return LoadedCRL(
        url=url,
        key_id=key_id,
        issuer_name=issuer.subject.rfc4514_string(),
        serials=serials,
        this_update=crl.last_update_utc,
        next_update=crl.next_update_utc,
        digest=digest,
        crl_number=number,
        answer=answer,
        scope=scope,
    )


# -- the CRL checker ---------------------------------------------------------------------------


@dataclass(eq=False)
class _Source:
    """One CRL of one issuer key: what is loaded, and the state of its downloads."""

    url: str
    key_id: str
    issuer: x509.Certificate
    current: LoadedCRL | None = None
    in_flight: bool = False
    #: Set when the running (or last) download ends, loaded or not: a cold login waits on it.
    attempt: threading.Event = field(default_factory=threading.Event)
    #: When the next download is due (None: now).
    due: datetime | None = None
    error: str | None = None
    failures: int = 0
    warned: str | None = None


#: Every CRLChecker alive, to reset in a forked child (gunicorn's workers).
_CHECKERS: weakref.WeakSet[CRLChecker] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for checker in list(_CHECKERS):
        checker._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _schedule(ref: weakref.ref[CRLChecker], wake: threading.Event, poll: float) -> None:
    """The refresh thread of one checker in one process: it starts the downloads that are
    due (it never downloads itself, so one hanging server delays no other CRL) and ends when
    the checker is closed or garbage."""
    while True:
        checker = ref()
        if checker is None or checker._closed or checker._wake is not wake:
            return
        checker._start_due()
        del checker
        wake.wait(poll)
        wake.clear()


class CRLChecker:
    """Check the issuer's CRL, fetched and parsed in the background and kept in memory.

    The CRL is the one at ``urls[issuer key id]``, else the first HTTP address in the
    certificate's CRL Distribution Points. Each (URL, issuer key) has its own cache; a CRL is
    used only if its issuer name, its Authority Key Identifier (when it carries one) and its
    signature are the issuer's.

    - **Logins never wait on a download.** Once a CRL is loaded, a check is a lookup in its
      index (microseconds at 412,000 entries); the refresh runs in a background thread,
      started at ``refresh_at`` of the CRL's validity (thisUpdate → nextUpdate) or
      ``refresh_every`` after the download, whichever comes first, while logins keep using
      the CRL they have. Only a cold cache (this CRL never loaded in this process) makes a
      login wait, ``first_wait`` seconds at most, on an event: no lock is held across a
      download. Threads are started lazily in each process (a gunicorn worker forked from a
      master that loaded the CRL shares its index and starts its own thread).
    - **After nextUpdate** without a fresher CRL (the CRL server unreachable, the mirror
      stale), the last CRL is still used for ``grace`` (a warning is logged); after that every
      check of that issuer's cards is refused ``revocation_unknown``, saying when the CRL
      expired.
    - Failed downloads are retried with back-off (``retry``, doubling, at most 10 minutes).

    :param urls: optional ``{issuer key identifier: CRL URL}`` overriding the certificates
        (a local mirror, say). Keys are the hex of the issuing CA certificate's Subject Key
        Identifier (see :func:`key_identifier`; upper or lower case, colons allowed); a key
        that is not one (an issuer name, as before) raises ``ValueError``.
    :param issuers: the issuing CA certificates (or a callable returning them, called at first
        use): the configured ``urls`` of these are prefetched at first use (or
        :meth:`prefetch`), before a card of theirs logs in.
    :param timeout: seconds of socket inactivity before a download gives up.
    :param fetch: ``fetch(url, timeout) -> bytes`` replacing the HTTP download (a mirror on
        disk, a proxy); it raises ``OSError`` when the CRL cannot be had.
    :param grace: how long past its nextUpdate a CRL is still used when no fresh one can be
        fetched (default 24 hours: a day's outage of the CA's server does not stop logins,
        and a revocation is seen at most a day late).
    :param first_wait: seconds a login waits for a CRL never loaded in this process.
    :param refresh_at: fraction of a CRL's validity at which its refresh starts.
    :param refresh_every: the longest a CRL is kept before looking for a newer one (CAs that
        reissue daily with a longer nextUpdate).
    :param retry: the first delay before a failed download is tried again.
    :param poll: seconds between the refresh thread's looks at what is due.
    """

    def __init__(
        self,
        urls: dict[str, str] | None = None,
        timeout: float = 30,
        fetch: Callable[[str, float], bytes] | None = None,
        *,
        issuers: Iterable[x509.Certificate] | Callable[[], Iterable[x509.Certificate]] = (),
        grace: timedelta = timedelta(hours=24),
        first_wait: float = 10,
        refresh_at: float = 0.5,
        refresh_every: timedelta = timedelta(hours=6),
        retry: timedelta = timedelta(seconds=15),
        poll: float = 60,
    ) -> None:
        self.urls = {normalize_key_identifier(key): url for key, url in (urls or {}).items()}
        self.timeout = timeout
        self.fetch = fetch
        self.grace = grace
        self.first_wait = first_wait
        self.refresh_at = refresh_at
        self.refresh_every = refresh_every
        self.retry = retry
        self.poll = poll
        self._issuers = issuers
        self._issuers_read = False
        self._sources: dict[tuple[str, str], _Source] = {}
        self._lock = threading.Lock()  # short: never held across a download
        self._idle = threading.Condition(self._lock)
        self._pid: int | None = None
        self._wake: threading.Event | None = None
        self._closed = False
        _CHECKERS.add(self)

    # -- the login path ------------------------------------------------------------------------
    def check(self, cert: x509.Certificate, issuer: x509.Certificate) -> RevocationAnswer:
        """Not revoked: the answer of the CRL; else raise ``revoked`` or ``revocation_unknown``."""
        key_id = key_identifier(issuer)
        url = self.urls.get(key_id) or next(iter(_uris(cert, x509.CRLDistributionPoints)), None)
        if url is None:
            raise CertificateRefused("revocation_unknown", "the certificate names no CRL")
        self._ensure_thread()
        source = self._source(url, key_id, issuer)
        crl = source.current
        now = datetime.now(UTC)
        if crl is None:
            crl = self._wait_cold(source, now)
        elif source.due is None or now >= source.due:
            self._start(source, now)  # in the background; this login goes on with ``crl``
        if crl.next_update is not None and crl.next_update <= now:
            self._expired(source, crl, now)
        if crl.scope and not set(crl.scope) & set(_uris(cert, x509.CRLDistributionPoints)):
            raise CertificateRefused(
                "revocation_unknown", f"the CRL from {url} is a partition that does not cover it"
            )
        if cert.serial_number in crl.serials:
            raise CertificateRefused("revoked")
        return crl.answer

    def _wait_cold(self, source: _Source, now: datetime) -> LoadedCRL:
        self._start(source, now)
        with self._lock:
            attempt, in_flight = source.attempt, source.in_flight
        if in_flight:
            attempt.wait(self.first_wait)
        crl = source.current
        if crl is None:
            who = f"{source.issuer.subject.rfc4514_string()} (key id {source.key_id})"
            if source.in_flight:
                detail = (
                    f"the CRL of {who} is still being downloaded from {source.url} "
                    f"(waited {self.first_wait:g} s)"
                )
            else:
                detail = f"the CRL of {who} could not be fetched: {source.error or 'closed'}"
            raise CertificateRefused("revocation_unknown", detail)
        return crl

    def _expired(self, source: _Source, crl: LoadedCRL, now: datetime) -> None:
        assert crl.next_update is not None
        who = f"{crl.issuer_name} (key id {crl.key_id})"
        until = crl.next_update + self.grace
        if now < until:
            if source.warned != crl.digest:
                source.warned = crl.digest
                log.warning(
                    "flask_industry_auth: the CRL of %s expired at %s and no fresh one could be "
                    "fetched from %s (%s); still used for the grace period, until %s",
                    who,
                    crl.next_update.isoformat(),
                    source.url,
                    source.error or "a refresh is under way",
                    until.isoformat(),
                )
            return
        raise CertificateRefused(
            "revocation_unknown",
            f"the CRL of {who} expired at {crl.next_update:%Y-%m-%d %H:%M:%S} UTC, no fresh one "
            f"could be fetched from {source.url} within the grace period of "
            f"{self.grace.total_seconds() / 3600:g} h "
            f"({source.error or 'no answer yet'})",
        )

    # -- sources and downloads -----------------------------------------------------------------
    def _source(self, url: str, key_id: str, issuer: x509.Certificate) -> _Source:
        found = self._sources.get((url, key_id))
        if found is not None:
            return found
        with self._lock:
            return self._sources.setdefault((url, key_id), _Source(url, key_id, issuer))

    def _start(self, source: _Source, now: datetime, *, force: bool = False) -> bool:
        """Start a download of ``source`` in a thread unless one runs (or, without ``force``,
        its retry is not due). Never waits for it."""
        with self._lock:
            if source.in_flight or self._closed:
                return False
            if not force and source.due is not None and now < source.due:
                return False
            source.in_flight = True
            source.attempt = attempt = threading.Event()
        thread = threading.Thread(
            target=self._download,
            args=(source, attempt),
            name=f"flask_industry_auth CRL {source.url}",
            daemon=True,
        )
        thread.start()
        return True

    def _download(self, source: _Source, attempt: threading.Event) -> None:
        loaded = None
        try:
            loaded = self._fetch_and_load(source)
            error = None
        except CertificateRefused as refused:
            error = refused.detail or refused.reason
        except Exception as exc:  # a bug or a broken fetch: logged, retried, never fatal
            log.exception("flask_industry_auth: downloading the CRL %s failed", source.url)
            error = f"{type(exc).__name__}: {exc}"
        release_freed_memory()
        now = datetime.now(UTC)
        with self._lock:
            current = source.current
            if loaded is not None and (current is None or loaded.newer_than(current)):
                source.current = loaded
                log.info(
                    "flask_industry_auth: CRL %s loaded (%d entries, next update %s)",
                    source.url,
                    len(loaded.serials),
                    loaded.next_update,
                )
            if loaded is not None and not _expired_at(loaded, now):
                source.error, source.failures = None, 0
                if source.current is loaded:
                    source.due = self._refresh_time(loaded, now)
                else:  # the same CRL (or an older one, a lagging mirror): look again later
                    assert current is not None
                    source.due = self._unchanged_time(current, now)
            else:
                if loaded is not None:  # a stale mirror: back off as for a failure
                    error = f"{source.url} serves a CRL that expired at {loaded.next_update}"
                source.error = error
                source.failures += 1
                delay = min(self.retry * 2 ** (source.failures - 1), timedelta(minutes=10))
                source.due = now + delay
                log.warning(
                    "flask_industry_auth: CRL %s not refreshed (%s); trying again in %s",
                    source.url,
                    error,
                    delay,
                )
            source.in_flight = False
            attempt.set()
            self._idle.notify_all()

    def _fetch_and_load(self, source: _Source) -> LoadedCRL:
        if self.fetch is None:
            data = _fetch(source.url, self.timeout)
        else:
            try:
                data = self.fetch(source.url, self.timeout)
            except OSError as exc:
                raise CertificateRefused("revocation_unknown", f"{source.url}: {exc}") from None
        return load_crl(data, source.issuer, source.url)

    def _refresh_time(self, crl: LoadedCRL, now: datetime) -> datetime:
        if crl.next_update is None:
            return now + self.refresh_every
        point = crl.this_update + (crl.next_update - crl.this_update) * self.refresh_at
        return max(now + self.retry, min(point, now + self.refresh_every))

    def _unchanged_time(self, crl: LoadedCRL, now: datetime) -> datetime:
        # Closer and closer to the nextUpdate, where the CA must have issued a new one.
        left = (crl.next_update - now) / 2 if crl.next_update else self.refresh_every
        return now + max(self.retry, min(left, self.refresh_every))

    def _start_due(self) -> None:
        self._read_issuers()
        now = datetime.now(UTC)
        with self._lock:
            sources = list(self._sources.values())
        for source in sources:
            if source.due is None or now >= source.due:
                self._start(source, now)

    def _read_issuers(self) -> None:
        if self._issuers_read:
            return
        self._issuers_read = True
        try:
            issuers = self._issuers() if callable(self._issuers) else self._issuers
            for issuer in issuers or ():
                key_id = key_identifier(issuer)
                if key_id in self.urls:
                    self._source(self.urls[key_id], key_id, issuer)
        except Exception:  # prefetching is an optimisation: a login still loads its CRL
            log.exception("flask_industry_auth: reading the issuers to prefetch CRLs failed")

    # -- the thread, per process ----------------------------------------------------------------
    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid == pid or self._closed:
                return
            self._pid = pid
            self._wake = wake = threading.Event()
        threading.Thread(
            target=_schedule,
            args=(weakref.ref(self), wake, self.poll),
            name="flask_industry_auth CRL refresh",
            daemon=True,
        ).start()
        weakref.finalize(self, wake.set)

    def _after_fork(self) -> None:
        # In a forked child only this thread runs: locks may be held by threads that are gone.
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pid = None
        self._wake = None
        for source in self._sources.values():
            source.in_flight = False
            source.attempt = threading.Event()
            if source.current is None:
                source.due = None

    # -- for operators and tests -----------------------------------------------------------------
    def prefetch(self, wait: float | None = None) -> bool:
        """Start downloading every CRL not loaded yet (the configured ``urls`` of the known
        ``issuers`` included); with ``wait``, wait up to that many seconds for them. Returns
        whether every known CRL is loaded. Call it in the app factory (or gunicorn's
        ``post_fork``) to have the CRLs before the first login."""
        self._ensure_thread()
        self._read_issuers()
        now = datetime.now(UTC)
        with self._lock:
            sources = list(self._sources.values())
        for source in sources:
            if source.current is None:
                self._start(source, now, force=True)
        if wait is not None:
            self._wait_idle(wait)
        return all(source.current is not None for source in sources)

    def refresh(self, *, force: bool = True, wait: float | None = None) -> bool:
        """Start a download of every known CRL now (``force=False``: only of those due), and
        with ``wait`` wait up to that many seconds for the downloads under way to end. Returns
        whether none is still under way. Logins meanwhile use the CRLs they have."""
        self._ensure_thread()
        self._read_issuers()
        now = datetime.now(UTC)
        with self._lock:
            sources = list(self._sources.values())
        for source in sources:
            self._start(source, now, force=force)
        if wait is None:
            return not any(source.in_flight for source in sources)
        return self._wait_idle(wait)

    def _wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(
                lambda: not any(s.in_flight for s in self._sources.values()), timeout
            )

    def status(self) -> list[dict[str, Any]]:
        """Per CRL: URL, issuer key id, entries, thisUpdate, nextUpdate, next download, last
        error (for a health page or a log)."""
        with self._lock:
            sources = list(self._sources.values())
        return [
            {
                "url": s.url,
                "key_id": s.key_id,
                "entries": len(s.current.serials) if s.current else None,
                "this_update": s.current.this_update if s.current else None,
                "next_update": s.current.next_update if s.current else None,
                "due": s.due,
                "downloading": s.in_flight,
                "error": s.error,
            }
            for s in sources
        ]

    def close(self) -> None:
        """Stop the refresh thread (downloads under way end on their own)."""
        self._closed = True
        if self._wake is not None:
            self._wake.set()


def _expired_at(crl: LoadedCRL, now: datetime) -> bool:
    return crl.next_update is not None and crl.next_update <= now


# -- OCSP --------------------------------------------------------------------------------------


class OCSPChecker:
    """Ask the OCSP responder in the certificate's Authority Information Access.

    The request carries a random nonce (RFC 8954, 32 bytes); a response that echoes a nonce
    must echo ours. The response must be signed by the issuer or by a responder certificate
    the issuer delegated (``id-kp-OCSPSigning``), answer for this certificate of this issuer,
    say GOOD, and be fresh: a thisUpdate (or producedAt) older than ``max_age`` is refused as
    stale, as is one past its nextUpdate.

    :param max_age: the oldest reply accepted (default 1 hour). A reply without our nonce may
        be a replayed or cached one, and it would hide a revocation for as long as it is
        accepted; an hour bounds that well inside the CRL's daily cycle while still accepting
        responders that pre-sign their replies (RFC 5019) for a while.
    :param require_nonce: refuse a reply that does not echo the nonce. Off by default: many
        responders (those that pre-sign, and CDN-cached ones) do not echo it; ``max_age``
        then bounds a replay.
    """

    def __init__(
        self,
        timeout: float = 10,
        max_age: timedelta = timedelta(hours=1),
        *,
        require_nonce: bool = False,
    ) -> None:
        self.timeout = timeout
        self.max_age = max_age
        self.require_nonce = require_nonce

    def check(self, cert: x509.Certificate, issuer: x509.Certificate) -> RevocationAnswer:
        url = next(iter(_uris(cert, x509.AuthorityInformationAccess)), None)
        if url is None:
            raise CertificateRefused("revocation_unknown", "the certificate names no OCSP")
        nonce = os.urandom(32)
        # SHA-1 only names the certificate in the CertID (RFC 6960), as responders expect.
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303
            .add_extension(x509.OCSPNonce(nonce), critical=False)
            .build()
        )
        data = _fetch(
            url,
            self.timeout,
            request.public_bytes(serialization.Encoding.DER),
            "application/ocsp-request",
        )
        try:
            response = ocsp.load_der_ocsp_response(data)
        except ValueError:
            raise CertificateRefused("revocation_unknown", "unreadable OCSP response") from None
        if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            raise CertificateRefused("revocation_unknown", response.response_status.name)
        try:
            return self._answer(response, cert, issuer, request, nonce, url, data)
        except ValueError:  # cryptography's accessors refuse a reply of several responses
            raise CertificateRefused("revocation_unknown", "unusable OCSP reply") from None

    def _answer(self, response, cert, issuer, request, nonce, url, data) -> RevocationAnswer:
        if (
            response.serial_number != cert.serial_number
            or response.issuer_key_hash != request.issuer_key_hash
            or response.issuer_name_hash != request.issuer_name_hash
        ):
            raise CertificateRefused("revocation_unknown", "OCSP answered another certificate")
        signer = self._responder(response, issuer)
        if not signature_valid(
            signer.public_key(),
            response.signature,
            response.tbs_response_bytes,
            response.signature_hash_algorithm,
        ):
            raise CertificateRefused("revocation_unknown", "bad OCSP signature")
        try:
            echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            echoed = None
        if echoed is None and self.require_nonce:
            raise CertificateRefused("revocation_unknown", "the OCSP reply has no nonce")
        if echoed is not None and echoed != nonce:
            raise CertificateRefused(
                "revocation_unknown", "the OCSP reply's nonce is not ours (a replayed reply?)"
            )
        self._fresh(response)
        if response.certificate_status == ocsp.OCSPCertStatus.REVOKED:
            raise CertificateRefused("revoked")
        if response.certificate_status != ocsp.OCSPCertStatus.GOOD:
            raise CertificateRefused("revocation_unknown", "OCSP status unknown")
        return RevocationAnswer(
            method="ocsp",
            source=url,
            this_update=response.this_update_utc,
            next_update=response.next_update_utc,
            digest=hashlib.sha256(data).hexdigest(),
            response=data,
        )

    def _fresh(self, response) -> None:
        now = datetime.now(UTC)
        this_update, produced_at = response.this_update_utc, response.produced_at_utc
        if this_update > now + timedelta(minutes=5) or produced_at > now + timedelta(minutes=5):
            raise CertificateRefused("revocation_unknown", "OCSP reply from the future")
        oldest = min(this_update, produced_at)
        if now - oldest > self.max_age:
            raise CertificateRefused(
                "revocation_unknown",
                f"stale OCSP reply: of {oldest:%Y-%m-%d %H:%M:%S} UTC, older than {self.max_age}",
            )
        if response.next_update_utc is not None and response.next_update_utc < now:
            raise CertificateRefused("revocation_unknown", "stale OCSP reply: past its nextUpdate")

    @staticmethod
    def _responder(response, issuer: x509.Certificate) -> x509.Certificate:
        if response.responder_name == issuer.subject:
            return issuer
        if response.responder_key_hash is not None:
            issuer_hash = x509.SubjectKeyIdentifier.from_public_key(issuer.public_key()).digest
            if response.responder_key_hash == issuer_hash:
                return issuer
        for delegate in response.certificates:
            try:
                usages = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            except x509.ExtensionNotFound:
                continue
            now = datetime.now(UTC)
            if not delegate.not_valid_before_utc <= now <= delegate.not_valid_after_utc:
                continue  # an expired (or not yet valid) responder certificate
            if ExtendedKeyUsageOID.OCSP_SIGNING in usages and delegate.issuer == issuer.subject:
                try:
                    delegate.verify_directly_issued_by(issuer)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                return delegate
        raise CertificateRefused("revocation_unknown", "OCSP responder not authorised")


class OCSPThenCRL:
    """OCSP first; when the responder cannot answer (``revocation_unknown``: unreachable,
    stale, a wrong nonce), the cached CRL. Never when OCSP says revoked."""

    def __init__(
        self, ocsp_checker: OCSPChecker | None = None, crl_checker: CRLChecker | None = None
    ) -> None:
        self.ocsp = ocsp_checker or OCSPChecker()
        self.crl = crl_checker or CRLChecker()

    def check(self, cert: x509.Certificate, issuer: x509.Certificate) -> RevocationAnswer:
        try:
            return self.ocsp.check(cert, issuer)
        except CertificateRefused as refused:
            if refused.reason != "revocation_unknown":
                raise
            log.info("flask_industry_auth: OCSP could not answer (%s); asking the CRL", refused)
            return self.crl.check(cert, issuer)


def from_config(config, issuers=()) -> RevocationChecker:
    """The checker the ``INDUSTRY_AUTH_CERT_REVOCATION`` settings describe: ``"crl"`` (a
    :class:`CRLChecker`), ``"ocsp"`` or ``"ocsp+crl"`` (:class:`OCSPThenCRL`). ``issuers``
    (or a callable returning them) lets the CRL checker prefetch the configured URLs."""
    mode = config.get("INDUSTRY_AUTH_CERT_REVOCATION", "crl")
    max_age = timedelta(seconds=config.get("INDUSTRY_AUTH_CERT_OCSP_MAX_AGE_SECONDS", 3600))
    if mode == "ocsp":
        return OCSPChecker(max_age=max_age)
    crl_checker = CRLChecker(
        config.get("INDUSTRY_AUTH_CERT_CRL_URLS") or None,
        issuers=issuers,
        grace=timedelta(hours=config.get("INDUSTRY_AUTH_CERT_CRL_GRACE_HOURS", 24)),
    )
    if mode == "ocsp+crl":
        return OCSPThenCRL(OCSPChecker(max_age=max_age), crl_checker)
    return crl_checker


__all__ = [
    "CRLChecker",
    "LoadedCRL",
    "OCSPChecker",
    "OCSPThenCRL",
    "RevocationAnswer",
    "RevocationChecker",
    "RevokedSerials",
    "from_config",
    "key_identifier",
    "load_crl",
    "normalize_key_identifier",
    "release_freed_memory",
]
