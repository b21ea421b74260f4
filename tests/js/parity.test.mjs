// The phone decides as the server does. tests/test_scanner_modules.py made real scans on the
// server (a person in each state, inside and outside the session's time, with and without an
// override), wrote the roster the scanner downloads and the server's answers to a file, and
// names it in SCANNER_PARITY. Here the phone's own code decides the same scans offline: with
// the roster's table, the answers must be the server's. (Without the file: skipped.)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CHECKS, decide } from "../../static/js/scanner/decide.js";
import { DoorState } from "../../static/js/scanner/state.js";
import { digest } from "../../static/js/scanner/tickets.js";
import "./helpers.mjs";

const file = process.env.SCANNER_PARITY;
const skip = file ? false : "SCANNER_PARITY names no file (tests/test_scanner_modules.py makes one)";
const parity = file ? JSON.parse(readFileSync(file, "utf8")) : null;

test("the phone knows every check of the server's decision order", { skip }, () => {
  const order = parity.roster.decision_order;
  assert.ok(order.length > 1);
  for (const step of order) assert.ok(Object.prototype.hasOwnProperty.call(CHECKS, step.check), step.check);
  assert.equal(order[order.length - 1].check, "otherwise");
});

test("offline, the phone answers each scan as the server did", { skip }, async () => {
  const state = new DoorState(parity.roster.workshop_id, parity.roster.session_id);
  assert.equal(state.useRoster(parity.roster), true);
  for (const scan of parity.scans) {
    const person = state.byDigest(await digest(scan.token));
    const step = decide(state.order, state.facts(scan, person));
    assert.equal(step.reason, scan.server_reason, `${scan.case}: the server said ${scan.server_reason}`);
  }
  assert.ok(parity.scans.length >= 10);
});
