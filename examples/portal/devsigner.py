"""Developer mode of the demo: a stand-in for the HiPKI local signing service.

Real applicants run HiPKI on their PC; it signs with the smart card. This blueprint answers
the same popup + postMessage protocol, signing with test cards whose keys are files under
the demo's instance folder, issued by a throw-away test PKI that the demo trusts. It also
serves that PKI's CRLs so that the package's real revocation check runs.

It lives only in the example portal, never in the package, and refuses to start unless the
portal is served from 127.0.0.1 or localhost: it cannot be enabled in production.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, jsonify, render_template, request

from flask_industry_auth.certificates.revocation import CRLChecker
from flask_industry_auth.testing import TestPKI

#: The demo's test PKI, shipped in the repository: test keys, no secret.
PKI_FOLDER = Path(__file__).parent / "demo-pki"
CARDS = ("business", "citizen")

#: The PIN of the demo cards (the real PIN belongs to the card and never reaches the portal).
DEMO_PIN = "123456"
#: 統一編號 of the demo 工商憑證 card.
DEMO_BUSINESS_ID = "04595257"

blueprint = Blueprint(
    "dev_signer",
    __name__,
    url_prefix="/dev-signer",
    template_folder="templates",
    static_folder="static",
)


def init_dev_signer(app: Flask) -> None:
    """Trust the demo PKI and mount the stand-in signer. Only on 127.0.0.1/localhost."""
    base = urlsplit(app.config["INDUSTRY_AUTH_EXTERNAL_URL"])
    if base.hostname not in ("127.0.0.1", "localhost"):
        raise RuntimeError("the demo's test signer runs only on 127.0.0.1 or localhost")
    origin = f"{base.scheme}://{base.netloc}"
    pki, cards = TestPKI.load(PKI_FOLDER, CARDS)
    app.extensions["dev_signer"] = {"pki": pki, "cards": cards}
    app.config.update(
        INDUSTRY_AUTH_CERT_TRUST_ANCHORS=pki.anchors_pem(),
        INDUSTRY_AUTH_HIPKI_URL=f"{origin}/dev-signer",
    )
    app.register_blueprint(blueprint)


def use_demo_crls(app: Flask) -> None:
    """After ``init_app``: check revocation with the package's CRL checker, against the
    demo PKI's CRLs (the ones ``/dev-signer/pki/<ca>.crl`` serves)."""
    pki = app.extensions["dev_signer"]["pki"]
    authorities = {"moeaca": pki.moeaca, "moica": pki.moica}

    def fetch(url: str, timeout: float) -> bytes:
        return pki.crl(authorities[url.rsplit("/", 1)[1].removesuffix(".crl")])

    base = app.config["INDUSTRY_AUTH_HIPKI_URL"]
    app.extensions["industry_auth"].revocation = CRLChecker(
        fetch=fetch,
        urls={
            a.certificate.subject.rfc4514_string(): f"{base}/pki/{name}.crl"
            for name, a in authorities.items()
        },
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


@blueprint.route("/popupForm")
def popup():
    """What HiPKI opens: pick a demo card, then it signs the page's challenge."""
    return render_template("portal/dev_signer.html", pin=DEMO_PIN, business_id=DEMO_BUSINESS_ID)


@blueprint.route("/sign", methods=["POST"])
def sign():
    """Sign ``tbs`` with the chosen demo card, as HiPKI answers: ret_code 0 and a PKCS7."""
    data = request.get_json(silent=True) or {}
    if data.get("pin") != DEMO_PIN:
        return jsonify(func="sign", ret_code=0x61000006, message="wrong PIN")
    card = current_app.extensions["dev_signer"]["cards"].get(data.get("card"))
    if card is None or not isinstance(data.get("tbs"), str):
        abort(400)
    return jsonify(func="sign", ret_code=0, signature=card.sign(data["tbs"]))


@blueprint.route("/pki/<name>.crl")
def crl(name: str):
    pki = current_app.extensions["dev_signer"]["pki"]
    authority = {"moeaca": pki.moeaca, "moica": pki.moica}.get(name)
    if authority is None:
        abort(404)
    return pki.crl(authority), 200, {"Content-Type": "application/pkix-crl"}
