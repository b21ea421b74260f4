// answers.js: what the door shows for each answer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { format, shownPerson, view } from "../../static/js/scanner/answers.js";
import { TEXT } from "./helpers.mjs";

const person = { id: 7, name: "李华", organisation: "重庆工程职业技术学院", mode: "onsite" };

test("ok is green with the person, and says so when the phone decided", () => {
  assert.deepEqual(view({ reason: "ok", person }, TEXT, false),
    { tone: "green", title: "Welcome", name: "李华", detail: "重庆工程职业技术学院 · Onsite", offerOverride: false });
  assert.equal(view({ reason: "ok", person, offline: true }, TEXT, false).detail,
    "重庆工程职业技术学院 · Onsite — Decided offline; will sync when the network is back.");
});

test("already checked in is amber, with since when and by whom", () => {
  const answer = { reason: "already_checked_in", person, checked_in_at: "2030-03-31T08:05:00Z" };
  const shown = view(Object.assign(answer, { checked_in_by: "Organiser" }), TEXT, false);
  assert.equal(shown.tone, "amber");
  assert.match(shown.title, /^Already checked in at .*\d{1,2}:\d{2}.* by Organiser$/);
  assert.equal(view({ reason: "already_checked_in", person }, TEXT, false).title, "Already checked in at ");
});

test("outside the session: an organiser may admit anyway, a volunteer is told to ask", () => {
  const organiser = view({ reason: "outside_session", person }, TEXT, true);
  const volunteer = view({ reason: "outside_session", person }, TEXT, false);
  assert.deepEqual([organiser.tone, organiser.title, organiser.offerOverride],
    ["red", TEXT.reasons.outside_session, true]);
  assert.deepEqual([volunteer.title, volunteer.offerOverride], [TEXT.outside_volunteer, false]);
});

test("other refusals are red in the page's words, or the server's for a reason it does not know", () => {
  assert.deepEqual(view({ reason: "unknown_ticket" }, TEXT, true),
    { tone: "red", title: TEXT.reasons.unknown_ticket, name: undefined, detail: "", offerOverride: false });
  const unknown = { reason: "new_reason", message: "Server says no." };
  assert.equal(view(unknown, TEXT, true).title, "Server says no.");
});

test("format fills the page's templates; shownPerson leaves out digest and status", () => {
  assert.equal(format("{n} waiting to sync", { n: 3 }), "3 waiting to sync");
  assert.deepEqual(shownPerson(Object.assign({ ticket_sha256: "ab", status: "confirmed" }, person)), person);
});
