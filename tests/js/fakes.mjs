// Stand-ins for the page, the store and the network, for the door's and sync's node tests
// (not a test file itself).

export function fakeScreen() {
  return {
    shown: [], notices: [], online: null, undo: null, counters: null, queued: null,
    show(shown, onOverride) { this.shown.push(shown); this.onOverride = onOverride; },
    last() { return this.shown[this.shown.length - 1]; },
    setOnline(online) { this.online = online; },
    isOnline() { return this.online !== false; },
    setUndo(enabled) { this.undo = enabled; },
    showCounters(counters) { this.counters = counters; },
    showQueued(n, label) { this.queued = { n, label }; },
    notice(message, keep) { this.notices.push({ message, keep: !!keep }); },
  };
}

// IndexedDB as a Map; `full` makes writes to the queue fail, as a full storage would.
// `forgotten` counts the calls to forget() (the whole database deleted).
export function fakeStore(options) {
  const queue = new Map();
  const rosters = new Map();
  const full = () => (options && options.full) ? Promise.reject(new Error("QuotaExceededError")) : null;
  return {
    queue, rosters, forgotten: 0,
    forget() { this.forgotten += 1; queue.clear(); rosters.clear(); return Promise.resolve(); },
    roster: (id) => Promise.resolve(rosters.get(id)),
    keepRoster: (id, data) => Promise.resolve(rosters.set(id, data)),
    queued: () => Promise.resolve(Array.from(queue.values())),
    queuedCount: () => Promise.resolve(queue.size),
    enqueue: (scan) => full() || Promise.resolve(queue.set(scan.nonce, scan)),
    dequeue: (nonces) => Promise.resolve(nonces.forEach((n) => queue.delete(n))),
  };
}

export const offline = () => Promise.reject(new TypeError("Failed to fetch"));

export function refusal(status, message) {
  const error = new Error(message);
  error.status = status;
  return Promise.reject(error);
}

// The API: each call is answered by the handler of that name (offline if there is none), and
// recorded in `calls`.
export function fakeApi(handlers) {
  const calls = [];
  const api = { calls };
  for (const name of ["checkIn", "sync", "roster", "counters", "search", "undo"]) {
    api[name] = (...args) => {
      calls.push([name, ...args]);
      return handlers[name] ? handlers[name](...args) : offline();
    };
  }
  return api;
}

export function fakeSync() {
  return {
    calls: [],
    showQueue() { this.calls.push("showQueue"); },
    refreshCounters() { this.calls.push("refreshCounters"); },
    loadRoster() { this.calls.push("loadRoster"); return Promise.resolve(); },
    forget(error) { this.calls.push(["forget", error.status]); return Promise.resolve(); },
  };
}

export function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}
