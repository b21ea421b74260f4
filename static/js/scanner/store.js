// What the phone keeps in IndexedDB: the session's roster (to decide offline, and after a
// reload) and the queue of scans decided offline (keyed by nonce), until the server has them.
// Every call returns a promise; one that rejects was not kept (say, storage full).

function open(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore("rosters");
      request.result.createObjectStore("queue", { keyPath: "nonce" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// One transaction; it resolves with the request's result once the transaction is complete
// (so a write has been kept), and rejects when it fails or aborts.
function run(db, storeName, mode, action) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, mode);
    const request = action(tx.objectStore(storeName));
    tx.oncomplete = () => resolve(request && request.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("aborted"));
  });
}

// The whole database gone (the link or the sign-in stopped working). Our own connection is
// closed first, or the deletion would wait for it; a database already cleared by the server's
// Clear-Site-Data is fine too.
function remove(db, name) {
  return db.then((opened) => opened.close(), () => {}).then(() => new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  }));
}

export function openStore(name) {
  name = name || "workshops-checkin";
  const db = open(name);
  db.catch(() => {});  // no IndexedDB here: every call below rejects, the page goes on online
  let forgotten = false;
  const use = (storeName, mode, action) => forgotten
    ? Promise.reject(new Error("forgotten"))
    : db.then((opened) => run(opened, storeName, mode, action));
  return {
    forget: () => { forgotten = true; return remove(db, name); },
    roster: (sessionId) => use("rosters", "readonly", (s) => s.get(sessionId)),
    keepRoster: (sessionId, data) => use("rosters", "readwrite", (s) => s.put(data, sessionId)),
    queued: () => use("queue", "readonly", (s) => s.getAll()),
    queuedCount: () => use("queue", "readonly", (s) => s.count()),
    enqueue: (scan) => use("queue", "readwrite", (s) => s.put(scan)),
    dequeue: (nonces) => use("queue", "readwrite", (s) => { nonces.forEach((n) => s.delete(n)); }),
  };
}
