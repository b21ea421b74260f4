// queue.js: the offline queue as data: kept, sent, and the door told of refusals.
import assert from "node:assert/strict";
import { test } from "node:test";
import { batchToSend, BATCH, overruledNotice, queuedScan, refusedOf } from "../../static/js/scanner/queue.js";
import { TEXT } from "./helpers.mjs";

const scan = (nonce) => ({
  session_id: 10, token: "tok-" + nonce, nonce, device: "phone-a", method: "qr",
  scanned_at: "2030-03-31T08:00:00.000Z", override: false,
});

test("a queued scan keeps its workshop and person; neither is sent", () => {
  const kept = queuedScan(scan("a"), 1, 7);
  assert.equal(kept.workshop_id, 1);
  assert.equal(kept.person_id, 7);
  const batch = batchToSend([kept], 1);
  assert.deepEqual(batch.mine, [kept]);
  assert.deepEqual(batch.scans, [scan("a")]);
});

test("only this workshop's scans are sent, at most a batch at a time", () => {
  const queued = [queuedScan(scan("other"), 2, 1)];
  for (let n = 0; n < BATCH + 5; n += 1) queued.push(queuedScan(scan("s" + n), 1, n + 10));
  const batch = batchToSend(queued, 1);
  assert.equal(batch.scans.length, BATCH);
  assert.ok(batch.scans.every((s) => s.nonce !== "other"));
  assert.deepEqual(batchToSend(undefined, 1), { mine: [], scans: [] });
});

test("refused: anything but ok and already checked in", () => {
  const reasons = ["ok", "already_checked_in", "unknown_ticket", "cancelled"];
  const results = reasons.map((reason, n) => ({ reason, nonce: "n" + n }));
  assert.deepEqual(refusedOf(results).map((r) => r.reason), ["unknown_ticket", "cancelled"]);
});

test("the door is told who was refused (as the phone knew them) and why", () => {
  const mine = [queuedScan(scan("a"), 1, 7), queuedScan(scan("b"), 1, 8), queuedScan(scan("c"), 1, 99)];
  const refused = [
    { nonce: "a", reason: "unknown_ticket", person: null },  // a re-issued ticket: unknown to the server
    { nonce: "b", reason: "cancelled", person: { name: "王芳" } },
    { nonce: "c", reason: "something_new", message: "In the server's words." },
  ];
  assert.equal(overruledNotice(refused, mine, { 7: "李华" }, TEXT),
    "Let in offline, not checked in by the server (3): 李华: Unknown ticket. · " +
    "王芳: This registration was cancelled or declined. · ?: In the server's words.");
});
