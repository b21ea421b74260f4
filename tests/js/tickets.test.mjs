// tickets.js: digests the roster knows tickets by, nonces, the camera's repeats.
import assert from "node:assert/strict";
import { test } from "node:test";
import { digest, newNonce, RepeatFilter } from "../../static/js/scanner/tickets.js";
import "./helpers.mjs";

test("a ticket's digest is its SHA-256 in hex, as the roster carries it", async () => {
  assert.equal(await digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("without WebCrypto (plain HTTP) the digest fails as a promise, not at once", async () => {
  const crypto = globalThis.crypto;
  Object.defineProperty(globalThis, "crypto", { value: {}, configurable: true, writable: true });
  try {
    const pending = digest("abc");  // does not throw here
    await assert.rejects(pending);
    assert.ok(newNonce().length > 10);  // and nonces still come
  } finally {
    Object.defineProperty(globalThis, "crypto", { value: crypto, configurable: true, writable: true });
  }
});

test("every scan has its own nonce", () => {
  assert.notEqual(newNonce(), newNonce());
});

test("the camera's same code counts again only after 3 s out of view; a typed code always", () => {
  let now = 0;
  const repeats = new RepeatFilter(3000, () => now);
  assert.equal(repeats.accept("A"), true);
  now = 2000;
  assert.equal(repeats.accept("A"), false);  // still in view
  now = 4500;
  assert.equal(repeats.accept("A"), false);  // seen 2.5 s ago
  now = 8000;
  assert.equal(repeats.accept("A"), true);
  assert.equal(repeats.accept("B"), true);
  repeats.forgetLast();
  assert.equal(repeats.accept("B"), true);
});
