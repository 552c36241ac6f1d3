// Waypost dashboard: live regions polled in place, forms sent without leaving the page.
// Plain JavaScript served by the host; no build step, nothing fetched from elsewhere.
(function () {
  "use strict";
  var POLL_MS = 500; // a change shows within a second

  function say(text, bad) {
    var flash = document.getElementById("flash");
    if (!flash) return;
    flash.textContent = text;
    flash.className = bad ? "error" : "ok";
    flash.hidden = false;
  }

  function poll(box) {
    var every = Number(box.dataset.every) || POLL_MS;
    var again = function () { setTimeout(function () { poll(box); }, every); };
    fetch(box.dataset.live, {
      credentials: "same-origin", cache: "no-store", headers: { "x-waypost-poll": "1" }
    })
      .then(function (r) {
        if (!r.ok || r.redirected) return null;
        return r.text();
      })
      .then(function (text) {
        if (text === null) return;
        var doc = new DOMParser().parseFromString(text, "text/html");
        var inner = doc.querySelector("[data-live]");
        var html = (inner || doc.body).innerHTML;
        if (html !== box.dataset.last) {
          box.innerHTML = html;
          box.dataset.last = html;
        }
      })
      .catch(function () {})
      .then(again);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-async]")) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    var target = form.getAttribute("action"); // not form.action: a field may be named "action"
    var body = new URLSearchParams(new FormData(form));
    fetch(target, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "x-waypost-fetch": "1" },
    })
      .then(function (r) {
        return r.text().then(function (text) {
          say(text.trim(), !r.ok);
          var location = r.headers.get("x-waypost-location");
          if (r.ok && location) window.location.assign(location);
          else if (r.ok && target.slice(-7) === "/delete") {
            window.location.assign(target.replace(/\/instances\/[^/]+\/delete$/, ""));
          }
        });
      })
      .catch(function (error) { say("the host did not answer: " + error, true); });
  });

  document.querySelectorAll("[data-live]").forEach(function (box) {
    box.dataset.last = box.innerHTML;
    setTimeout(function () { poll(box); }, POLL_MS);
  });
})();
