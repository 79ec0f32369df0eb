"""Revocation at national size (issue 14): a synthetic signed CRL as large as MOICA's.

    .venv/bin/python -m benchmarks.crl                    # 412,000 and 103,000 entries
    .venv/bin/python -m benchmarks.crl --entries 412000 --lookups 200000

MOICA G2's full CRL lists about 412,000 certificates (~20 MB), G3's about 103,000 (~5 MB).
This builds CRLs of those sizes, DER-encoded by hand (cryptography's builder copies its list
at every entry) and signed by a test CA's key, with 16-byte serials, a revocation date and a
reason code per entry as MOICA's carry; then loads each through the package's own
:func:`~flask_industry_auth.certificates.revocation.load_crl` (parse, signature, index) and
measures what a login pays: the check of one serial against the loaded CRL, as
:class:`~flask_industry_auth.certificates.revocation.CRLChecker` does it, for revoked and for
not revoked serials. It prints the size, the build time, the load time, the per-check cost
(median and p99, in µs), the memory the index keeps (tracemalloc) and the process's RSS
growth. Not part of the test suite: speed is checked here, not by a timed test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402

from flask_industry_auth.certificates.errors import CertificateRefused  # noqa: E402
from flask_industry_auth.certificates.revocation import (  # noqa: E402
    CRLChecker,
    key_identifier,
    load_crl,
    release_freed_memory,
)
from flask_industry_auth.testing import TestPKI  # noqa: E402

SIZES = (412_000, 103_000)

# -- DER, by hand ------------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def _integer(n: int) -> bytes:
    return _tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def _time(moment: dt.datetime) -> bytes:
    return _tlv(0x17, moment.astimezone(dt.UTC).strftime("%y%m%d%H%M%SZ").encode())


def _extension(oid: bytes, value: bytes) -> bytes:
    return _tlv(0x30, oid + _tlv(0x04, value))


_OID_AKI = bytes.fromhex("0603551d23")
_OID_CRL_NUMBER = bytes.fromhex("0603551d14")
_OID_REASON = bytes.fromhex("0603551d15")
_ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
_RSA_SHA256 = bytes.fromhex("300d06092a864886f70d01010b0500")


def synthetic_crl(
    key,
    issuer: x509.Name,
    serials,
    *,
    this_update: dt.datetime | None = None,
    next_update: dt.datetime | None = None,
    crl_number: int = 1,
) -> bytes:
    """A CRL (DER) of ``issuer``, signed with ``key`` (EC or RSA), revoking ``serials``.

    Each entry carries a revocation date (spread over the past year) and a reason code
    (keyCompromise .. cessationOfOperation), like MOICA's; the CRL carries an Authority Key
    Identifier and a CRL number."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    this_update = this_update or now - dt.timedelta(minutes=5)
    next_update = next_update or now + dt.timedelta(hours=24)
    dates = [_time(now - dt.timedelta(days=d, hours=d % 24)) for d in range(1, 366)]
    reasons = [_tlv(0x30, _extension(_OID_REASON, bytes([0x0A, 0x01, r]))) for r in (1, 3, 4, 5)]
    entries = b"".join(
        _tlv(0x30, _integer(serial) + dates[i % 365] + reasons[i % 4])
        for i, serial in enumerate(serials)
    )
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()).public_bytes()
    extensions = _tlv(
        0xA0,
        _tlv(
            0x30,
            _extension(_OID_AKI, aki)
            + _extension(_OID_CRL_NUMBER, x509.CRLNumber(crl_number).public_bytes()),
        ),
    )
    rsa_key = isinstance(key, rsa.RSAPrivateKey)
    algorithm = _RSA_SHA256 if rsa_key else _ECDSA_SHA256
    tbs = _tlv(
        0x30,
        _integer(1)
        + algorithm
        + issuer.public_bytes()
        + _time(this_update)
        + _time(next_update)
        + (_tlv(0x30, entries) if entries else b"")
        + extensions,
    )
    if rsa_key:
        signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return _tlv(0x30, tbs + algorithm + _tlv(0x03, b"\x00" + signature))


