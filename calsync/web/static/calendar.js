// Profile → Calendar: while a full sync runs (after Resync or connecting), poll the small status endpoint and
// show the result when it finishes. Without JavaScript, reloading the page shows the same information.
(function () {
  var el = document.getElementById("resync-progress");
  if (!el || el.dataset.running !== "true") return;
  var tries = 0;
  function poll() {
    tries += 1;
    fetch("/profile/calendar/status.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        if (s.status === "error") { window.location.reload(); return; }
        if (!s.resync_running) {
          el.dataset.running = "false";
          el.className = "ok";
          el.textContent = "Resync finished: last synced " + s.last_synced + "; " + s.pending_changes +
            " change" + (s.pending_changes === 1 ? "" : "s") + " waiting.";
          var last = document.querySelector("[data-testid=last-synced]");
          if (last) last.textContent = s.last_synced;
          var pending = document.querySelector("[data-testid=pending]");
          if (pending) pending.textContent = String(s.pending_changes);
          return;
        }
        el.textContent = "Full sync in progress (" + (s.need_full_sync_reason || "checking every event") +
          "). " + s.pending_changes + " change" + (s.pending_changes === 1 ? "" : "s") + " waiting.";
        if (tries < 300) setTimeout(poll, 2000);
      })
      .catch(function () { if (tries < 300) setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1500);
})();
