"""A stand-in for the HiPKI local signing service, for tests and the demo: never for production.

:class:`HiPKIStandIn` answers what MOICA's HiPKILocalSignServer answers on the applicant's PC
(``http://localhost:61161``), on an origin of its own on 127.0.0.1 only, and signs with the
cards of a :class:`~flask_industry_auth.testing.TestPKI`:

- ``/p11Image.bmp``: the ``pkcs11info`` answer (readers, cards, version) as the pixels of a
  24-bit BMP, three bytes of JSON a pixel, with ``Access-Control-Allow-Origin`` so that a
  page reads it through a canvas; ``/pkcs11info`` the same as JSON (``?withcert=true`` adds
  the certificates);
- ``/popupForm`` and ``/ChtPopupForm``: the popup page, which asks its opener for the
  package (``{"func": "getTbs"}``), reads it form-encoded as HiPKI does (so ``+`` must come
  as ``%2B``), and answers ``{"func": "sign", "ret_code": 0, "signature": …}`` or the error
  HiPKI gives;
- ``/addDomain?domain=<host>``: HiPKI's own window to trust a site.

Its attributes are the scenario, changed at any time: :attr:`slots` (readers, each with a
card or empty, with its PIN and tries left), :attr:`trusted` (the trusted sites, ``None`` for
all), :attr:`version`, and :meth:`answer_next` (the next signing fails with a given code, a
cancel for instance)::

    pki = TestPKI()
    standin = HiPKIStandIn([Slot("Reader 1", pki.business_card("04595257"))]).start()
    app.config["INDUSTRY_AUTH_HIPKI_URL"] = standin.url
"""

from __future__ import annotations

import base64
import json
import struct
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from flask import Blueprint, Flask, jsonify, render_template_string, request
from werkzeug.serving import make_server

from . import hipki

if TYPE_CHECKING:
    from .testing import Card

#: The version a stand-in reports unless told otherwise (the newest minimum).
DEFAULT_VERSION = "1.3.4.103328"
#: The PIN of a stand-in card unless told otherwise.
DEFAULT_PIN = "123456"
#: Wrong PINs a card takes before it locks.
PIN_TRIES = 3


@dataclass
class Slot:
    """A card reader, with a card in it (``card``) or empty (``card=None``)."""

    reader: str
    card: Card | None = None
    pin: str = DEFAULT_PIN
    #: Wrong PINs left before the card locks; 0: locked.
    tries: int = PIN_TRIES
    #: False: a wrong PIN answers 0xA0 (PIN碼錯誤) without saying how many tries are left.
    counts_tries: bool = True
    #: A short name for scripts (``{"card": name}`` instead of ``slotDescription``).
    name: str | None = None
    label: str = "HiPKI"

    @property
    def locked(self) -> bool:
        return self.tries <= 0

    def token(self, *, with_certificates: bool) -> dict[str, Any] | None:
        if self.card is None:
            return None
        certificate = self.card.certificate
        entry: dict[str, Any] = {
            "usage": "digitalSignature",
            "subjectDN": certificate.subject.rfc4514_string(),
        }
        if with_certificates:
            entry["certb64"] = _certb64(self.card)
        return {
            "serialNumber": f"TP{certificate.serial_number % 10**14:014d}",
            "label": self.label,
            "certs": [entry],
        }


def _certb64(card: Card) -> str:
    return base64.b64encode(card.certificate.public_bytes(serialization.Encoding.DER)).decode()


