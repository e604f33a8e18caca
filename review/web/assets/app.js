// The review page: re-fetch the live part on every channel update, and
// decide with one click. No framework, no build step.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var status = document.getElementById("status");
  var base = live.getAttribute("data-base");

  function refresh() {
    return fetch(base + "/partial", { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) { live.innerHTML = html; });
  }

  function say(text, cls) {
    status.textContent = text;
    status.className = cls || "";
  }

  live.addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    var button = e.submitter;
    var data = new URLSearchParams(new FormData(form));
    data.set("action", button.value);
    data.set("scope", button.getAttribute("data-scope") || "once");
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

  var es = new EventSource(base + "/events");
  es.addEventListener("update", function () { refresh(); });
})();
