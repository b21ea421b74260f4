// What a scanned code is to the phone: the digest the roster knows a ticket by, a nonce for
// each scan, and the camera's repeats of the same code filtered out. Pure (WebCrypto only).

// The roster carries SHA-256 digests, not tickets. Without WebCrypto (a page served over plain
// HTTP) there is no digest: the promise rejects, and the ticket is unknown to the phone.
export function digest(text) {
  return Promise.resolve(new TextEncoder().encode(text))
    .then((bytes) => globalThis.crypto.subtle.digest("SHA-256", bytes))
    .then((buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join(""));
}

export function newNonce() {
  const crypto = globalThis.crypto;
  if (crypto && crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}

// The camera sees a code many times a second: it counts again only after `quietMs` out of
// view. A code typed or scanned into the field always counts (forgetLast() first).
export class RepeatFilter {
  constructor(quietMs, now) {
    this.quietMs = quietMs;
    this.now = now || Date.now;
    this.last = "";
    this.lastAt = 0;
  }

  accept(code) {
    const now = this.now();
    const repeat = code === this.last && now - this.lastAt < this.quietMs;
    this.last = code;
    this.lastAt = now;
    return !repeat;
  }

  forgetLast() {
    this.last = "";
  }
}
