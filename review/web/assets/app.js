// The review page: re-fetch the live part on every channel update, and
// decide with one click (approve + persist asks to confirm the manifest
// edit shown on the card). Shows whether the live stream is connected,
// highlights proposals that arrived since the page loaded, and can raise a
// browser notification for them. No framework, no build step.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var status = document.getElementById("status");
  var state = document.getElementById("state");
  var notifyBtn = document.getElementById("notify");
  var base = live.getAttribute("data-base");

  function pendingIds() {
    var ids = {};
    live.querySelectorAll("#pending [data-proposal]").forEach(function (el) { ids[el.getAttribute("data-proposal")] = true; });
    return ids;
  }
  var seen = pendingIds();
  var shown = null; // the live part as last fetched

  function refresh() {
    return fetch(base + "/partial", { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        // Unchanged: leave the page alone, so a click on its way to a
        // button is not lost to a redraw. Changed: keep what the person
        // was typing (a deny reason) and where.
        if (html === shown) { return; }
        shown = html;
        var typed = {};
        live.querySelectorAll("[data-proposal] input[name]").forEach(function (el) {
          if (el.value) { typed[el.closest("[data-proposal]").getAttribute("data-proposal") + " " + el.name] = el.value; }
        });
        var focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("[data-proposal]");
        var focusKey = focused && document.activeElement.name ? focused.getAttribute("data-proposal") + " " + document.activeElement.name : "";
        live.innerHTML = html;
        live.querySelectorAll("[data-proposal] input[name]").forEach(function (el) {
          var key = el.closest("[data-proposal]").getAttribute("data-proposal") + " " + el.name;
          if (typed[key]) { el.value = typed[key]; }
          if (key === focusKey) { el.focus(); }
        });
        var fresh = 0;
        live.querySelectorAll("#pending [data-proposal]").forEach(function (el) {
          var id = el.getAttribute("data-proposal");
          if (!seen[id]) { el.classList.add("new"); seen[id] = true; fresh++; }
        });
        if (fresh && window.Notification && Notification.permission === "granted" && document.hidden) {
          // Our words only: the agent's text stays on the page, where it is marked as the agent's.
          new Notification("bot-bottle: " + fresh + " new proposal(s) to review");
        }
      });
  }

  function say(text, cls) {
    status.textContent = text;
    status.className = cls || "";
  }

  live.addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    var button = e.submitter;
    var scope = button.getAttribute("data-scope") || "once";
    if (button.value === "approve" && scope === "persist" &&
        !window.confirm("Approve and also write the route into " + button.getAttribute("data-manifest") +
          " (the diff is shown on the card)?")) {
      return;
    }
    var data = new URLSearchParams(new FormData(form));
    data.set("action", button.value);
    data.set("scope", scope);
    say("deciding…");
    // getAttribute: a control named "action" shadows form.action.
    fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (out) {
        if (out.error) { say(out.error, "refused"); }
        else { say(out.status + " " + out.proposal_id + ": " + out.notes, out.status); }
        return refresh();
      })
      .catch(function (err) { say(String(err), "refused"); });
  });

  if (window.Notification && Notification.permission === "default") {
    notifyBtn.hidden = false;
    notifyBtn.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notifyBtn.hidden = true; });
    });
  }

  function setState(s) { state.textContent = s; state.className = s; }
  var es = new EventSource(base + "/events");
  es.addEventListener("open", function () { setState("connected"); refresh(); });
  es.addEventListener("error", function () { setState("reconnecting"); });
  es.addEventListener("update", function () { refresh(); });
})();
