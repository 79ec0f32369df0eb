/* The demo's stand-in for HiPKI's popupForm: ask the opener for the to-be-signed package
   (getTbs), sign it with the chosen demo card, and answer with {func: "sign", ...}. */
(function () {
  "use strict";
  var opener = window.opener;
  var pending = null;
  var status = document.getElementById("status");
  window.addEventListener("message", function (event) {
    if (event.source !== opener || event.origin !== window.location.origin) { return; }
    pending = JSON.parse(event.data);
    status.textContent = status.dataset.ready;
    document.getElementById("sign").disabled = false;
  });
  document.getElementById("sign").addEventListener("click", function () {
    if (!pending) { return; }
    var card = document.querySelector("input[name=card]:checked").value;
    fetch("sign", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tbs: pending.tbs, pin: pending.pin, card: card })
    }).then(function (r) { return r.json(); }).then(function (reply) {
      opener.postMessage(JSON.stringify(reply), window.location.origin);
    });
  });
  opener.postMessage(JSON.stringify({ func: "getTbs" }), window.location.origin);
}());
