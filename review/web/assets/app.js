// The review page: re-fetch the live part on every channel update, and
// decide with one click (approve + persist asks to confirm the manifest
// edit shown on the card; deny needs a reason; modify narrows the route)
// or from the keyboard on a desktop. Shows whether the live stream is
// connected, highlights proposals that arrived since the page loaded, and
// can raise a browser notification for them. No framework, no build step.
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
        var opened = {};
        live.querySelectorAll("[data-proposal] details[open]").forEach(function (el) {
          opened[el.closest("[data-proposal]").getAttribute("data-proposal")] = true;
        });
        var focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("[data-proposal]");
        var focusKey = focused && document.activeElement.name ? focused.getAttribute("data-proposal") + " " + document.activeElement.name : "";
        live.innerHTML = html;
        // Open first: a field inside a closed details cannot take the focus.
        live.querySelectorAll("[data-proposal] details").forEach(function (el) {
          if (opened[el.closest("[data-proposal]").getAttribute("data-proposal")]) { el.open = true; }
        });
        live.querySelectorAll("[data-proposal] input[name]").forEach(function (el) {
          var key = el.closest("[data-proposal]").getAttribute("data-proposal") + " " + el.name;
          if (typed[key]) { el.value = typed[key]; }
          if (key === focusKey) { el.focus(); }
        });
        mark();
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
    var reason = form.querySelector("input[name=reason]");
    if (button.value === "deny" && !reason.value.trim()) {
      say("a deny needs a reason: the agent reads it to decide what to do next", "refused");
      reason.focus();
      return;
    }
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

  // Enter in a field never submits the form's first button (Approve): in
  // the reason it denies, in the modify fields it modifies.
  live.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !e.target.matches("form.decide input")) { return; }
    e.preventDefault();
    var action = e.target.name === "reason" ? "deny" : "modify";
    var btn = e.target.form.querySelector('button[value="' + action + '"]');
    if (btn) { btn.click(); }
  });

  // Keyboard shortcuts on a desktop: j/k select a pending proposal, a
  // approve, p approve + persist (confirmed), m modify, d deny (focus the
  // reason); Esc leaves a field. Keys typed in a field are the field's.
  var current = "";
  function cards() { return Array.prototype.slice.call(live.querySelectorAll("#pending [data-proposal]")); }
  function mark() {
    var cs = cards(), found = null;
    cs.forEach(function (c) {
      var on = c.getAttribute("data-proposal") === current;
      c.classList.toggle("current", on);
      if (on) { found = c; }
    });
    return found;
  }
  function move(step) {
    var cs = cards();
    if (!cs.length) { return; }
    var i = cs.findIndex(function (c) { return c.getAttribute("data-proposal") === current; });
    i = i < 0 ? 0 : Math.min(cs.length - 1, Math.max(0, i + step));
    current = cs[i].getAttribute("data-proposal");
    mark().scrollIntoView({ block: "nearest" });
  }
  function shortcut(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return false; }
    var t = e.target;
    if (t.matches && t.matches("input, textarea, select")) {
      if (e.key === "Escape" && e.type === "keydown") { t.blur(); }
      return false;
    }
    return true;
  }
  document.addEventListener("keydown", function (e) {
    if (!shortcut(e)) { return; }
    if (e.key === "j" || e.key === "k") { move(e.key === "j" ? 1 : -1); e.preventDefault(); return; }
    if (e.key === "m" || e.key === "d") { e.preventDefault(); return; } // on keyup, below
    var card = mark();
    var sel = { a: 'button[value="approve"][data-scope="once"]', p: 'button[value="approve"][data-scope="persist"]' }[e.key];
    var b = sel && card && card.querySelector(sel);
    if (b) { e.preventDefault(); b.click(); }
  });
  // m and d move the focus into a field: on keyup, once the key's own
  // character has gone, so it is never typed into the field.
  document.addEventListener("keyup", function (e) {
    var card = shortcut(e) && mark();
    if (!card) { return; }
    if (e.key === "m") {
      var d = card.querySelector("details.modify");
      if (!d) { return; }
      d.open = true;
      d.querySelector("input[name=paths]").focus();
    } else if (e.key === "d") {
      card.querySelector("input[name=reason]").focus();
    }
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
