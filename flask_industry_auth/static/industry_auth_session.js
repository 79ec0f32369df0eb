/* Warn two minutes before the idle timeout and offer to stay logged in (WCAG 2.2.1).
   Reads its settings from #ia-session; asks the server how long is left, so activity in
   other tabs counts. */
(function () {
  "use strict";
  var box = document.getElementById("ia-session");
  if (!box) { return; }
  var url = box.dataset.statusUrl;
  var warnAt = parseInt(box.dataset.warnSeconds, 10) || 120;
  var timer = null;

  function schedule(secondsLeft) {
    window.clearTimeout(timer);
    if (secondsLeft <= 0) { window.location.reload(); return; }
    if (secondsLeft <= warnAt) {
      box.hidden = false;
      box.querySelector("button").focus();
      timer = window.setTimeout(check, Math.min(secondsLeft, 15) * 1000);
    } else {
      box.hidden = true;
      timer = window.setTimeout(check, (secondsLeft - warnAt) * 1000);
    }
  }

  function check() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) { if (s.active) { schedule(s.seconds_left); } else { window.location.reload(); } })
      .catch(function () { timer = window.setTimeout(check, 30000); });
  }

  box.querySelector("button").addEventListener("click", function () {
    var body = new URLSearchParams();
    body.set("csrf_token", box.querySelector("input[name=csrf_token]").value);
    fetch(url, { method: "POST", body: body, credentials: "same-origin",
                 headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) { schedule(s.seconds_left); });
  });

  schedule(parseInt(box.dataset.secondsLeft, 10));
}());