def p11_image(payload: bytes) -> bytes:
    """A 24-bit BMP, one pixel high, whose pixels are ``payload``: the first byte in a
    pixel's blue, the second in its green, the third in its red, as HiPKI draws it (padded
    with spaces: a page reads up to the first pixel whose blue is 0)."""
    data = payload + b" " * (-len(payload) % 3)
    width = max(len(data) // 3, 1)
    row = data + b"\0" * (-len(data) % 4)
    header = struct.pack("<2sIHHI", b"BM", 14 + 40 + len(row), 0, 0, 14 + 40)
    info = struct.pack("<IiiHHIIiiII", 40, width, 1, 1, 24, 0, len(row), 2835, 2835, 0, 0)
    return header + info + row


_POPUP = """<!doctype html>
<html lang="zh-Hant-TW">
<head><meta charset="utf-8"><title>HiPKI 測試用替身 stand-in</title></head>
<body>
<h1>HiPKI 測試用替身 (stand-in)</h1>
<p>測試用，並非真正的 HiPKI。 A stand-in for the HiPKI local signing service, for tests and
the demo: never in production.</p>
<p id="status" role="status" data-signing="簽章中… Signing…" data-done="完成 Done"
   data-alone="請由網站的簽章按鈕開啟此視窗。 Open this window from a site's sign button.">
等待簽章要求… Waiting for the page…</p>
<script src="standin.js"></script>
</body>
</html>
"""

_POPUP_SCRIPT = """/* The stand-in's popup: ask the opener for the package (getTbs), have the
   stand-in sign it as HiPKI does (form-encoded: tbsPackage=<the JSON as sent>), answer
   {func: "sign"}. */
(function () {
  "use strict";
  var opener = window.opener;
  var status = document.getElementById("status");
  var asked = false;
  if (!opener) { status.textContent = status.dataset.alone; return; }
  window.addEventListener("message", function (event) {
    if (event.source !== opener || asked || typeof event.data !== "string") { return; }
    asked = true;
    status.textContent = status.dataset.signing;
    fetch("sign", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "tbsPackage=" + event.data + "&origin=" + encodeURIComponent(event.origin)
    }).then(function (response) { return response.json(); }).then(function (reply) {
      status.textContent = status.dataset.done;
      opener.postMessage(JSON.stringify(reply), event.origin);
    });
  });
  opener.postMessage(JSON.stringify({ func: "getTbs" }), "*");
}());
"""

_ADD_DOMAIN = """<!doctype html>
<html lang="zh-Hant-TW">
<head><meta charset="utf-8"><title>HiPKI 信任網站 Trusted sites (stand-in)</title></head>
<body>
<h1>HiPKI 信任網站 Trusted sites (stand-in)</h1>
{% if added %}
<p role="status">已將 {{ domain }} 加入信任網站。 {{ domain }} is trusted now: close this window
and sign again.</p>
{% elif domain %}
<p>是否允許 {{ domain }} 使用 HiPKI 元件？ Allow {{ domain }} to use the HiPKI component?</p>
<form method="post"><input type="hidden" name="domain" value="{{ domain }}">
<button type="submit">加入 Add</button></form>
{% else %}
<p>未指定網域。 No domain given.</p>
{% endif %}
</body>
</html>
"""


class HiPKIStandIn:
    """A stand-in HiPKI local signing service: readers, cards, trusted sites and errors as
    the real component gives them. :meth:`start` serves it on 127.0.0.1; :meth:`blueprint`
    mounts it in an app of one's own (the demo's developer mode)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        slots: list[Slot] | tuple[Slot, ...] = (),
        *,
        version: str = DEFAULT_VERSION,
        trusted: set[str] | list[str] | None = None,
    ) -> None:
        self.slots: list[Slot] = list(slots)
        self.version = version
        #: Host names HiPKI trusts; ``None``: every site (no addDomain step).
        self.trusted: set[str] | None = None if trusted is None else set(trusted)
        #: Every package the popup was given (the MakeSignature JSON, decoded as HiPKI does).
        self.requests: list[dict[str, Any]] = []
        self._next: tuple[int, int | None] | None = None
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    # -- the scenario ---------------------------------------------------------------
    def answer_next(self, ret_code: int, last_error: int | None = None) -> None:
        """The next signing fails with ``ret_code`` (and ``last_error``), e.g.
        ``hipki.CANCELLED`` for an applicant who cancels in HiPKI's window."""
        self._next = (ret_code, last_error)

    def trusts(self, origin: str | None) -> bool:
        """Whether a page of ``origin`` may use the component."""
        if self.trusted is None:
            return True
        host = urlsplit(origin).hostname if origin else None
        return host is not None and host in self.trusted

    def pkcs11info(self, origin: str | None, *, with_certificates: bool = False) -> dict:
        """The ``pkcs11info`` answer for a page of ``origin``."""
        if not self.trusts(origin):
            return {"ret_code": hipki.SITE_NOT_ALLOWED, "serverVersion": self.version}
        if not self.slots:
            return {"ret_code": hipki.NO_READER, "serverVersion": self.version, "slots": []}
        return {
            "ret_code": 0,
            "serverVersion": self.version,
            "slots": [
                {
                    "slotDescription": slot.reader,
                    "token": slot.token(with_certificates=with_certificates),
                }
                for slot in self.slots
            ],
        }

    def make_signature(self, package: dict[str, Any], origin: str | None) -> dict[str, Any]:
        """HiPKI's answer to a ``MakeSignature`` package from a page of ``origin``."""
        self.requests.append(package)
        if not self.trusts(origin):
            return _sign_error(hipki.SITE_NOT_ALLOWED)
        if self._next is not None:
            (code, minor), self._next = self._next, None
            return _sign_error(code, minor)
        if package.get("func", "MakeSignature") != "MakeSignature":
            return _sign_error(hipki.COMPONENT_FAILED)
        if not self.slots:
            return _sign_error(hipki.NO_READER)
        slot = self._slot(package)
        if slot is None:
            return _sign_error(hipki.NO_READER)
        if slot.card is None:
            return _sign_error(hipki.NO_CARD)
        pin = package.get("pin") or ""
        if not pin:
            return _sign_error(hipki.PIN_MISSING)
        with self._lock:
            if slot.locked:
                return _sign_error(hipki.LOGIN_FAILED, hipki.CARD_LOCKED)
            if not 4 <= len(pin) <= 16:
                return _sign_error(hipki.LOGIN_FAILED, hipki.PIN_LENGTH)
            if pin != slot.pin:
                slot.tries -= 1
                return _sign_error(hipki.LOGIN_FAILED, self._wrong_pin(slot))
            slot.tries = PIN_TRIES
        tbs = package.get("tbs")
        if not isinstance(tbs, str) or not tbs:
            return _sign_error(hipki.COMPONENT_FAILED)
        return {
            "func": "sign",
            "ret_code": 0,
            "signature": slot.card.sign(tbs),
            "certb64": _certb64(slot.card),
        }

    def _slot(self, package: dict[str, Any]) -> Slot | None:
        wanted = package.get("slotDescription") or package.get("readername")
        name = package.get("card")
        for slot in self.slots:
            if (wanted and slot.reader == wanted) or (name and slot.name == name):
                return slot
        if wanted or name:
            return None  # the chosen reader is gone
        return self.slots[0]  # nothing chosen: HiPKI takes the first

    @staticmethod
    def _wrong_pin(slot: Slot) -> int:
        if slot.locked:
            return hipki.CARD_LOCKED
        if not slot.counts_tries:
            return hipki.PIN_WRONG
        # HiPKI gives these two as negative numbers: -2147483647, -2147483646.
        return {1: hipki.ONE_TRY_LEFT, 2: hipki.TWO_TRIES_LEFT}.get(slot.tries, hipki.PIN_WRONG)

    # -- the web side ---------------------------------------------------------------
    def blueprint(self, name: str = "hipki_standin") -> Blueprint:
        """The stand-in's pages as a blueprint (relative links: mount it anywhere)."""
        pages = Blueprint(name, __name__)

        def page_origin() -> str | None:
            origin = request.headers.get("Origin")
            if origin and origin != "null":
                return origin
            referrer = urlsplit(request.headers.get("Referer") or "")
            return f"{referrer.scheme}://{referrer.netloc}" if referrer.netloc else None

        def cors(response):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Cache-Control"] = "no-store"
            return response

        @pages.route("/p11Image.bmp")
        def p11image():
            info = self.pkcs11info(page_origin())
            payload = json.dumps(info, ensure_ascii=False, separators=(",", ":")).encode()
            return cors(Flask.response_class(p11_image(payload), mimetype="image/bmp"))

        @pages.route("/pkcs11info")
        def pkcs11info():
            certificates = request.args.get("withcert", "").lower() == "true"
            return cors(jsonify(self.pkcs11info(page_origin(), with_certificates=certificates)))

        def popup():
            return _POPUP, 200, {"Content-Type": "text/html; charset=utf-8"}

        for path in hipki.POPUP_PATHS:
            pages.add_url_rule(path, f"popup{path.replace('/', '_')}", popup)

        @pages.route("/standin.js")
        def script():
            return _POPUP_SCRIPT, 200, {"Content-Type": "text/javascript; charset=utf-8"}

        @pages.route("/sign", methods=["POST"])
        def sign():
            if request.is_json:
                package = request.get_json(silent=True) or {}
                origin = package.pop("origin", None)
            else:
                try:
                    package = json.loads(request.form.get("tbsPackage", ""))
                except ValueError:
                    return jsonify(_sign_error(hipki.COMPONENT_FAILED))
                origin = request.form.get("origin")
            if not isinstance(package, dict):
                return jsonify(_sign_error(hipki.COMPONENT_FAILED))
            return jsonify(self.make_signature(package, origin))

        @pages.route("/addDomain", methods=["GET", "POST"])
        def add_domain():
            domain = (request.values.get("domain") or "").strip().lower()
            added = request.method == "POST" and bool(domain)
            if added and self.trusted is not None:
                self.trusted.add(domain)
            return render_template_string(_ADD_DOMAIN, domain=domain, added=added)

        return pages

    def app(self) -> Flask:
        """A WSGI app serving the stand-in at its root, as HiPKI serves localhost:61161."""
        app = Flask(__name__)
        app.register_blueprint(self.blueprint())
        return app

    def start(self, host: str = "127.0.0.1", port: int = 0) -> HiPKIStandIn:
        """Serve the stand-in on ``host`` (127.0.0.1 or localhost only) and ``port`` (0: a
        free one) in a thread; :attr:`url` says where."""
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the HiPKI stand-in serves 127.0.0.1 only")
        self._server = make_server("127.0.0.1", port, self.app(), threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HiPKIStandIn:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _sign_error(ret_code: int, last_error: int | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"func": "sign", "ret_code": ret_code}
    if last_error is not None:
        # As HiPKI gives them: the "tries left" codes are negative 32-bit numbers.
        answer["last_error"] = last_error - 2**32 if last_error >= 2**31 else last_error
    return answer
