// Scanner page: camera (qr-scanner), keyboard-wedge scanners, search, offline queue and sync.
// Decisions are the server's (POST /api/v1/checkin); when the network is gone the page
// decides from the session roster it keeps in IndexedDB and queues the scans with their
// time and nonce, then replays them through /api/v1/checkin/sync (safe to send twice).
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root) return;
  var TEXT = JSON.parse(document.getElementById("scanner-text").textContent);
  var API = root.dataset.api.replace(/\/$/, "");
  var WORKSHOP = Number(root.dataset.workshopId);
  var SESSION = Number(root.dataset.sessionId);
  var CSRF = root.dataset.csrf;
  var MAY_OVERRIDE = !!root.dataset.mayOverride;  // organisers may admit outside the session's time; volunteers not
  var DEVICE = localStorage.getItem("scanner-device") || ("phone-" + Math.random().toString(36).slice(2, 8));
  localStorage.setItem("scanner-device", DEVICE);

  var roster = new Map();      // sha256(ticket) -> person
  var checkedIn = new Map();   // registration id -> when checked in to this session (as far as we know)
  var admittedHere = new Map(); // ... of which admitted offline on this phone and not yet synced
  var window_ = null;          // the session's admission window: {from, until} (Date)
  var lastAttendance = null, lastPerson = null;
  var lastCode = "", lastCodeAt = 0;
  var resultBox = document.getElementById("result");

  // ---- storage (IndexedDB): the roster and the queue of offline scans ----
  var dbPromise = new Promise(function (resolve, reject) {
    var request = indexedDB.open("workshops-checkin", 1);
    request.onupgradeneeded = function () {
      request.result.createObjectStore("rosters");
      request.result.createObjectStore("queue", { keyPath: "nonce" });
    };
    request.onsuccess = function () { resolve(request.result); };
    request.onerror = function () { reject(request.error); };
  });
  function store(name, mode, action) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var request = action(tx.objectStore(name));
        tx.oncomplete = function () { resolve(request && request.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }

  function nonce() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function sha256(text) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (buffer) {
      return Array.from(new Uint8Array(buffer)).map(function (b) { return b.toString(16).padStart(2, "0"); }).join("");
    });
  }
  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }
  // Wi-Fi that is up but leads nowhere would otherwise hold every scan until the browser gives
  // up: after a few seconds the page decides offline instead (the nonce makes a resend safe).
  function api(method, path, body, seconds) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, (seconds || 5) * 1000);
    return fetch(API + path, {
      method: method, credentials: "same-origin", signal: controller ? controller.signal : undefined,
      headers: { "Content-Type": "application/json", "X-CSRFToken": CSRF, "Accept": "application/json" },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      if (response.status >= 500 || response.status === 0) throw new Error("server");
      return response.status === 204 ? {} : response.json().then(function (data) {  // the body is timed too
        if (!response.ok) { var error = new Error(data.message || "error"); error.status = response.status; throw error; }
        return data;
      });
    }).finally(function () { clearTimeout(timer); });
  }

  // ---- network state ----
  var network = document.getElementById("network");
  function setOnline(online) { network.dataset.state = online ? "online" : "offline"; }
  window.addEventListener("online", function () { setOnline(true); sync(); });
  window.addEventListener("offline", function () { setOnline(false); });

  // ---- roster and counters ----
  function loadRoster() {
    return api("GET", "/workshops/" + WORKSHOP + "/roster?session_id=" + SESSION, null, 60).then(function (data) {
      setOnline(true);
      return store("rosters", "readwrite", function (s) { return s.put(data, SESSION); }).then(function () { return data; });
    }).catch(function () {
      setOnline(false);
      return store("rosters", "readonly", function (s) { return s.get(SESSION); });
    }).then(useRoster);
  }
  function keptRoster() {
    return store("rosters", "readonly", function (s) { return s.get(SESSION); }).then(useRoster);
  }
  function useRoster(data) {
    if (!data) return;
    roster.clear();
    checkedIn = new Map(admittedHere);  // rebuilt: a check-in undone elsewhere is no longer "in"
    data.people.forEach(function (p) {
      roster.set(p.ticket_sha256, p);
      if (p.checked_in_at) checkedIn.set(p.id, p.checked_in_at);
    });
    if (data.admits_from) window_ = { from: new Date(data.admits_from), until: new Date(data.admits_until) };
    if (data.counters) showCounters(data.counters);
  }
  function showCounters(counters) {
    var parts = Object.keys(counters).map(function (mode) {
      var c = counters[mode];
      return TEXT[mode] + " " + c.checked_in + " / " + c.expected;
    });
    document.getElementById("counters").textContent = parts.join(" · ") + " " + TEXT.checked_in;
  }
  function refreshCounters() {
    api("GET", "/sessions/" + SESSION + "/counters").then(function (d) { showCounters(d.counters); }).catch(function () {});
  }

  // ---- the result screen ----
  var hideTimer = null;
  function show(tone, title, name, detail, extra) {
    resultBox.dataset.tone = tone;
    resultBox.querySelector(".result-title").textContent = title;
    resultBox.querySelector(".result-name").textContent = name || "";
    resultBox.querySelector(".result-detail").textContent = detail || "";
    var old = resultBox.querySelector("button"); if (old) old.remove();
    if (extra) resultBox.insertBefore(extra, resultBox.querySelector(".result-hint"));
    resultBox.hidden = false;
    // Focus stays in the code field: a USB/Bluetooth scanner types the next ticket at once.
    document.getElementById("code").focus();
    feedback(tone);
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, tone === "green" ? 2500 : 6000);
  }
  function hide() { resultBox.hidden = true; document.getElementById("code").focus(); }
  resultBox.addEventListener("click", function (event) { if (event.target.tagName !== "BUTTON") hide(); });
  // One audio context for the page, unlocked by the first tap (phones keep sound off until then).
  var audio = null;
  function unlockSound() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
    } catch (e) { audio = null; }
  }
  document.addEventListener("click", unlockSound, { once: true });
  document.addEventListener("keydown", unlockSound, { once: true });
  function feedback(tone) {
    if (navigator.vibrate) navigator.vibrate(tone === "green" ? 80 : [200, 100, 200]);
    if (!audio) return;
    try {
      var osc = audio.createOscillator();
      osc.frequency.value = tone === "green" ? 880 : 220;
      osc.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.15);
    } catch (e) { /* no sound on this device */ }
  }
  function describe(answer) {
    var person = answer.person || {};
    var detail = [person.organisation, person.mode && TEXT[person.mode]].filter(Boolean).join(" · ");
    if (answer.reason === "ok") {
      if (person.id) checkedIn.set(person.id, answer.checked_in_at || new Date().toISOString());
      lastAttendance = answer.attendance_id || null;
      lastPerson = person.id || null;
      document.getElementById("undo").disabled = !lastAttendance;
      show("green", TEXT.ok, person.name, answer.offline ? detail + " — " + TEXT.offline_decision : detail);
      refreshCounters();
    } else if (answer.reason === "already_checked_in") {
      var when = answer.checked_in_at ? new Date(answer.checked_in_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
      var by = answer.checked_in_by ? " " + format(TEXT.by, { name: answer.checked_in_by }) : "";
      show("amber", format(TEXT.already, { time: when }) + by, person.name, detail);
    } else {
      var extra = null;
      var title = TEXT.reasons[answer.reason] || answer.message;
      if (answer.reason === "outside_session" && !MAY_OVERRIDE) title = TEXT.outside_volunteer;
      if (answer.reason === "outside_session" && MAY_OVERRIDE) {
        extra = document.createElement("button");
        extra.className = "button"; extra.type = "button"; extra.textContent = TEXT.override;
        extra.addEventListener("click", function () { redeem(answer.retry, true); });
      }
      show("red", title, person.name, detail, extra);
    }
  }

  // ---- redeeming ----
  function redeem(scan, override) {
    scan = Object.assign({}, scan, { override: !!override, nonce: override ? nonce() : scan.nonce });
    // Online, the server's clock says when; the phone's (scanned_at) only counts for a queued scan.
    return api("POST", "/checkin", Object.assign({}, scan, { scanned_at: undefined })).then(function (answer) {
      setOnline(true);
      answer.retry = scan;
      describe(answer);
    }).catch(function (error) {
      if (error.status) { show("red", TEXT.error, "", error.message); return; }
      setOnline(false);
      decideOffline(scan);
    });
  }
  function decideOffline(scan) {
    var lookup = scan.token ? sha256(scan.token).then(function (d) { return roster.get(d); })
                            : Promise.resolve(Array.from(roster.values()).find(function (p) { return p.id === scan.registration_id; }));
    lookup.then(function (person) {
      if (!person) { describe({ reason: "unknown_ticket" }); return; }
      var shown = { name: person.name, organisation: person.organisation, mode: person.mode, id: person.id };
      // The server's decision order, on what the phone knows.
      var reasons = { cancelled: "cancelled", rejected: "cancelled", waitlisted: "waitlisted", pending: "pending_approval" };
      if (reasons[person.status]) { describe({ reason: reasons[person.status], person: shown }); return; }
      if (checkedIn.has(person.id)) {
        describe({ reason: "already_checked_in", person: shown, checked_in_at: checkedIn.get(person.id) }); return;
      }
      var at = new Date(scan.scanned_at);
      if (!scan.override && window_ && (at < window_.from || at > window_.until)) {
        describe({ reason: "outside_session", person: shown, retry: scan }); return;
      }
      // Queued with what the phone needs to know of it; those fields are not sent.
      var queued = Object.assign({}, scan, { workshop_id: WORKSHOP, person_id: person.id });
      store("queue", "readwrite", function (s) { return s.put(queued); }).then(showQueue);
      admittedHere.set(person.id, scan.scanned_at);
      describe({ reason: "ok", person: shown, offline: true, checked_in_at: scan.scanned_at });
    });
  }
  function scanCode(code) {
    code = (code || "").trim();
    if (!code) return;
    var now = Date.now();
    // The camera sees a code many times a second: it counts again only after 3 s out of view.
    if (code === lastCode && now - lastCodeAt < 3000) { lastCodeAt = now; return; }
    lastCode = code; lastCodeAt = now;
    redeem({ session_id: SESSION, token: code, nonce: nonce(), device: DEVICE, method: "qr",
             scanned_at: new Date().toISOString() });
  }

  // ---- offline queue ----
  function showQueue() {
    return store("queue", "readonly", function (s) { return s.count(); }).then(function (n) {
      var badge = document.getElementById("queued");
      badge.hidden = !n;
      badge.textContent = format(TEXT.queued, { n: n });
    });
  }
  var syncing = false;
  var refusedShown = "";
  function sync() {
    if (syncing) return Promise.resolve();
    syncing = true;
    return store("queue", "readonly", function (s) { return s.getAll(); }).then(function (queued) {
      // This workshop's scans only: another workshop's wait until its scanner page is open here.
      var mine = (queued || []).filter(function (q) { return q.workshop_id === WORKSHOP; }).slice(0, 200);
      if (!mine.length) return;
      var scans = mine.map(function (q) {
        var scan = Object.assign({}, q); delete scan.workshop_id; delete scan.person_id; return scan;
      });
      return api("POST", "/checkin/sync", { scans: scans }, 30).then(function (data) {
        setOnline(true);
        mine.forEach(function (q) { admittedHere.delete(q.person_id); });
        // The phone let these people in offline, the server did not (say, a ticket re-issued
        // meanwhile): the door must know. They are in the scan log with the server's reason.
        var refused = data.results.filter(function (r) { return r.reason !== "ok" && r.reason !== "already_checked_in"; });
        if (refused.length) {
          var names = {}, queuedBy = {};  // who it was, as the phone knew them (a re-issued ticket is unknown to the server)
          roster.forEach(function (p) { names[p.id] = p.name; });
          mine.forEach(function (q) { queuedBy[q.nonce] = q; });
          show("red", format(TEXT.sync_overruled, { n: refused.length }), "", refused.map(function (r) {
            var name = (r.person && r.person.name) || names[(queuedBy[r.nonce] || {}).person_id] || "?";
            return name + ": " + (TEXT.reasons[r.reason] || r.message);
          }).join(" · "));
        }
        return store("queue", "readwrite", function (s) {
          data.results.forEach(function (r) { s.delete(r.nonce); });
        }).then(refreshCounters);
      });
    }).catch(function (error) {
      if (!error.status) { setOnline(false); return; }
      // The server answered but refused (say, a volunteer's link expired meanwhile): the network is
      // fine, the scans stay queued until someone allowed to scan here opens this page.
      setOnline(true);
      if (refusedShown !== error.message) { refusedShown = error.message; show("red", format(TEXT.sync_refused, { message: error.message }), "", ""); }
    }).then(function () { syncing = false; return showQueue(); });
  }
  setInterval(sync, 10000);
  // Other doors check people in too: keep the counters live and the offline copy fresh.
  setInterval(function () { if (network.dataset.state === "online") refreshCounters(); }, 15000);
  setInterval(function () { if (network.dataset.state === "online") loadRoster(); }, 120000);

  // ---- inputs: camera, keyboard-wedge scanner, search, undo ----
  document.getElementById("code-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("code");
    lastCode = "";
    scanCode(input.value);
    input.value = "";
  });
  document.getElementById("search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var q = document.getElementById("search").value.trim();
    if (!q) return;
    api("GET", "/workshops/" + WORKSHOP + "/search?session_id=" + SESSION + "&q=" + encodeURIComponent(q))
      .then(renderResults)
      .catch(function () {
        var needle = q.toLowerCase();
        renderResults(Array.from(roster.values()).filter(function (p) {
          return (p.name + " " + p.organisation).toLowerCase().indexOf(needle) >= 0;
        }).slice(0, 30));
      });
  });
  function renderResults(people) {
    var list = document.getElementById("search-results");
    list.textContent = "";
    if (!people.length) { var li = document.createElement("li"); li.textContent = TEXT.no_results; list.appendChild(li); return; }
    people.forEach(function (p) {
      var li = document.createElement("li");
      var label = document.createElement("span");
      label.textContent = p.name + (p.organisation ? " — " + p.organisation : "");
      var button = document.createElement("button");
      button.className = "button"; button.type = "button"; button.textContent = TEXT.check_in;
      button.addEventListener("click", function () {
        redeem({ session_id: SESSION, registration_id: p.id, nonce: nonce(), device: DEVICE, method: "search",
                 scanned_at: new Date().toISOString() });
      });
      li.appendChild(label); li.appendChild(button); list.appendChild(li);
    });
  }
  document.getElementById("undo").addEventListener("click", function () {
    if (!lastAttendance) return;
    api("DELETE", "/attendances/" + lastAttendance).then(function () {
      checkedIn.delete(lastPerson);
      lastAttendance = null; lastPerson = null;
      document.getElementById("undo").disabled = true;
      show("amber", TEXT.undone, "", "");
      loadRoster();
    }).catch(function (error) {
      show("red", TEXT.undo_failed, "", error.status ? error.message : TEXT.offline_undo);
    });
  });

  var camera = null;
  function startCamera() {
    var video = document.getElementById("camera");
    if (!window.QrScanner) return;
    camera = new QrScanner(video, function (result) { scanCode(result.data || result); },
                           { returnDetailedScanResult: true, highlightScanRegion: false, maxScansPerSecond: 8 });
    camera.start().then(function () {
      document.getElementById("camera-start").hidden = true;
    }).catch(function () {
      document.getElementById("camera-error").hidden = false;
      document.getElementById("camera-start").hidden = true;
    });
  }
  document.getElementById("camera-start").addEventListener("click", startCamera);

  if ("serviceWorker" in navigator && root.dataset.sw) {
    navigator.serviceWorker.register(root.dataset.sw, { scope: root.dataset.sw.replace(/sw\.js$/, "") }).catch(function () {});
  }
  // The copy kept on the phone first (the camera and the decisions need not wait for the
  // network), then a fresh one.
  startCamera();
  keptRoster().catch(function () {}).then(loadRoster).then(function () { showQueue(); sync(); });
  document.getElementById("code").focus();
})();