def random_serials(count: int, size: int = 16, seed: int = 14) -> list[int]:
    """``count`` distinct positive serials of ``size`` bytes (as MOICA's 16-byte serials)."""
    generator = random.Random(seed)  # noqa: S311 (reproducible test data, no secret)
    found: set[int] = set()
    while len(found) < count:
        found.add(generator.getrandbits(size * 8) or 1)
    return list(found)


# -- measuring ---------------------------------------------------------------------------------


def _rss_kib(field: str = "VmRSS") -> int:
    """This process's resident memory (``VmHWM``: its peak), KiB; Linux."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _rss_growth(der: bytes, issuer: x509.Certificate) -> tuple[int, int]:
    """KiB of RSS a fresh process keeps after downloading and loading the CRL (the DER
    dropped, as the checker drops it), and its peak growth while loading; measured in a child
    process so that this one's freed memory hides nothing."""
    with tempfile.TemporaryDirectory() as folder:
        crl_path, issuer_path = Path(folder, "crl.der"), Path(folder, "issuer.pem")
        crl_path.write_bytes(der)
        issuer_path.write_bytes(issuer.public_bytes(serialization.Encoding.PEM))
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.crl",
                "--rss-child",
                str(crl_path),
                str(issuer_path),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    kept, peak = done.stdout.split()[-2:]
    return int(kept), int(peak)


