/* flask_industry_auth: sign the server's challenge with a smart card through the HiPKI
   local signing service (the popup + postMessage protocol of MOICA's HiPKILocalSignServer),
   then submit the form with the CMS signature. No inline script is needed: a form opts in
   with data-ia-sign="<purpose>", data-challenge-url and data-signer-url. The PIN goes only
   to the local service, never to the server (its input has no name). */
(function () {
  "use strict";

  function fetchChallenge(form) {
    var body = new URLSearchParams();
    body.set("csrf_token", form.elements.csrf_token.value);
    body.set("purpose", form.dataset.iaSign);
    return fetch(form.dataset.challengeUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("challenge " + response.status); }
      return response.json();
    });
  }

  function sign(signerUrl, tbs, pin) {
    return new Promise(function (resolve, reject) {
      var origin = new URL(signerUrl, window.location.href).origin;
      var popup = window.open(signerUrl.replace(/\/$/, "") + "/popupForm", "industry_auth_hipki",
                              "height=200,width=200,left=100,top=20");
      if (!popup) { reject(new Error("popup blocked")); return; }
      var timer = window.setTimeout(function () { done(); reject(new Error("timeout")); }, 120000);
      function done() {
        window.clearTimeout(timer);
        window.removeEventListener("message", onMessage);
        try { popup.close(); } catch (ignored) { /* already closed */ }
      }
      function onMessage(event) {
        // Only the local signing service may answer, and only through our popup.
        if (event.origin !== origin || event.source !== popup) { return; }
        var reply;
        try { reply = JSON.parse(event.data); } catch (ignored) { return; }
        if (reply.func === "getTbs") {
          popup.postMessage(JSON.stringify({
            func: "MakeSignature", signatureType: "PKCS7", tbs: tbs, tbsEncoding: "NONE",
            hashAlgorithm: "SHA256", withCardSN: "false", pin: pin, nonce: ""
          }), origin);
        } else if (reply.func === "sign") {
          done();
          if (String(reply.ret_code) === "0" && reply.signature) { resolve(reply.signature); }
          else { reject(new Error("signing failed: " + reply.ret_code)); }
        }
      }
      window.addEventListener("message", onMessage);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-ia-sign]") || form.dataset.iaSigned === "1") { return; }
    event.preventDefault();
    var status = form.querySelector("[data-ia-status]");
    var pin = form.querySelector("[data-ia-pin]");
    if (status) { status.textContent = form.dataset.busyMessage || ""; }
    fetchChallenge(form)
      .then(function (data) { return sign(form.dataset.signerUrl, data.challenge, pin ? pin.value : ""); })
      .then(function (signature) {
        form.elements.signature.value = signature;
        if (pin) { pin.value = ""; }
        form.dataset.iaSigned = "1";
        form.submit();
      })
      .catch(function () {
        if (pin) { pin.value = ""; }
        if (status) { status.textContent = form.dataset.errorMessage || "Signing failed."; }
      });
  });
}());
