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
  // Check-ins this phone made or saw since its roster was fetched: id -> {at, noted (phone time),
  // queued (admitted offline, not yet synced)}. A roster fetched before them does not know them.
  var recent = new Map();
  var rosterAsked = 0;         // phone time the roster in use was asked for (a slower, older answer is dropped)
  var window_ = null;          // the session's admission window: {from, until} (Date)
  var lastAttendance = null, lastPerson = null;
  var latest = 0;              // the newest scan: only its answer is shown
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
        tx.onabort = function () { reject(tx.error || new Error("aborted")); };  // e.g. storage full
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
    var asked = Date.now();
    return api("GET", "/workshops/" + WORKSHOP + "/roster?session_id=" + SESSION, null, 60).then(function (data) {
      setOnline(true);
      data.asked = asked;
      useRoster(data);  // used even if the phone cannot keep it
      return store("rosters", "readwrite", function (s) { return s.put(data, SESSION); }).catch(function () {});
    }, function () { setOnline(false); });
  }
  function keptRoster() {
    return store("rosters", "readonly", function (s) { return s.get(SESSION); }).then(useRoster);
  }
  function useRoster(data) {
    if (!data || (data.asked || 0) < rosterAsked) return;  // an older roster than the one in use
    rosterAsked = data.asked || 0;
    roster.clear();
    checkedIn = new Map();
    data.people.forEach(function (p) {
      roster.set(p.ticket_sha256, p);
      if (p.checked_in_at) checkedIn.set(p.id, p.checked_in_at);
    });
    // What this phone knows that the roster cannot: check-ins still queued, or newer than it.
    // Anything else the roster does not show was undone elsewhere.
    recent.forEach(function (entry, id) {
      if (checkedIn.has(id) && !entry.queued) recent.delete(id);
      else if (entry.queued || entry.noted >= rosterAsked) checkedIn.set(id, entry.at);
      else recent.delete(id);
    });
    if (data.admits_from) window_ = { from: new Date(data.admits_from), until: new Date(data.admits_until) };
    if (data.counters) showCounters(data.counters);
  }
  function noteIn(id, at, queued) {
    if (!id) return;
    recent.set(id, { at: at, noted: Date.now(), queued: queued });
    checkedIn.set(id, at);
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
  // An answer about one scan. What it teaches is always kept; it is shown only if no newer scan
  // was made meanwhile (answers can arrive out of order).
  function describe(answer, seq) {
    var person = answer.person || {};
    var detail = [person.organisation, person.mode && TEXT[person.mode]].filter(Boolean).join(" · ");
    if (answer.reason === "ok" && !answer.offline) noteIn(person.id, answer.checked_in_at || new Date().toISOString(), false);
    if (seq !== latest) return;
    if (answer.reason === "ok") {
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
    var seq = ++latest;
    scan = Object.assign({}, scan, { override: !!override, nonce: override ? nonce() : scan.nonce });
    // Someone this phone let in offline, not yet synced: the server cannot know, the phone does.
    return findPerson(scan).then(function (person) {
      var entry = person && recent.get(person.id);
      if (entry && entry.queued) {
        describe({ reason: "already_checked_in", person: shownPerson(person), checked_in_at: entry.at }, seq);
        return;
      }
      return ask(scan, seq);
    });
  }
  function ask(scan, seq) {
    // Online, the server's clock says when; the phone's (scanned_at) only counts for a queued scan.
    return api("POST", "/checkin", Object.assign({}, scan, { scanned_at: undefined })).then(function (answer) {
      setOnline(true);
      answer.retry = scan;
      describe(answer, seq);
    }, function (error) {
      if (error.status) { if (seq === latest) show("red", TEXT.error, "", error.message); return; }
      setOnline(false);
      return decideOffline(scan, seq);
    });
  }
  function findPerson(scan) {  // the roster's entry for a scan's ticket or search pick (or undefined)
    if (!scan.token) return Promise.resolve(Array.from(roster.values()).find(function (p) { return p.id === scan.registration_id; }));
    return sha256(scan.token).then(function (d) { return roster.get(d); }, function () { return undefined; });
  }
  function shownPerson(person) {
    return { name: person.name, organisation: person.organisation, mode: person.mode, id: person.id };
  }
  function decideOffline(scan, seq) {
    return findPerson(scan).then(function (person) {
      if (!person) { describe({ reason: "unknown_ticket" }, seq); return; }
      var shown = shownPerson(person);
      // The server's decision order, on what the phone knows.
      var reasons = { cancelled: "cancelled", rejected: "cancelled", waitlisted: "waitlisted", pending: "pending_approval" };
      if (reasons[person.status]) { describe({ reason: reasons[person.status], person: shown }, seq); return; }
      if (checkedIn.has(person.id)) {
        describe({ reason: "already_checked_in", person: shown, checked_in_at: checkedIn.get(person.id) }, seq); return;
      }
      var at = new Date(scan.scanned_at);
      if (!scan.override && window_ && (at < window_.from || at > window_.until)) {
        describe({ reason: "outside_session", person: shown, retry: scan }, seq); return;
      }
      // Green only once the scan is kept on the phone. Queued with what the phone needs to know
      // of it (the workshop, the person); those fields are not sent.
      noteIn(person.id, scan.scanned_at, true);
      var queued = Object.assign({}, scan, { workshop_id: WORKSHOP, person_id: person.id });
      return store("queue", "readwrite", function (s) { return s.put(queued); }).then(function () {
        showQueue();
        describe({ reason: "ok", person: shown, offline: true, checked_in_at: scan.scanned_at }, seq);
      }, function () {
        recent.delete(person.id); checkedIn.delete(person.id);
        if (seq === latest) show("red", TEXT.not_kept, person.name, "");
      });
    }).catch(function () { if (seq === latest) show("red", TEXT.error, "", ""); });
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
  var syncing = null;  // the sync in flight
  function sync() {
    if (syncing) return syncing;
    syncing = store("queue", "readonly", function (s) { return s.getAll(); }).then(function (queued) {
      // This workshop's scans only: another workshop's wait until its scanner page is open here.
      var mine = (queued || []).filter(function (q) { return q.workshop_id === WORKSHOP; }).slice(0, 200);
      if (!mine.length) return;
      var scans = mine.map(function (q) {
        var scan = Object.assign({}, q); delete scan.workshop_id; delete scan.person_id; return scan;
      });
      return api("POST", "/checkin/sync", { scans: scans }, 30).then(function (data) {
        setOnline(true);
        notice("");
        mine.forEach(function (q) { var entry = recent.get(q.person_id); if (entry) entry.queued = false; });
        // The phone let these people in offline, the server did not (say, a ticket re-issued
        // meanwhile): the door must know. They are in the scan log with the server's reason.
        var refused = data.results.filter(function (r) { return r.reason !== "ok" && r.reason !== "already_checked_in"; });
        if (refused.length) {
          var names = {}, queuedBy = {};  // who it was, as the phone knew them (a re-issued ticket is unknown to the server)
          roster.forEach(function (p) { names[p.id] = p.name; });
          mine.forEach(function (q) { queuedBy[q.nonce] = q; });
          notice(format(TEXT.sync_overruled, { n: refused.length }) + " " + refused.map(function (r) {
            var name = (r.person && r.person.name) || names[(queuedBy[r.nonce] || {}).person_id] || "?";
            return name + ": " + (TEXT.reasons[r.reason] || r.message);
          }).join(" · "), true);
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
      notice(format(TEXT.sync_refused, { message: error.message }));  // until a sync goes through
    }).then(function () { syncing = null; return showQueue(); });
    return syncing;
  }
  // What sync has to say stays on the page, beside the network state, until read: the result
  // screen is for the person at the door.
  var noticeBox = document.getElementById("sync-notice");
  function notice(text, keep) {
    if (!text && noticeBox.dataset.keep) return;
    noticeBox.textContent = text;
    noticeBox.hidden = !text;
    noticeBox.dataset.keep = keep ? "1" : "";
  }
  noticeBox.addEventListener("click", function () { noticeBox.dataset.keep = ""; notice(""); });
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
      checkedIn.delete(lastPerson); recent.delete(lastPerson);
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
    if (!window.QrScanner || camera) return;
    camera = new QrScanner(video, function (result) { scanCode(result.data || result); },
                           { returnDetailedScanResult: true, highlightScanRegion: false, maxScansPerSecond: 8 });
    camera.start().then(function () {
      document.getElementById("camera-start").hidden = true;
      document.getElementById("camera-error").hidden = true;
    }).catch(function () {  // no permission yet, or no camera: the button tries again
      document.getElementById("camera-error").hidden = false;
      camera.destroy(); camera = null;
    });
  }
  document.getElementById("camera-start").addEventListener("click", startCamera);

  if ("serviceWorker" in navigator && root.dataset.sw) {
    navigator.serviceWorker.register(root.dataset.sw, { scope: root.dataset.sw.replace(/sw\.js$/, "") }).catch(function () {});
    // On the first visit the page loaded before the worker: fetch it and its files once more
    // through the worker, so that a reload without network still finds them.
    var warm = function () {
      var files = Array.from(document.querySelectorAll("script[src], link[rel=stylesheet][href]"))
        .map(function (el) { return el.src || el.href; });
      files.push(location.href, root.dataset.qrWorker);
      files.forEach(function (url) { if (url) fetch(url, { credentials: "same-origin" }).catch(function () {}); });
    };
    if (navigator.serviceWorker.controller) warm();
    else navigator.serviceWorker.addEventListener("controllerchange", warm, { once: true });
  }
  // Scans queued before a reload are still "in" on this phone until synced.
  var restored = store("queue", "readonly", function (s) { return s.getAll(); }).then(function (queued) {
    (queued || []).forEach(function (q) {
      if (q.workshop_id === WORKSHOP && q.session_id === SESSION && q.person_id) {
        recent.set(q.person_id, { at: q.scanned_at, noted: 0, queued: true });
      }
    });
  }).catch(function () {});
  // The copy kept on the phone first (the camera and the decisions need not wait for the
  // network), then a fresh one.
  startCamera();
  restored.then(keptRoster).catch(function () {}).then(loadRoster).then(function () { showQueue(); sync(); });
  document.getElementById("code").focus();
})();
