// A scan's way through the door. The server decides when it can be asked; otherwise this
// phone decides with the server's own table (decide.js) and queues the scan (green only once
// it is kept). Only the newest scan's answer is shown (answers arrive out of order); what any
// answer teaches is kept. Everything it needs is given:
// { api, store, state, screen, sync, text, mayOverride, device, clock }.
import { decide } from "./decide.js";
import { shownPerson, view } from "./answers.js";
import { queuedScan, scanningEnded } from "./queue.js";
import { digest, newNonce, RepeatFilter } from "./tickets.js";

export function createDoor(deps) {
  const { api, store, state, screen, sync, text } = deps;
  const clock = deps.clock || Date.now;
  const repeats = new RepeatFilter(3000, clock);
  let latest = 0;  // the newest scan: only its answer is shown
  let last = { attendance: null, person: null };  // what Undo takes back

  function newScan(what) {
    const scan = { session_id: state.sessionId, nonce: newNonce(), device: deps.device };
    return Object.assign(scan, { scanned_at: new Date(clock()).toISOString() }, what);
  }

  function scanCode(code) {  // from the camera: the same code again counts after 3 s out of view
    code = (code || "").trim();
    if (!code || !repeats.accept(code)) return undefined;
    return redeem(newScan({ token: code, method: "qr" }));
  }

  function typed(code) {  // from the code field (a USB/Bluetooth scanner types there): always counts
    repeats.forgetLast();
    return scanCode(code);
  }

  function pick(person) {  // one tap on a search result
    return redeem(newScan({ registration_id: person.id, method: "search" }));
  }

  // A scan, or its "Admit anyway" (a new nonce). Someone this phone let in offline and not yet
  // synced is answered here: the server cannot know, the phone does.
  function redeem(scan, override) {
    const seq = ++latest;
    scan = Object.assign({}, scan, { override: !!override, nonce: override ? newNonce() : scan.nonce });
    return findPerson(scan).then((person) => {
      const entry = state.queuedEntry(person);
      if (!entry) return ask(scan, seq);
      const reply = { reason: "already_checked_in", person: shownPerson(person), checked_in_at: entry.at };
      return answer(reply, seq);
    });
  }

  // A refusal is shown as such; no answer at all (offline, a timeout, a server error) means
  // the phone decides.
  function ask(scan, seq) {
    return api.checkIn(scan).then((reply) => {
      screen.setOnline(true);
      answer(Object.assign(reply, { retry: scan }), seq);
    }, (error) => {
      if (scanningEnded(error)) sync.forget(error);
      if (error.status) return showError(seq, error.message);
      screen.setOnline(false);
      return decideHere(scan, seq);
    });
  }

  function findPerson(scan) {  // the roster's entry for a scan's ticket or search pick (or undefined)
    if (!scan.token) return Promise.resolve(state.byId(scan.registration_id));
    return digest(scan.token).then((d) => state.byDigest(d), () => undefined);
  }

  function decideHere(scan, seq) {
    if (state.closed) return showError(seq, text.forgotten_offline);  // nothing left to decide with
    return findPerson(scan).then((person) => {
      const step = decide(state.order, state.facts(scan, person));
      if (step.check === "otherwise") return admitHere(scan, person, seq);
      const earlier = person ? state.earlierOf(person.id) : null;
      const reply = { reason: step.reason, offline: true, retry: scan };
      if (person) reply.person = shownPerson(person);
      if (earlier) reply.checked_in_at = earlier.at;
      return answer(reply, seq);
    }).catch(() => showError(seq, ""));
  }

  // In at once on this phone (a second scan meanwhile is already in), green once kept.
  function admitHere(scan, person, seq) {
    state.noteIn(person.id, scan.scanned_at, true, scan.nonce);
    return store.enqueue(queuedScan(scan, state.workshopId, person.id)).then(() => {
      sync.showQueue();
      const reply = { reason: "ok", person: shownPerson(person), checked_in_at: scan.scanned_at };
      answer(Object.assign(reply, { offline: true }), seq);
    }, () => {
      state.forget(person.id);
      if (seq === latest) screen.show({ tone: "red", title: text.not_kept, name: person.name, detail: "" });
    });
  }

  function answer(reply, seq) {
    const person = reply.person || {};
    if (reply.reason === "ok" && !reply.offline) {
      state.noteIn(person.id, reply.checked_in_at || new Date(clock()).toISOString(), false, reply.nonce);
    }
    if (seq !== latest) return;
    if (reply.reason === "ok") rememberForUndo(reply.attendance_id, person.id);
    screen.show(view(reply, text, deps.mayOverride), () => redeem(reply.retry, true));
    if (reply.reason === "ok") sync.refreshCounters();
  }

  function rememberForUndo(attendanceId, personId) {
    last = { attendance: attendanceId || null, person: personId || null };
    screen.setUndo(!!last.attendance);
  }

  function showError(seq, detail) {
    if (seq === latest) screen.show({ tone: "red", title: text.error, name: "", detail: detail });
  }

  function undoLast() {  // needs the network: the check-in is the server's
    if (!last.attendance) return Promise.resolve();
    return api.undo(last.attendance).then(() => {
      state.forget(last.person);
      rememberForUndo(null, null);
      screen.show({ tone: "amber", title: text.undone, name: "", detail: "" });
      return sync.loadRoster();
    }, (error) => {
      const detail = error.status ? error.message : text.offline_undo;
      screen.show({ tone: "red", title: text.undo_failed, name: "", detail: detail });
    });
  }

  return { scanCode, typed, pick, redeem, undoLast };
}
