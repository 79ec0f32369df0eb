"""Developer mode of the demo: a stand-in for the HiPKI local signing service.

Real applicants run HiPKI on their PC; it signs with the smart card. The package's
:class:`~flask_industry_auth.testing_hipki.HiPKIStandIn`, mounted at ``/dev-signer``, answers
what HiPKI answers (the card list of ``p11Image.bmp``, the ``/popupForm`` and
``/ChtPopupForm`` popup protocol, its error codes), with two readers holding the test cards
of ``demo-pki/`` (test keys, issued by a throw-away test PKI that the demo trusts). It also
serves that PKI's CRLs so that the package's real revocation check runs. An
``INDUSTRY_AUTH_HIPKI_URL`` given to ``create_app`` wins: the browser tests point it at a
stand-in on a port of its own, as the real service is.

It lives only in the example portal, never in the package, and refuses to start unless the
portal is served from 127.0.0.1 or localhost: it cannot be enabled in production.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app

from flask_industry_auth.certificates.revocation import CRLChecker, key_identifier
from flask_industry_auth.testing import TestPKI
from flask_industry_auth.testing_hipki import HiPKIStandIn, Slot

#: The demo's test PKI, shipped in the repository: test keys, no secret.
PKI_FOLDER = Path(__file__).parent / "demo-pki"
CARDS = ("business", "citizen")

#: The PIN of the demo cards (the real PIN belongs to the card and never reaches the portal).
DEMO_PIN = "123456"
#: 統一編號 of the demo 工商憑證 card.
DEMO_BUSINESS_ID = "04595257"

#: The demo's card readers (slotDescription), by card.
READERS = {"business": "示範讀卡機 1 Demo reader 1", "citizen": "示範讀卡機 2 Demo reader 2"}

blueprint = Blueprint("dev_signer", __name__, url_prefix="/dev-signer")


def init_dev_signer(app: Flask) -> None:
    """Trust the demo PKI and mount the stand-in signer. Only on 127.0.0.1/localhost."""
    base = urlsplit(app.config["INDUSTRY_AUTH_EXTERNAL_URL"])
    if base.hostname not in ("127.0.0.1", "localhost"):
        raise RuntimeError("the demo's test signer runs only on 127.0.0.1 or localhost")
    origin = f"{base.scheme}://{base.netloc}"
    pki, cards = TestPKI.load(PKI_FOLDER, CARDS)
    standin = HiPKIStandIn(
        [Slot(READERS[name], cards[name], pin=DEMO_PIN, name=name) for name in CARDS]
    )
    app.extensions["dev_signer"] = {
        "pki": pki,
        "cards": cards,
        "hipki": standin,
        "base": f"{origin}/dev-signer",
    }
    app.config.update(**pki.trust_config())
    app.config.setdefault("INDUSTRY_AUTH_HIPKI_URL", f"{origin}/dev-signer")
    app.register_blueprint(blueprint)
    app.register_blueprint(standin.blueprint("dev_hipki"), url_prefix="/dev-signer")


def use_demo_crls(app: Flask) -> None:
    """After ``init_app``: check revocation with the package's CRL checker, against the
    demo PKI's CRLs (the ones ``/dev-signer/pki/<ca>.crl`` serves)."""
    pki = app.extensions["dev_signer"]["pki"]
    authorities = {"moeaca": pki.moeaca, "moica": pki.moica}

    def fetch(url: str, timeout: float) -> bytes:
        return pki.crl(authorities[url.rsplit("/", 1)[1].removesuffix(".crl")])

    base = app.extensions["dev_signer"]["base"]
    # Keyed by the CA's key identifier, not its name (generations of a CA share one name).
    app.extensions["industry_auth"].revocation = CRLChecker(
        fetch=fetch,
        urls={
            key_identifier(a.certificate): f"{base}/pki/{name}.crl"
            for name, a in authorities.items()
        },
        issuers=[a.certificate for a in authorities.values()],
    )


def make_demo_pki(folder: Path = PKI_FOLDER) -> None:
    """Write a fresh demo PKI (run once by the developers; the files are committed)."""
    import datetime as dt

    pki = TestPKI(root_name="Demo GRCA (test only)")
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)
    pki.save(
        folder,
        {
            "business": pki.business_card(
                DEMO_BUSINESS_ID, name="示範股份有限公司", not_after=until
            ),
            "citizen": pki.citizen_card("示範 王大明", not_after=until),
        },
    )


@blueprint.route("/pki/<name>.crl")
def crl(name: str):
    pki = current_app.extensions["dev_signer"]["pki"]
    authority = {"moeaca": pki.moeaca, "moica": pki.moica}.get(name)
    if authority is None:
        abort(404)
    return pki.crl(authority), 200, {"Content-Type": "application/pkix-crl"}