def _rss_child(crl_path: str, issuer_path: str) -> None:
    issuer = x509.load_pem_x509_certificate(Path(issuer_path).read_bytes())
    gc.collect()
    before = _rss_kib()
    der = Path(crl_path).read_bytes()
    loaded = load_crl(der, issuer, "http://bench.invalid/crl")
    del der
    gc.collect()
    release_freed_memory()  # as CRLChecker does after each load
    assert len(loaded.serials)
    print(_rss_kib() - before, _rss_kib("VmHWM") - before)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(entries: int, lookups: int = 100_000, out=print) -> dict[str, float]:
    """Build, load and probe a CRL of ``entries`` serials; print and return the figures."""
    pki = TestPKI()
    authority = pki.moica
    serials = random_serials(entries)

    started = time.perf_counter()
    der = synthetic_crl(authority.key, authority.certificate.subject, serials)
    build_s = time.perf_counter() - started

    url = "http://bench.invalid/moica.crl"
    started = time.perf_counter()
    loaded = load_crl(der, authority.certificate, url)
    load_s = time.perf_counter() - started
    rss_kept_kib, rss_peak_kib = _rss_growth(der, authority.certificate)
    index_bytes = loaded.serials.nbytes
    # Memory, traced apart (tracemalloc slows the load several times over).
    tracemalloc.start()
    traced = load_crl(der, authority.certificate, url)
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del traced

    generator = random.Random(4)  # noqa: S311 (reproducible probes)
    probe_revoked = [generator.choice(serials) for _ in range(lookups)]
    probe_good = [generator.getrandbits(128) for _ in range(lookups)]
    timings: dict[str, list[float]] = {"revoked": [], "not revoked": []}
    found = 0
    for kind, probes in (("revoked", probe_revoked), ("not revoked", probe_good)):
        clock = time.perf_counter_ns
        bucket = timings[kind]
        for serial in probes:
            t0 = clock()
            hit = serial in loaded.serials
            bucket.append((clock() - t0) / 1000)
            found += hit
    assert found == lookups, f"{found} of {lookups} revoked serials found"
    # The whole check (issuer key id, source, expiry, lookup, answer) as a login runs it, on
    # a warm cache, for cards with 16-byte serials: one not revoked, one revoked.
    checker = CRLChecker({key_identifier(authority.certificate): url}, fetch=lambda *_: der)
    checker.refresh(wait=120)
    issuer = authority.certificate
    good = _card(authority, generator.getrandbits(128) | 1 << 127)
    revoked = _card(authority, serials[0])
    check_us = []
    refused_us = []
    for _ in range(min(lookups, 20_000)):
        t0 = time.perf_counter_ns()
        checker.check(good, issuer)
        t1 = time.perf_counter_ns()
        try:
            checker.check(revoked, issuer)
        except CertificateRefused:
            pass
        else:
            raise AssertionError("the revoked card passed")
        t2 = time.perf_counter_ns()
        check_us.append((t1 - t0) / 1000)
        refused_us.append((t2 - t1) / 1000)
    checker.close()
    # Before issue 14: the parsed CRL kept, each login scanning it (cryptography's lookup).
    crl = x509.load_der_x509_crl(der)
    before_us = []
    for serial in probe_good[:20]:
        t0 = time.perf_counter_ns()
        crl.get_revoked_certificate_by_serial_number(serial)
        before_us.append((time.perf_counter_ns() - t0) / 1000)
    del crl

    figures = {
        "entries": entries,
        "size_mb": len(der) / 1e6,
        "build_s": build_s,
        "load_s": load_s,
        "revoked_p50_us": statistics.median(timings["revoked"]),
        "revoked_p99_us": _percentile(timings["revoked"], 0.99),
        "good_p50_us": statistics.median(timings["not revoked"]),
        "good_p99_us": _percentile(timings["not revoked"], 0.99),
        "check_p50_us": statistics.median(check_us),
        "check_p99_us": _percentile(check_us, 0.99),
        "refused_p50_us": statistics.median(refused_us),
        "refused_p99_us": _percentile(refused_us, 0.99),
        "before_p50_us": statistics.median(before_us),
        "index_mb": index_bytes / 1e6,
        "kept_mb": kept / 1e6,
        "load_peak_mb": peak / 1e6,
        "rss_kept_mb": rss_kept_kib / 1024,
        "rss_peak_mb": rss_peak_kib / 1024,
    }
    out(
        f"{entries:,} entries: CRL {figures['size_mb']:.1f} MB, built in {build_s:.2f} s, "
        f"parsed + verified + indexed in {load_s:.2f} s\n"
        f"  lookup, revoked serial:     median {figures['revoked_p50_us']:.2f} µs, "
        f"p99 {figures['revoked_p99_us']:.2f} µs\n"
        f"  lookup, not revoked serial: median {figures['good_p50_us']:.2f} µs, "
        f"p99 {figures['good_p99_us']:.2f} µs\n"
        f"  CRLChecker.check, good card:    median {figures['check_p50_us']:.2f} µs, "
        f"p99 {figures['check_p99_us']:.2f} µs\n"
        f"  CRLChecker.check, revoked card: median {figures['refused_p50_us']:.2f} µs, "
        f"p99 {figures['refused_p99_us']:.2f} µs (refused)\n"
        f"  before (a scan of the parsed CRL per login): median "
        f"{figures['before_p50_us'] / 1000:.1f} ms\n"
        f"  index: {figures['index_mb']:.1f} MB ({index_bytes / entries:.0f} bytes per entry); "
        f"kept after load (tracemalloc) {figures['kept_mb']:.1f} MB, "
        f"peak while loading {figures['load_peak_mb']:.1f} MB; "
        f"RSS of a fresh process that loads it: +{figures['rss_kept_mb']:.1f} MB kept, "
        f"+{figures['rss_peak_mb']:.1f} MB at the peak (the DER included)"
    )
    return figures


def _card(authority, serial: int) -> x509.Certificate:
    """A certificate of ``authority`` with this serial (a stand-in card, no extensions)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "bench")]))
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(authority.key, hashes.SHA256())
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--entries",
        type=int,
        action="append",
        help="CRL size (repeatable; default: 412000 and 103000)",
    )
    parser.add_argument("--lookups", type=int, default=100_000, help="lookups per kind")
    parser.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        _rss_child(*args.rss_child)
        return 0
    print(f"python {sys.version.split()[0]}, pid {os.getpid()}, {os.cpu_count()} CPUs")
    for entries in args.entries or SIZES:
        measure(entries, args.lookups)
    return 0


if __name__ == "__main__":
    sys.exit(main())
