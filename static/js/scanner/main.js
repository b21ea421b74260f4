// The scanner page (templates/checkin/scanner.html): camera (qr-scanner), keyboard-wedge
// scanners, search, offline queue and sync. Decisions are the server's (POST /api/v1/checkin);
// when the network is gone the phone decides with the server's decision order from the session
// roster it keeps in IndexedDB, and queues the scans with their time and nonce for
// /api/v1/checkin/sync (safe to send twice). This module only builds the parts and wires them:
//   state.js    what the phone knows of the session       (pure)
//   decide.js   the server's decision table, walked        (pure)
//   door.js     a scan's way: ask the server, or decide here
//   sync.js     the roster down, the queue up
//   queue.js    the offline queue as data                  (pure)
//   answers.js  what the door shows for an answer          (pure)
//   tickets.js  ticket digests, nonces, camera repeats     (pure)
//   store.js    IndexedDB     network.js  the JSON API     screen.js  the page (DOM)
//   camera.js   the camera    feedback.js vibrate, beep    offline-page.js  the service worker
import { createApi } from "./network.js";
import { createCamera } from "./camera.js";
import { createDoor } from "./door.js";
import { createScreen } from "./screen.js";
import { createSync } from "./sync.js";
import { scanningEnded } from "./queue.js";
import { DoorState } from "./state.js";
import { forgetPageOffline, keepPageOffline } from "./offline-page.js";
import { format } from "./answers.js";
import { openStore } from "./store.js";
import { unlockSoundOnFirstTap } from "./feedback.js";

const root = document.getElementById("scanner");
if (root) start(root);

function deviceId() {  // the phone's name in the scan log, kept across visits
  const made = "phone-" + Math.random().toString(36).slice(2, 8);
  try {
    const device = localStorage.getItem("scanner-device") || made;
    localStorage.setItem("scanner-device", device);
    return device;
  } catch (e) {
    return made;
  }
}

function start(root) {
  const text = JSON.parse(document.getElementById("scanner-text").textContent);
  const state = new DoorState(Number(root.dataset.workshopId), Number(root.dataset.sessionId));
  // The order the server rendered into the page: the phone can decide even if the only roster
  // it has was kept by an older version of this page.
  state.order = JSON.parse(root.dataset.decisionOrder || "null");
  state.volunteer = !!root.dataset.volunteer;
  const screen = createScreen(document, text);
  const api = createApi(root.dataset.api, root.dataset.csrf);
  const store = openStore();
  const sync = createSync({ api, store, state, screen, text, forgetPage: forgetPageOffline });
  // Organisers may admit outside the session's time; volunteers not.
  const mayOverride = !!root.dataset.mayOverride;
  const door = createDoor({ api, store, state, screen, sync, text, mayOverride, device: deviceId() });
  const search = (q) => api.search(state.workshopId, state.sessionId, q)
    .catch((error) => (scanningEnded(error) ? sync.forget(error).then(() => []) : state.search(q)))  // offline
    .then((people) => screen.renderResults(people, door.pick));
  screen.onInputs({ code: door.typed, search: search, undo: door.undoLast });
  const $ = (id) => document.getElementById(id);
  const cameraUi = { video: $("camera"), startButton: $("camera-start"), error: $("camera-error") };
  const camera = createCamera(cameraUi, door.scanCode);
  unlockSoundOnFirstTap(document);
  keepUpToDate(sync, screen);
  keepPageOffline(root);
  warnBeforeSignOut(sync, store, text);
  camera.start();
  // The copy kept on the phone first (the camera and the decisions need not wait for the
  // network), then a fresh one.
  sync.restoreQueue().then(sync.keptRoster).catch(() => {}).then(sync.loadRoster).then(() => {
    sync.showQueue();
    sync.sync();
  });
  screen.focusCode();
}

// Signing out makes the phone forget what it keeps (the server's Clear-Site-Data), the queue
// too: the queue goes up first if it can, and what is left is counted before anything is lost.
function warnBeforeSignOut(sync, store, text) {
  const form = document.querySelector("form[action$='/logout']");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sync.sync().then(() => store.queuedCount()).catch(() => 0).then((n) => {
      if (!n || window.confirm(format(text.sign_out_unsent, { n: n }))) form.submit();
    });
  });
}

// The queue goes up when the network is back and every 10 s; other doors check people in too,
// so the counters stay live and the offline copy of the roster fresh.
function keepUpToDate(sync, screen) {
  window.addEventListener("online", () => { screen.setOnline(true); sync.sync(); });
  window.addEventListener("offline", () => screen.setOnline(false));
  setInterval(sync.sync, 10000);
  setInterval(() => { if (screen.isOnline()) sync.refreshCounters(); }, 15000);
  setInterval(() => { if (screen.isOnline()) sync.loadRoster(); }, 120000);
}
