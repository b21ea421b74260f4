// decide.js walks the decision table the server sends; it holds no order of its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CHECKS, decide } from "../../static/js/scanner/decide.js";

const step = (reason, check, statuses) => ({ reason, check, statuses: statuses || [] });
const person = { id: 7, status: "confirmed" };
const window = { from: new Date("2030-03-31T06:30:00Z"), until: new Date("2030-03-31T16:00:00Z") };
const at = new Date("2030-03-31T08:00:00Z");
const facts = (extra) =>
  Object.assign({ person, workshopId: 1, earlier: null, nonce: "n1", at, override: false, window }, extra);

test("the first step whose check holds answers, in the table's order", () => {
  const inAndCancelled = facts({ person: { id: 7, status: "cancelled" }, earlier: { at: "07:00" } });
  const cancelled = step("cancelled", "status", ["cancelled"]);
  const checkedIn = step("already_checked_in", "checked_in");
  const statusFirst = [cancelled, checkedIn, step("ok", "otherwise")];
  const inFirst = [checkedIn, cancelled, step("ok", "otherwise")];
  assert.equal(decide(statusFirst, inAndCancelled).reason, "cancelled");
  assert.equal(decide(inFirst, inAndCancelled).reason, "already_checked_in");
  assert.equal(decide(statusFirst, facts()).reason, "ok");
});

test("the status check looks for the statuses its step names", () => {
  const order = [
    step("cancelled", "status", ["cancelled", "rejected"]),
    step("waitlisted", "status", ["waitlisted"]),
    step("ok", "otherwise"),
  ];
  const of = (status) => decide(order, facts({ person: { id: 7, status } })).reason;
  const answers = ["rejected", "cancelled", "waitlisted", "confirmed"].map(of);
  assert.deepEqual(answers, ["cancelled", "cancelled", "waitlisted", "ok"]);
});

test("each check, on what the phone knows", () => {
  const s = step("x", "status", ["pending"]);
  assert.equal(CHECKS.no_ticket(facts({ person: undefined })), true);
  assert.equal(CHECKS.no_ticket(facts()), false);
  assert.equal(CHECKS.other_workshop(facts()), false);  // the roster's people: this workshop's
  assert.equal(CHECKS.other_workshop(facts({ person: { id: 7, workshop_id: 2 } })), true);
  assert.equal(CHECKS.same_scan(facts({ earlier: { at: "t", nonce: "n1" } })), true);
  assert.equal(CHECKS.same_scan(facts({ earlier: { at: "t", nonce: "n0" } })), false);
  assert.equal(CHECKS.same_scan(facts({ nonce: "", earlier: { at: "t", nonce: "" } })), false);
  assert.equal(CHECKS.status(facts({ person: { id: 7, status: "pending" } }), s), true);
  assert.equal(CHECKS.checked_in(facts({ earlier: { at: "t" } })), true);
  assert.equal(CHECKS.checked_in(facts()), false);
  assert.equal(CHECKS.otherwise(facts()), true);
  // A volunteer's check-in by name (no ticket) is never decided on the phone for the queue;
  // a ticket is, and staff's check-ins by name are.
  assert.equal(CHECKS.link_search_in_batch(facts({ volunteer: true, byName: true })), true);
  assert.equal(CHECKS.link_search_in_batch(facts({ volunteer: true, byName: false })), false);
  assert.equal(CHECKS.link_search_in_batch(facts({ volunteer: false, byName: true })), false);
  assert.equal(CHECKS.link_search_limit(facts({ volunteer: true, byName: true })), false);  // the server's count
});

test("outside the admission window, unless overridden (and without a window, never)", () => {
  const early = new Date("2030-03-31T06:29:59Z");
  const late = new Date("2030-03-31T16:00:01Z");
  assert.equal(CHECKS.outside_window(facts({ at: early })), true);
  assert.equal(CHECKS.outside_window(facts({ at: late })), true);
  assert.equal(CHECKS.outside_window(facts({ at: window.from })), false);  // both ends are inside
  assert.equal(CHECKS.outside_window(facts({ at: window.until })), false);
  assert.equal(CHECKS.outside_window(facts({ at: late, override: true })), false);
  assert.equal(CHECKS.outside_window(facts({ at: late, window: null })), false);
});

test("a table the phone cannot follow decides nothing", () => {
  assert.throws(() => decide(null, facts()), /no decision order/);
  assert.throws(() => decide([], facts()), /no decision order/);
  assert.throws(() => decide([step("ok", "moon_phase")], facts()), /unknown check: moon_phase/);
  assert.throws(() => decide([step("ok", "toString")], facts()), /unknown check/);
  assert.throws(() => decide([step("already_checked_in", "checked_in")], facts()), /no last step/);
});

test("a cancelled ticket of a cancelled workshop says so, as the roster tells", () => {
  const order = [
    step("workshop_cancelled", "workshop_cancelled", ["cancelled"]),
    step("cancelled", "status", ["cancelled", "rejected"]),
    step("ok", "otherwise"),
  ];
  const of = (status, workshopCancelled) =>
    decide(order, facts({ person: { id: 7, status }, workshopCancelled })).reason;
  assert.deepEqual(
    [of("cancelled", true), of("rejected", true), of("cancelled", false), of("confirmed", false)],
    ["workshop_cancelled", "cancelled", "cancelled", "ok"],
  );
});
