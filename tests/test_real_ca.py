"""The real public GRCA and MOICA CA certificates (tests/data/real-ca, sources in its
SOURCES.md) read and chain with the package's own trust code, and the production trust
configuration the README documents loads them."""

import shutil
from pathlib import Path

import pytest
from cryptography import x509

from flask_industry_auth import ConfigError
from flask_industry_auth.certificates.trust import (
    _chains_to,
    key_id,
    load_anchors,
    policies,
)

REAL = Path(__file__).parent / "data" / "real-ca"
GPKI_LEVEL_3 = "2.16.886.101.0.3.3"


def real(name: str) -> x509.Certificate:
    (cert,) = load_anchors(REAL / f"{name}.pem")
    return cert


def test_the_real_certificates_parse():
    for name in ("GRCA-G1", "GRCA-G2", "GRCA-G3", "MOICA-G2", "MOICA-G3"):
        cert = real(name)
        assert cert.subject.rfc4514_string().startswith(("O=", "C=TW", "CN=", "OU="))
    # One name for two generations, told apart by key identifier only.
    assert real("MOICA-G2").subject == real("MOICA-G3").subject
    assert key_id(real("MOICA-G2")) == "fa9b3467090a9822f762488b8226a645c5c322a4"
    assert key_id(real("MOICA-G3")) == "4720a3b1264bcd6d48acf2640886972c7454115f"
    assert real("GRCA-G1").subject == real("GRCA-G2").subject
    assert policies(real("MOICA-G2")) == policies(real("MOICA-G3")) == {GPKI_LEVEL_3}


@pytest.mark.parametrize(
    ("ca", "root", "other"),
    [("MOICA-G2", "GRCA-G2", "GRCA-G3"), ("MOICA-G3", "GRCA-G3", "GRCA-G2")],
)
def test_each_moica_generation_chains_to_its_own_grca(ca, root, other):
    assert _chains_to(real(ca), (real(root),)) is None
    # Not to the other generation's root, nor to G1 (whose name G2 shares).
    assert _chains_to(real(ca), (real(other),)) is not None
    assert _chains_to(real(ca), (real("GRCA-G1"),)) is not None


def production_layout(folder: Path) -> dict[str, str]:
    """The folders of the README's production trust configuration, filled with the real
    certificates (MOEACA's are not public in any stored source, so that folder is empty)."""
    for sub, names in {
        "grca": ("GRCA-G1", "GRCA-G2", "GRCA-G3"),
        "moeaca": (),
        "moica": ("MOICA-G2", "MOICA-G3"),
    }.items():
        (folder / sub).mkdir(parents=True)
        for name in names:
            shutil.copy(REAL / f"{name}.pem", folder / sub / f"{name}.pem")
    return {
        "INDUSTRY_AUTH_CERT_TRUST_ANCHORS": str(folder / "grca"),
        "INDUSTRY_AUTH_CERT_BUSINESS_CAS": str(folder / "moeaca"),
        "INDUSTRY_AUTH_CERT_CITIZEN_CAS": str(folder / "moica"),
    }


def test_the_documented_production_configuration_loads_the_real_cas(make, tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for key in ("INDUSTRY_AUTH_CERT_TRUST_ANCHORS", "INDUSTRY_AUTH_CERT_BUSINESS_CAS"):
        assert f'{key}="/etc/portal/gpki/' in readme  # the layout tested here
    app = make(**production_layout(tmp_path))
    trust = app.extensions["industry_auth"].trust
    assert len(trust.anchors) == 3
    assert [(i.kind, i.key_id[:8], set(i.policies)) for i in trust.issuers] == [
        ("citizen", "fa9b3467", {GPKI_LEVEL_3}),
        ("citizen", "4720a3b1", {GPKI_LEVEL_3}),
    ]
    assert trust.kinds == {"citizen"}  # 工商憑證 login stays off until MOEACA's are added


def test_the_real_cas_without_their_roots_stop_the_start(make, tmp_path):
    settings = production_layout(tmp_path)
    for name in ("GRCA-G2", "GRCA-G3"):
        (tmp_path / "grca" / f"{name}.pem").unlink()
    with pytest.raises(ConfigError, match="does not chain to a root"):
        make(**settings)
    with pytest.raises(ConfigError, match="only roots"):
        make(INDUSTRY_AUTH_CERT_TRUST_ANCHORS=str(tmp_path / "grca"))


def test_chains_are_checked_inside_a_running_event_loop_too():
    # An async host, or a test driving a browser, runs a loop in this thread.
    import asyncio

    async def inside():
        return _chains_to(real("MOICA-G3"), (real("GRCA-G3"),))

    assert asyncio.run(inside()) is None
