// Profile → Calendar. (1) While a full sync runs (after Resync or connecting), poll the small status endpoint and
// show the result when it finishes, replacing the "Resync requested" notice. Without JavaScript, reloading the page
// shows the same information. (2) Disconnect asks for confirmation, saying what will be removed.
(function () {
  var form = document.getElementById("disconnect-form");
  if (form) {
    form.addEventListener("submit", function (e) {
      var remove = form.querySelector("input[name=remove_entries]");
      var text = remove && remove.checked ? form.dataset.confirmRemove : form.dataset.confirm;
      if (!window.confirm(text)) e.preventDefault();
    });
  }
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
          var notice = document.getElementById("page-notice");
          if (notice && notice.dataset.kind === "resync") notice.remove();
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
