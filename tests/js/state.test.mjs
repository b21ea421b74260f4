// state.js: what the phone knows of the session, as rosters come and scans are made.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DoorState } from "../../static/js/scanner/state.js";
import { roster, sha256, SMALL_ORDER } from "./helpers.mjs";

function clockAt(start) {
  const clock = () => clock.now;
  clock.now = start;
  return clock;
}

test("a roster gives the people by ticket digest, who is in, the window and the order", async () => {
  const state = new DoorState(1, 10);
  const at = "2030-03-31T07:00:00+00:00";
  const data = await roster([{ id: 1, ticket: "t1", checked_in_at: at }, { id: 2, ticket: "t2" }]);
  assert.equal(state.useRoster(data), true);
  assert.equal(state.byDigest(await sha256("t2")).id, 2);
  assert.equal(state.byId(1).ticket_sha256, await sha256("t1"));
  assert.deepEqual(state.earlierOf(1), { at, nonce: undefined });
  assert.equal(state.earlierOf(2), null);
  const window = { from: new Date("2030-03-31T06:30:00Z"), until: new Date("2030-03-31T16:00:00Z") };
  assert.deepEqual(state.window, window);
  assert.deepEqual(state.order, SMALL_ORDER);
});

test("a roster kept by an older page, without the order, leaves the page's order in use", async () => {
  const state = new DoorState(1, 10);
  state.order = SMALL_ORDER;  // what main.js takes from the page the server rendered
  const old = await roster([{ id: 1, ticket: "t1" }]);
  delete old.decision_order;
  assert.equal(state.useRoster(old), true);
  assert.deepEqual(state.order, SMALL_ORDER);
});

test("nothing kept yet, or a slower roster asked for before the one in use: dropped", async () => {
  const state = new DoorState(1, 10);
  assert.equal(state.useRoster(undefined), false);
  const newer = await roster([{ id: 1, ticket: "t1" }, { id: 2, ticket: "t2" }]);
  const older = await roster([{ id: 1, ticket: "t1" }]);
  state.useRoster(Object.assign(newer, { asked: 2000 }));
  assert.equal(state.useRoster(Object.assign(older, { asked: 1000 })), false);
  assert.equal(state.roster.size, 2);
});

const fourPeople = (inOnServer) => [1, 2, 3, 4].map((id) => ({
  id, ticket: "t" + id, checked_in_at: id === inOnServer ? "server-" + id : null,
}));

test("check-ins the roster cannot know stay in; others it does not show were undone elsewhere", async () => {
  const clock = clockAt(1000);
  const state = new DoorState(1, 10, clock);
  state.useRoster(Object.assign(await roster(fourPeople()), { asked: 500 }));
  state.noteIn(1, "at-1", true, "q1");   // let in offline, still queued
  state.noteIn(3, "at-3", false, "n3");  // let in online, then undone at another phone
  state.noteIn(4, "at-4", false, "n4");  // let in online, and the roster shows it: its word counts
  const asked = 1200;                    // the next roster is asked for ...
  clock.now = 1300;
  state.noteIn(2, "at-2", false, "n2");  // ... then someone is let in online, before it arrives
  state.useRoster(Object.assign(await roster(fourPeople(4)), { asked }));
  const known = [1, 2, 3, 4].map((id) => state.checkedIn.get(id));
  assert.deepEqual(known, ["at-1", "at-2", undefined, "server-4"]);
  assert.deepEqual(Array.from(state.recent.keys()).sort(), [1, 2]);
});

test("scans queued before a reload are in again, this session's only, until synced", async () => {
  const state = new DoorState(1, 10);
  state.restoreQueued([
    { nonce: "a", workshop_id: 1, session_id: 10, person_id: 1, scanned_at: "at-1" },
    { nonce: "b", workshop_id: 1, session_id: 11, person_id: 2, scanned_at: "at-2" },  // another session
    { nonce: "c", workshop_id: 2, session_id: 10, person_id: 3, scanned_at: "at-3" },  // another workshop
  ]);
  state.useRoster(await roster([1, 2, 3].map((id) => ({ id, ticket: "t" + id }))));
  assert.deepEqual(state.earlierOf(1), { at: "at-1", nonce: "a" });
  assert.equal(state.queuedEntry({ id: 1 }).at, "at-1");
  assert.equal(state.earlierOf(2), null);
  assert.equal(state.earlierOf(3), null);
  state.synced([1]);
  assert.equal(state.queuedEntry({ id: 1 }), undefined);
  assert.equal(state.queuedEntry(undefined), undefined);
});

test("forget takes a check-in back; noteIn without an id notes nothing", () => {
  const state = new DoorState(1, 10);
  state.noteIn(1, "at-1", true, "a");
  state.noteIn(undefined, "at", false);
  state.forget(1);
  assert.equal(state.earlierOf(1), null);
  assert.equal(state.recent.size + state.checkedIn.size, 0);
});

test("facts for decide(): the person, their check-in, the scan's time and override", async () => {
  const state = new DoorState(1, 10);
  state.useRoster(await roster([{ id: 1, ticket: "t1" }]));
  const scan = { nonce: "n", scanned_at: "2030-03-31T08:00:00.000Z", override: true };
  const facts = state.facts(scan, state.byId(1));
  assert.deepEqual([facts.person.id, facts.workshopId, facts.earlier, facts.nonce, facts.override],
    [1, 1, null, "n", true]);
  assert.equal(facts.at.toISOString(), scan.scanned_at);
  assert.equal(state.facts(scan, undefined).earlier, null);
});

test("offline search: name or organisation, at most 30", async () => {
  const state = new DoorState(1, 10);
  const people = Array.from({ length: 40 }, (_, n) => ({
    id: n + 1, ticket: "t" + n, name: n ? `参加者${n}` : "李华",
    organisation: n === 1 ? "Yuxin Auto Parts" : "重庆工程职业技术学院",
  }));
  state.useRoster(await roster(people));
  assert.deepEqual(state.search("李").map((p) => p.id), [1]);
  assert.deepEqual(state.search("yuxin").map((p) => p.id), [2]);
  assert.equal(state.search("重庆").length, 30);
  assert.equal(state.names()[1], "李华");
});

test("the roster says whether the workshop was cancelled, and the facts carry it", async () => {
  const state = new DoorState(1, 10);
  assert.equal(state.useRoster(await roster([{ id: 1, ticket: "t1" }], { workshop_cancelled: true, asked: 1 })), true);
  assert.equal(state.facts({ nonce: "n", scanned_at: "2030-03-31T08:00:00Z" }, null).workshopCancelled, true);
  state.useRoster(await roster([{ id: 1, ticket: "t1" }], { asked: 2 }));  // an older page's roster: none said
  assert.equal(state.facts({ nonce: "n", scanned_at: "2030-03-31T08:00:00Z" }, null).workshopCancelled, false);
});
