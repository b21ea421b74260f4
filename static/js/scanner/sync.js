// The network's side of the phone: the roster down (fresh, or the copy kept), the counters,
// and the queue of offline scans up to /checkin/sync (safe to send twice: each has its nonce).
// Everything it needs is given: { api, store, state, screen, text, clock, forgetPage }.
import { batchToSend, forgottenNotice, overruledNotice, refusedOf, scanningEnded } from "./queue.js";
import { format } from "./answers.js";

export function createSync(deps) {
  const { api, store, state, screen, text } = deps;
  const clock = deps.clock || Date.now;
  let syncing = null;  // the sync in flight
  let lastQueued = 0;  // scans waiting, as last counted (the store may be cleared under us)

  function useRoster(data) {  // false: older than the roster in use
    const used = state.useRoster(data);
    if (used && data.counters) screen.showCounters(data.counters);
    return used;
  }

  // A fresh roster: used at once, even if the phone cannot keep it; a slower one asked for
  // before the roster in use is neither used nor kept.
  function loadRoster() {
    const asked = clock();
    return api.roster(state.workshopId, state.sessionId).then((data) => {
      screen.setOnline(true);
      data.asked = asked;
      if (useRoster(data)) return store.keepRoster(state.sessionId, data).catch(() => {});
      return undefined;
    }, (error) => (scanningEnded(error) ? forget(error) : screen.setOnline(false)));
  }

  function keptRoster() {
    return store.roster(state.sessionId).then(useRoster);
  }

  function restoreQueue() {
    return store.queued().then((queued) => state.restoreQueued(queued)).catch(() => {});
  }

  function refreshCounters() {
    return api.counters(state.sessionId).then((d) => screen.showCounters(d.counters))
      .catch((error) => (scanningEnded(error) ? forget(error) : undefined));
  }

  function showQueue() {  // the badge: how many scans wait (left as it is if the store fails)
    if (state.closed) return Promise.resolve();
    return store.queuedCount().then((n) => {
      lastQueued = n;
      screen.showQueued(n, format(text.queued, { n: n }));
    }, () => {});
  }

  function sync() {
    if (syncing) return syncing;
    syncing = store.queued().then(send).catch(failed).then(() => {
      syncing = null;
      return showQueue();
    });
    return syncing;
  }

  function send(queued) {
    const batch = batchToSend(queued, state.workshopId);
    lastQueued = Math.max(lastQueued, (queued || []).length);
    if (!batch.mine.length) return undefined;
    return api.sync(batch.scans).then((data) => sent(batch.mine, data));
  }

  // The answers: the server has these people now; the door is told of anyone it refused (they
  // are in the scan log with the server's reason), and the answered scans leave the queue.
  function sent(mine, data) {
    screen.setOnline(true);
    screen.notice("");
    state.synced(mine.map((q) => q.person_id));
    const refused = refusedOf(data.results);
    if (refused.length) screen.notice(overruledNotice(refused, mine, state.names(), text), true);
    return store.dequeue(data.results.map((r) => r.nonce)).then(refreshCounters);
  }

  // No answer: offline. The link or the sign-in gone: the phone forgets. Another refusal: the
  // network is fine, the scans stay queued until a sync goes through.
  function failed(error) {
    if (!error.status) return screen.setOnline(false);
    if (scanningEnded(error)) return forget(error);
    screen.setOnline(true);
    screen.notice(format(text.sync_refused, { message: error.message }));  // until a sync goes through
    return undefined;
  }

  // The server says this phone may not scan here any more (the volunteer's link expired or was
  // withdrawn, or the organiser signed out): the roster and the queue leave the phone, and the
  // door is told how many check-ins made offline could not be sent. (The server's
  // Clear-Site-Data may have emptied the store already: the last count is kept for that.)
  function forget(error) {
    if (state.closed) return Promise.resolve();
    state.close();
    screen.setOnline(true);
    const known = lastQueued;
    return store.queuedCount().catch(() => 0).then((n) => {
      const lost = Math.max(known, n || 0);
      const page = deps.forgetPage ? deps.forgetPage() : undefined;
      return Promise.all([store.forget().catch(() => {}), page]).then(() => {
        lastQueued = 0;
        screen.showQueued(0, "");
        screen.notice(forgottenNotice(lost, error.message, text), true);
      });
    });
  }

  return { loadRoster, keptRoster, restoreQueue, refreshCounters, showQueue, sync, forget };
}
