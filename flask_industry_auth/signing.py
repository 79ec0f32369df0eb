"""Card-signed documents for the host portal: 全電子申辦 with the applicant's own card.

The host renders its filing page with the package's signing form and, before it,
:func:`prepare` the document; the applicant's card signs (through HiPKI) a challenge that
names the portal, the purpose ``sign``, the document's label and its SHA-256; the form posts
back to the host's view, which calls :func:`verify` with the same document and stores the
:class:`~.flows.certificate.Evidence` it returns::

    from flask_industry_auth import signing

    @app.route("/filing/<int:number>/sign", methods=["GET", "POST"])
    @electronic_filing_required
    def sign_filing(number):
        document = render_filing_pdf(number)  # the exact bytes the applicant sees
        if request.method == "POST":
            try:
                evidence = signing.verify("filing", document)
            except CertificateRefused as refused:
                flash(certificate_message(refused.reason))
            else:
                store(number, document, evidence.to_dict())
                return redirect(...)
        signing.prepare("filing", document)
        # The page includes industry_auth/_sign_form.html, which needs the package's context.
        return render_template("filing_sign.html", **signing.template_context())

Only the logged-in certificate account's own card is accepted, validated with the trust and
revocation rules of a login.
"""

from __future__ import annotations

from flask import request, session

from .filing import current_account
from .flows import certificate
from .models import CITIZEN_CERTIFICATE
from .rendering import template_context

#: Session key holding this session's certificate challenge.
CERT_CHALLENGE_KEY = "_industry_auth_cert_challenge"
#: Session key holding, per document purpose, what the next challenge must name.
PENDING_KEY = "_industry_auth_sign_pending"


def pending(purpose: str) -> str | None:
    """What a challenge for the document ``purpose`` names, as :func:`prepare` left it."""
    return (session.get(PENDING_KEY) or {}).get(purpose)


def _expect(purpose: str, binding: str) -> None:
    session[PENDING_KEY] = {**(session.get(PENDING_KEY) or {}), purpose: binding}


def prepare(label: str, document: bytes) -> str:
    """Before the signing form is shown: the next challenge of this session names
    ``document`` under ``label`` (e.g. ``"filing"``). Returns the document's SHA-256 hex,
    to show beside it."""
    binding = certificate.document_binding(label, document)
    _expect("sign", binding)
    return binding.rsplit(":", 1)[1]


def prepare_profile(account, change) -> None:
    """Before a certificate account's basic-data confirmation: the card signs this change."""
    binding = certificate.document_binding("profile", certificate.profile_document(account, change))
    _expect("profile", binding)


def signed() -> tuple[str, str | None]:
    """The posted signature and this session's challenge (used up either way)."""
    return request.form.get("signature", ""), session.pop(CERT_CHALLENGE_KEY, None)


def verify(label: str, document: bytes, signature: str | None = None) -> certificate.Evidence:
    """Check that the logged-in account's card signed ``document`` under ``label``, over
    this session's challenge; return the evidence to store with the document. The
    signature defaults to the posted ``signature`` field. Raises
    :class:`~.certificates.CertificateRefused` (its ``reason`` has a message:
    :func:`~.messages.certificate_message`); ``wrong_card`` when nobody with a card is
    logged in."""
    posted, challenge = signed()
    account = current_account()
    if account is None:
        raise certificate.CertificateRefused("wrong_card", "nobody is logged in")
    if account.is_certificate_account and not account.can_file_electronically:
        # Logged in by another way than the card, or a 自然人憑證 the company has not
        # authorized: whatever the host's view checked, this is no electronic filing.
        reason = "no_delegation" if account.account_type == CITIZEN_CERTIFICATE else "wrong_card"
        raise certificate.CertificateRefused(reason, "not logged in for electronic filing")
    return certificate.sign_document(
        account, label, document, posted if signature is None else signature, challenge
    )


__all__ = ["CERT_CHALLENGE_KEY", "pending", "prepare", "template_context", "verify"]
