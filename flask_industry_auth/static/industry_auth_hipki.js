/* flask_industry_auth: sign the server's challenge with a smart card through the HiPKI local
   signing service (MOICA's HiPKILocalSignServer, http://localhost:61161), then submit the form
   with the CMS signature. No inline script is needed: a form opts in with
   data-ia-sign="<purpose>", data-challenge-url and data-ia-hipki (the settings and every
   message in the page's language, from flask_industry_auth.hipki). The PIN goes only to the
   local service, never to the server (its input has no name).

   - Readers and cards: HiPKI draws its pkcs11info answer as the pixels of /p11Image.bmp (three
     bytes of JSON a pixel, blue green red, up to a zero); read through a canvas it says
     whether the component runs, its version, and the readers and cards. Several cards: the
     applicant chooses, and the choice goes to HiPKI as slotDescription.
   - Signing: the popup (/popupForm or /ChtPopupForm) opens inside the click, so no popup
     blocker stops it. It asks the page for the package (getTbs), signs and answers (sign).
     If it has not spoken within ~3.5 s the component is not there.
   - Each ret_code and last_error HiPKI gives is told in the applicant's words. */
(function () {
  "use strict";

  var UNSIGNED = 4294967296;
  var CANVAS_WIDTH = 2000;
  var states = new WeakMap();

  function settingsOf(form) {
    var state = stateOf(form);
    if (!state.settings) {
      var settings = {};
      try { settings = JSON.parse(form.dataset.iaHipki || "{}"); } catch (ignored) { settings = {}; }
      settings.url = (settings.url || form.dataset.signerUrl || "http://localhost:61161").replace(/\/$/, "");
      settings.popup = settings.popup || "/popupForm";
      settings.wait = settings.wait || 3500;
      settings.signingWait = settings.signingWait || 120000;
      settings.codes = settings.codes || {};
      settings.lastErrors = settings.lastErrors || {};
      settings.messages = settings.messages || {};
      state.settings = settings;
    }
    return state.settings;
  }

  function stateOf(form) {
    var state = states.get(form);
    if (!state) { state = { info: null, probe: null, busy: false }; states.set(form, state); }
    return state;
  }

  /* A HiPKI code as an unsigned number (negative ones come back as -2147483647 and such). */
  function number(value) {
    if (value === undefined || value === null || value === "") { return NaN; }
    var n = Number(value);
    if (!isFinite(n)) { return NaN; }
    return n < 0 ? n + UNSIGNED : n;
  }

  // -- the component and its cards: p11Image.bmp -----------------------------------------

  function platform() {
    var ua = navigator.userAgent || "";
    var text = (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || ua;
    if (/win/i.test(text)) { return "windows"; }
    if (/mac/i.test(text)) { return "mac"; }
    if (/linux|x11/i.test(text) && !/android/i.test(ua)) { return "linux"; }
    return null;
  }

  function older(version, minimum) {
    var a = String(version).split("."), b = String(minimum).split(".");
    for (var i = 0; i < Math.max(a.length, b.length); i += 1) {
      var x = parseInt(a[i] || "0", 10) || 0, y = parseInt(b[i] || "0", 10) || 0;
      if (x !== y) { return x < y; }
    }
    return false;
  }

  function labelOf(slot) {
    var token = slot.token || {};
    var name = "";
    (token.certs || []).some(function (cert) {
      var found = /(?:^|,)\s*CN=([^,]+)/i.exec(cert.subjectDN || "");
      if (found) { name = found[1].trim(); }
      return found && /digitalSignature/i.test(cert.usage || "");
    });
    name = name || token.label || token.serialNumber || "";
    if (!name) { return String(slot.slotDescription); }
    // Beside Chinese text, full-width parentheses (Taiwan usage); half-width in English.
    var zh = /^zh/i.test(document.documentElement.lang || "");
    return name + (zh ? "（" : " (") + slot.slotDescription + (zh ? "）" : ")");
  }

  function classify(info, settings) {
    var code = number(info.ret_code);
    var version = info.serverVersion || "";
    if (code) { return { state: "error", failure: failureOf(info, settings), version: version }; }
    var minimum = (settings.minimum || {})[platform()];
    if (version && minimum && older(version, minimum)) {
      return { state: "error", version: version,
               failure: { key: "too_old", variables: { version: version, minimum: minimum } } };
    }
    var slots = (info.slots || []).filter(function (slot) { return slot && slot.slotDescription; });
    var cards = slots.filter(function (slot) { return slot.token; }).map(function (slot) {
      return { slot: String(slot.slotDescription), label: labelOf(slot) };
    });
    if (!slots.length) { return { state: "error", failure: { key: "no_reader" }, version: version }; }
    if (!cards.length) { return { state: "error", failure: { key: "no_card" }, version: version }; }
    return { state: "ok", version: version, cards: cards };
  }

  function decode(image, settings) {
    var bytes = [];
    try {
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(CANVAS_WIDTH, image.naturalWidth || 0);
      canvas.height = 1;
      var context = canvas.getContext("2d");
      context.drawImage(image, 0, 0);
      var pixels = context.getImageData(0, 0, canvas.width, 1).data;
      for (var x = 0; x < canvas.width; x += 1) {
        var r = pixels[4 * x], g = pixels[4 * x + 1], b = pixels[4 * x + 2];
        if (b === 0) { break; }
        bytes.push(b, g, r);
      }
    } catch (tainted) {
      return { state: "unknown" };  // it answers, but its list cannot be read here
    }
    var end = bytes.indexOf(0);
    if (end >= 0) { bytes = bytes.slice(0, end); }
    try {
      return classify(JSON.parse(new TextDecoder("utf-8").decode(new Uint8Array(bytes))), settings);
    } catch (unreadable) {
      return { state: "unknown" };
    }
  }

  function probe(settings) {
    return new Promise(function (resolve) {
      var image = new Image();
      var timer = window.setTimeout(function () { finish({ state: "unknown" }); }, settings.wait);
      function finish(result) {
        window.clearTimeout(timer);
        image.onload = image.onerror = null;
        resolve(result);
      }
      image.crossOrigin = "anonymous";
      image.onerror = function () { finish({ state: "missing" }); };
      image.onload = function () { finish(decode(image, settings)); };
      image.src = settings.url + "/p11Image.bmp?t=" + Date.now();
    });
  }

  function showCards(form, info) {
    var box = form.querySelector("[data-ia-cards]");
    var select = form.querySelector("[data-ia-card]");
    if (!box || !select) { return; }
    var cards = info.state === "ok" ? info.cards : [];
    if (cards.length < 2) { box.hidden = true; select.textContent = ""; return; }
    var key = cards.map(function (card) { return card.slot + "\n" + card.label; }).join("\n");
    if (select.dataset.iaCards !== key) {
      var chosen = select.value;
      select.textContent = "";
      cards.forEach(function (card) {
        var option = document.createElement("option");
        option.value = card.slot;
        option.textContent = card.label;
        select.appendChild(option);
      });
      if (cards.some(function (card) { return card.slot === chosen; })) { select.value = chosen; }
      select.dataset.iaCards = key;
    }
    box.hidden = false;
  }

  function chosenSlot(form, info) {
    var box = form.querySelector("[data-ia-cards]");
    var select = form.querySelector("[data-ia-card]");
    if (box && select && !box.hidden && select.value) { return select.value; }
    if (info.state === "ok" && info.cards.length === 1) { return info.cards[0].slot; }
    return null;  // HiPKI takes the first card
  }

  function refresh(form) {
    var state = stateOf(form);
    if (!state.probe) {
      state.probe = probe(settingsOf(form)).then(function (info) {
        state.info = info;
        state.probe = null;
        showCards(form, info);
        return info;
      });
    }
    return state.probe;
  }

  // -- what the applicant is told ------------------------------------------------------

  function fill(text, variables) {
    return text.replace(/%\((\w+)\)s/g, function (whole, name) {
      return variables && variables[name] !== undefined ? String(variables[name]) : whole;
    });
  }

  function failureOf(reply, settings) {
    var code = number(reply.ret_code), minor = number(reply.last_error);
    var known = settings.codes[String(code)];
    var why = isNaN(minor) ? null : settings.lastErrors[String(minor)];
    if (why && (String(code) === settings.loginFailed || !known)) { return { key: why }; }
    if (known) { return { key: known }; }
    if (isNaN(code)) { return { key: "failed_unknown" }; }
    return { key: "failed", variables: { code: "0x" + code.toString(16).toUpperCase() } };
  }

  function features(width, height) {
    var left = Math.max(0, Math.round((window.screenX || 0) + ((window.outerWidth || width) - width) / 2));
    var top = Math.max(0, Math.round((window.screenY || 0) + ((window.outerHeight || height) - height) / 3));
    return "width=" + width + ",height=" + height + ",left=" + left + ",top=" + top +
      ",resizable=yes,scrollbars=yes";
  }

  function quiet(form) {
    var box = form.querySelector("[data-ia-hipki-error]");
    var status = form.querySelector("[data-ia-status]");
    if (box) { box.hidden = true; box.textContent = ""; }
    if (status) { status.textContent = ""; }
  }

  function tell(form, failure) {
    var settings = settingsOf(form);
    var messages = settings.messages;
    var text = messages[failure.key] || messages.failed_unknown || "The card could not sign.";
    var box = form.querySelector("[data-ia-hipki-error]");
    var status = form.querySelector("[data-ia-status]");
    if (status) { status.textContent = ""; }
    if (!box) { if (status) { status.textContent = fill(text, failure.variables); } return; }
    box.textContent = "";
    box.dataset.iaFailure = failure.key;
    var paragraph = document.createElement("p");
    paragraph.textContent = fill(text, failure.variables);
    box.appendChild(paragraph);
    if ((failure.key === "missing" || failure.key === "too_old") && settings.download) {
      var link = document.createElement("a");
      link.href = settings.download;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.textContent = messages.download || settings.download;
      box.appendChild(link);
    }
    if (failure.key === "site_not_allowed") {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "ia-button ia-secondary";
      button.textContent = messages.add_domain || "addDomain";
      button.addEventListener("click", function () { addDomain(form); });
      box.appendChild(button);
    }
    box.hidden = false;
  }

  /* HiPKI asks its user to trust a site in a window of its own (a click opens it). */
  function addDomain(form) {
    var settings = settingsOf(form);
    var url = settings.url + "/addDomain?domain=" + encodeURIComponent(window.location.hostname);
    var window_ = window.open(url, "industry_auth_hipki_domain", features(400, 400));
    if (!window_) { tell(form, { key: "popup_blocked" }); return; }
    var poll = window.setInterval(function () {
      if (!window_.closed) { return; }
      window.clearInterval(poll);
      refresh(form).then(function (info) {
        var box = form.querySelector("[data-ia-hipki-error]");
        if (info.state === "ok" && box && box.dataset.iaFailure === "site_not_allowed") { quiet(form); }
      });
    }, 500);
  }

  // -- signing -------------------------------------------------------------------------

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
    }).then(function (data) { return data.challenge; });
  }

  /* Talk to the popup opened in the click: resolves with the CMS signature, rejects with
     {key, variables}. `known` resolves with what p11Image.bmp says. */
  function converse(form, popup, known, challenge, pin) {
    var settings = settingsOf(form);
    var origin = new URL(settings.url, window.location.href).origin;
    return new Promise(function (resolve, reject) {
      var spoke = false, over = false, seen = null;
      var waiting = window.setTimeout(function () {
        // The component has not spoken: not there (or it answers its card list only).
        fail({ key: seen && seen.state === "ok" ? "component_failed" : "missing" });
      }, settings.wait);
      var signing = null;
      var watch = window.setInterval(function () {
        if (popup.closed) {
          if (!spoke && window.console) {
            window.console.warn("flask_industry_auth: the HiPKI window closed before it spoke. " +
              "If nobody closed it, this page's Cross-Origin-Opener-Policy cuts it off.");
          }
          fail({ key: spoke ? "cancelled" : "popup_closed" });
        }
      }, 250);

      function finish() {
        over = true;
        window.clearTimeout(waiting);
        window.clearTimeout(signing);
        window.clearInterval(watch);
        window.removeEventListener("message", onMessage);
        try { popup.close(); } catch (ignored) { /* already closed */ }
      }
      function fail(failure) { if (!over) { finish(); reject(failure); } }

      known.then(function (info) {
        seen = info;
        if (info.state === "error") { fail(info.failure); }
      });

      function send(tbs, info) {
        if (over) { return; }
        var request = {
          func: "MakeSignature", signatureType: "PKCS7", tbs: tbs, tbsEncoding: "NONE",
          hashAlgorithm: "SHA256", withCardSN: "false", pin: pin, nonce: ""
        };
        var slot = chosenSlot(form, info);
        if (slot) { request.slotDescription = slot; }
        // As the government's pages do: HiPKI reads the package form-encoded.
        popup.postMessage(JSON.stringify(request).replace(/\+/g, "%2B"), origin);
      }

      function onMessage(event) {
        // Only the local signing service may answer, and only through our popup.
        if (event.origin !== origin || event.source !== popup) { return; }
        var reply;
        try { reply = typeof event.data === "string" ? JSON.parse(event.data) : event.data; } catch (ignored) { return; }
        if (!reply) { return; }
        if (reply.func === "getTbs") {
          if (spoke) { return; }
          spoke = true;
          window.clearTimeout(waiting);
          signing = window.setTimeout(function () { fail({ key: "component_failed" }); }, settings.signingWait);
          Promise.all([challenge, known]).then(function (both) {
            if (both[1].state !== "error") { send(both[0], both[1]); }
          }, function () { fail({ key: "challenge_failed" }); });
        } else if (reply.func === "sign") {
          if (number(reply.ret_code) === 0 && reply.signature) {
            if (!over) { finish(); resolve(reply.signature); }
          } else {
            fail(failureOf(reply, settings));
          }
        }
      }
      window.addEventListener("message", onMessage);
    });
  }

  var PIN_FAILURES = ["pin_missing", "pin_wrong", "pin_wrong_one_left", "pin_wrong_two_left",
                      "pin_length", "pin_refused"];

  function sign(form) {
    var state = stateOf(form);
    if (state.busy) { return; }
    var settings = settingsOf(form);
    var pinField = form.querySelector("[data-ia-pin]");
    var pin = pinField ? pinField.value : "";
    quiet(form);
    if (pinField && !pin) { tell(form, { key: "pin_missing" }); pinField.focus(); return; }
    // Inside the click: a window opened later (after a fetch) is what popup blockers stop.
    var popup = window.open(settings.url + settings.popup, "industry_auth_hipki", features(480, 420));
    if (!popup) { tell(form, { key: "popup_blocked" }); return; }
    state.busy = true;
    var status = form.querySelector("[data-ia-status]");
    if (status) { status.textContent = settings.messages.busy || ""; }
    var known = state.info && state.info.state === "ok" ? Promise.resolve(state.info) : refresh(form);
    var challenge = fetchChallenge(form);
    challenge.catch(function () { /* told through converse */ });
    converse(form, popup, known, challenge, pin).then(function (signature) {
      form.elements.signature.value = signature;
      if (pinField) { pinField.value = ""; }
      form.dataset.iaSigned = "1";
      form.submit();
    }, function (failure) {
      state.busy = false;
      if (pinField) { pinField.value = ""; }
      tell(form, failure);
      if (PIN_FAILURES.indexOf(failure.key) >= 0 && pinField) { pinField.focus(); }
      refresh(form);  // a card inserted, a reader plugged in: the next try knows
    });
  }

  function forms() {
    return Array.prototype.slice.call(document.querySelectorAll("form[data-ia-sign]"));
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-ia-sign]") || form.dataset.iaSigned === "1") { return; }
    event.preventDefault();
    sign(form);
  });

  var lastFocus = 0;
  window.addEventListener("focus", function () {
    // Back from inserting a card or starting HiPKI: read the readers again.
    if (Date.now() - lastFocus < 2000) { return; }
    lastFocus = Date.now();
    forms().forEach(function (form) { if (!stateOf(form).busy) { refresh(form); } });
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    forms().forEach(function (form) { delete form.dataset.iaSigned; stateOf(form).busy = false; });
  });

  forms().forEach(refresh);
}());
