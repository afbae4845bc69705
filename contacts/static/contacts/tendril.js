/*!
 * tendril.js — Tendril's website tracking snippet (no third-party code).
 *
 *   <script src="https://YOUR-TENDRIL/v1/tendril.js" data-write-key="tdw_…" async></script>
 *
 * Options (data attributes on the script tag):
 *   data-write-key   required: the workspace's write key (safe to embed)
 *   data-host        where to send events (default: the origin the script came from)
 *   data-consent     "false" to start opted out until tendril.consent(true)
 *   data-auto-page   "false" to skip the automatic page view
 *
 * API (calls made before the script loads can be queued in window.tendril = [[name, …args]]):
 *   tendril.page([name], [properties])
 *   tendril.identify([userId], [traits])
 *   tendril.track(event, [properties])
 *   tendril.consent(true|false)   false: stop sending, drop the queue, forget the cookies
 *   tendril.reset()               forget the user (log-out): new anonymous id
 *   tendril.flush()
 * Forms marked <form data-tendril-form="Name"> are captured on submit as identify(traits)
 * + track("Form Submitted", {form: "Name", …fields}); password/file/hidden fields and
 * fields marked data-tendril-ignore are never read.
 * Events go in batches to /v1/batch (fetch keepalive; sendBeacon when the page hides).
 */
(function (window, document) {
  "use strict";
  var VERSION = "1.0.0";
  var LIBRARY = { name: "tendril.js", version: VERSION };
  var ANON_COOKIE = "tendril_aid";
  var USER_COOKIE = "tendril_uid";
  var CONSENT_COOKIE = "tendril_consent";
  var YEAR = 365 * 24 * 3600;
  var FLUSH_MS = 300;
  var MAX_BATCH = 50;

  var script = document.currentScript || document.querySelector("script[data-write-key]");
  if (!script) return;
  var writeKey = script.getAttribute("data-write-key");
  var host = script.getAttribute("data-host") || new URL(script.src, location.href).origin;
  var queue = [];
  var timer = null;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 0x3) | 0x8).toString(16);
    });
  }

  function getCookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }
  function setCookie(name, value, maxAge) {
    document.cookie = name + "=" + encodeURIComponent(value) + "; path=/; max-age=" + maxAge +
      "; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }
  function dropCookie(name) { setCookie(name, "", 0); }

  // Consent: an explicit choice (cookie) wins over the page's default (data-consent).
  function consented() {
    var choice = getCookie(CONSENT_COOKIE);
    if (choice !== null) return choice === "1";
    return script.getAttribute("data-consent") !== "false";
  }

  function anonymousId() {
    var id = getCookie(ANON_COOKIE);
    if (!id) { id = uuid(); setCookie(ANON_COOKIE, id, YEAR); }
    return id;
  }

  function campaign() {
    var result = {};
    new URLSearchParams(location.search).forEach(function (value, key) {
      if (key.indexOf("utm_") === 0 && value) {
        var name = key.slice(4);
        result[name === "campaign" ? "name" : name] = value;
      }
    });
    return result;
  }

  function pageInfo() {
    return {
      path: location.pathname, url: location.href, referrer: document.referrer,
      title: document.title, search: location.search,
    };
  }

  function context() {
    var ctx = {
      library: LIBRARY, page: pageInfo(), userAgent: navigator.userAgent,
      locale: navigator.language,
    };
    try { ctx.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* old browser */ }
    var utm = campaign();
    if (Object.keys(utm).length) ctx.campaign = utm;
    return ctx;
  }

  function enqueue(message) {
    if (!writeKey || !consented()) return;
    message.messageId = uuid();
    message.anonymousId = anonymousId();
    var userId = getCookie(USER_COOKIE);
    if (userId && !message.userId) message.userId = userId;
    message.timestamp = new Date().toISOString();
    message.context = context();
    queue.push(message);
    if (queue.length >= MAX_BATCH) flush();
    else if (!timer) timer = setTimeout(flush, FLUSH_MS);
  }

  function flush(useBeacon) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!queue.length) return;
    var batch = queue.splice(0, MAX_BATCH);
    // text/plain keeps it a "simple" request (no preflight) and lets sendBeacon carry it.
    var body = JSON.stringify({ writeKey: writeKey, sentAt: new Date().toISOString(), batch: batch });
    var url = host + "/v1/batch";
    var sent = false;
    if (useBeacon && navigator.sendBeacon) {
      sent = navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }));
    }
    if (!sent && window.fetch) {
      fetch(url, {
        method: "POST", body: body, keepalive: true, mode: "cors", credentials: "omit",
        headers: { "Content-Type": "text/plain" },
      }).catch(function () { /* offline: the events are lost, as with any beacon */ });
    }
    if (queue.length) flush(useBeacon);
  }

  var api = {
    VERSION: VERSION,
    page: function (name, properties) {
      if (typeof name === "object") { properties = name; name = undefined; }
      var props = Object.assign(pageInfo(), properties || {});
      enqueue({ type: "page", name: name || undefined, properties: props });
    },
    identify: function (userId, traits) {
      if (typeof userId === "object" && userId !== null) { traits = userId; userId = undefined; }
      if (userId && consented()) setCookie(USER_COOKIE, String(userId), YEAR);
      enqueue({ type: "identify", userId: userId ? String(userId) : undefined, traits: traits || {} });
    },
    track: function (event, properties) {
      enqueue({ type: "track", event: event, properties: properties || {} });
    },
    consent: function (granted) {
      setCookie(CONSENT_COOKIE, granted ? "1" : "0", YEAR);
      if (!granted) {
        queue = [];
        if (timer) { clearTimeout(timer); timer = null; }
        dropCookie(ANON_COOKIE);
        dropCookie(USER_COOKIE);
      }
    },
    reset: function () { dropCookie(USER_COOKIE); dropCookie(ANON_COOKIE); },
    flush: function () { flush(false); },
    anonymousId: function () { return consented() ? anonymousId() : null; },
  };

  var FORM_SKIP = { password: 1, file: 1, hidden: 1, submit: 1, button: 1, reset: 1, image: 1 };
  var TRAIT_NAMES = {
    email: 1, phone: 1, firstName: 1, first_name: 1, lastName: 1, last_name: 1, name: 1,
    company: 1, title: 1, jobTitle: 1, job_title: 1, country: 1, city: 1,
  };

  function captureForm(event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-tendril-form")) return;
    var fields = {};
    var traits = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || FORM_SKIP[el.type] || el.hasAttribute("data-tendril-ignore")) return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      fields[el.name] = el.value;
      if (TRAIT_NAMES[el.name] || el.type === "email") traits[el.type === "email" ? "email" : el.name] = el.value;
    });
    var formName = form.getAttribute("data-tendril-form") || form.id || form.getAttribute("name") || "form";
    if (Object.keys(traits).length) api.identify(traits);
    api.track("Form Submitted", Object.assign({ form: formName }, fields));
    flush(true); // the page may be about to navigate away
  }

  document.addEventListener("submit", captureForm, true);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush(true);
  });
  window.addEventListener("pagehide", function () { flush(true); });

  var pending = Array.isArray(window.tendril) ? window.tendril : [];
  window.tendril = api;
  pending.forEach(function (call) {
    if (call && api[call[0]]) api[call[0]].apply(api, Array.prototype.slice.call(call, 1));
  });
  if (script.getAttribute("data-auto-page") !== "false") api.page();
})(window, document);
