// door.js: a scan's way: the server's answer when it can be asked, the phone's own otherwise.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createDoor } from "../../static/js/scanner/door.js";
import { DoorState } from "../../static/js/scanner/state.js";
import { deferred, fakeApi, fakeScreen, fakeStore, fakeSync, refusal } from "./fakes.mjs";
import { roster, TEXT } from "./helpers.mjs";

const INSIDE = Date.parse("2030-03-31T08:00:00Z");  // the helpers' roster admits 06:30–16:00
const people = [
  { id: 1, ticket: "ticket-one", name: "李华" },
  { id: 2, ticket: "ticket-two", name: "王芳", status: "cancelled" },
  { id: 3, ticket: "ticket-three", name: "张伟", checked_in_at: "2030-03-31T07:10:00+00:00" },
];

async function door(handlers, options) {
  const o = Object.assign({ at: INSIDE, mayOverride: true }, options);
  const state = new DoorState(1, 10, () => o.at);
  state.useRoster(await roster(people, o.roster));
  const parts = { api: fakeApi(handlers || {}), store: fakeStore(o), state, screen: fakeScreen() };
  parts.sync = fakeSync();
  const given = { text: TEXT, mayOverride: o.mayOverride, device: "phone-t", clock: () => o.at };
  parts.door = createDoor(Object.assign(given, parts));
  return parts;
}

const okFor = (id, name) => () => Promise.resolve({
  reason: "ok", person: { id, name }, attendance_id: 50 + id, checked_in_at: "2030-03-31T08:00:01+00:00",
});

test("online: the server's answer is shown, and the phone learns who is in", async () => {
  const { door: d, api, screen, state, sync } = await door({ checkIn: okFor(1, "李华") });
  await d.typed(" ticket-one ");
  const [name, scan] = api.calls[0];
  assert.equal(name, "checkIn");
  const sent = [scan.session_id, scan.token, scan.device, scan.method, scan.override];
  assert.deepEqual(sent, [10, "ticket-one", "phone-t", "qr", false]);
  const shown = screen.last();
  assert.deepEqual([shown.tone, shown.name, screen.online, screen.undo], ["green", "李华", true, true]);
  assert.equal(state.earlierOf(1).at, "2030-03-31T08:00:01+00:00");
  assert.deepEqual(sync.calls, ["refreshCounters"]);
});

test("offline: the phone decides with the table and is green only once the scan is kept", async () => {
  const { door: d, screen, store, state, sync } = await door({});
  await d.typed("ticket-one");
  const kept = Array.from(store.queue.values());
  assert.equal(kept.length, 1);
  const when = new Date(INSIDE).toISOString();
  assert.deepEqual([kept[0].workshop_id, kept[0].person_id, kept[0].scanned_at], [1, 1, when]);
  assert.equal(screen.online, false);
  assert.equal(screen.last().tone, "green");
  assert.match(screen.last().detail, /Decided offline/);
  assert.ok(state.queuedEntry({ id: 1 }));
  assert.deepEqual(sync.calls, ["showQueue", "refreshCounters"]);
  await d.typed("ticket-one");  // in on this phone now: not asked again
  assert.equal(screen.last().tone, "amber");
  assert.equal(store.queue.size, 1);
});

test("offline, the roster's reasons: cancelled, already in, unknown", async () => {
  const { door: d, screen, store } = await door({});
  await d.typed("ticket-two");
  assert.deepEqual([screen.last().tone, screen.last().title], ["red", TEXT.reasons.cancelled]);
  await d.typed("ticket-three");
  assert.equal(screen.last().tone, "amber");
  assert.match(screen.last().title, /\d{1,2}:\d{2}/);
  await d.typed("ticket-unknown");
  assert.deepEqual([screen.last().title, screen.last().name], [TEXT.reasons.unknown_ticket, undefined]);
  assert.equal(store.queue.size, 0);
});

test("offline and the phone cannot keep the scan: not green, and not in", async () => {
  const { door: d, screen, state, store } = await door({}, { full: true });
  await d.typed("ticket-one");
  assert.deepEqual([screen.last().tone, screen.last().title], ["red", TEXT.not_kept]);
  assert.equal(state.earlierOf(1), null);
  assert.equal(store.queue.size, 0);
});

test("offline outside the session: an organiser's Admit anyway queues it with a new nonce", async () => {
  const { door: d, screen, store } = await door({}, { at: Date.parse("2030-03-31T05:00:00Z") });
  await d.typed("ticket-one");
  assert.deepEqual([screen.last().title, screen.last().offerOverride], [TEXT.reasons.outside_session, true]);
  const first = screen.shown.length;
  await screen.onOverride();
  assert.equal(screen.shown.length, first + 1);
  const [kept] = Array.from(store.queue.values());
  assert.equal(kept.override, true);
  assert.equal(screen.last().tone, "green");
});

test("a server that refuses is shown as a refusal, never decided offline", async () => {
  const refuse = () => refusal(429, "Too many attempts.");
  const { door: d, screen, store, sync } = await door({ checkIn: refuse });
  await d.typed("ticket-one");
  assert.deepEqual([screen.last().title, screen.last().detail], [TEXT.error, "Too many attempts."]);
  assert.equal(store.queue.size, 0);
  assert.deepEqual(sync.calls, []);
});

test("the link or the sign-in gone: the phone forgets (sync says how many scans are lost)", async () => {
  const refuse = () => refusal(403, "This check-in link does not work any more.");
  const { door: d, screen, sync } = await door({ checkIn: refuse });
  await d.typed("ticket-one");
  assert.deepEqual(sync.calls, [["forget", 403]]);
  assert.equal(screen.last().detail, "This check-in link does not work any more.");
});

test("forgotten, then offline: nothing is decided or queued on the phone", async () => {
  const { door: d, screen, state, store } = await door({});
  state.close();
  await d.typed("ticket-one");
  assert.deepEqual([screen.last().tone, screen.last().detail], ["red", TEXT.forgotten_offline]);
  assert.equal(store.queue.size, 0);
});

test("a volunteer's search pick offline is refused, not queued; a ticket is queued", async () => {
  const order = [{ reason: "ticket_needed", check: "link_search_in_batch", statuses: [] }]
    .concat((await roster([])).decision_order);
  const { door: d, screen, state, store } = await door({}, { roster: { decision_order: order } });
  state.volunteer = true;
  await d.pick({ id: 1 });
  assert.deepEqual([screen.last().tone, screen.last().title], ["red", TEXT.reasons.ticket_needed]);
  assert.equal(store.queue.size, 0);
  await d.typed("ticket-one");
  assert.deepEqual([screen.last().tone, store.queue.size], ["green", 1]);
});

test("no decision order (a roster kept by an older page): offline it says the check-in failed", async () => {
  const { door: d, screen, store } = await door({}, { roster: { decision_order: undefined } });
  await d.typed("ticket-one");
  assert.deepEqual([screen.last().tone, screen.last().title], ["red", TEXT.error]);
  assert.equal(store.queue.size, 0);
});

test("only the newest scan's answer is shown; what an older one teaches is kept", async () => {
  const slow = deferred();
  const answers = { "ticket-one": () => slow.promise, "ticket-three": okFor(3, "张伟") };
  const { door: d, screen, state } = await door({ checkIn: (scan) => answers[scan.token]() });
  const first = d.typed("ticket-one");
  await d.typed("ticket-three");
  const at = "2030-03-31T08:00:02Z";
  slow.resolve({ reason: "ok", person: { id: 1, name: "李华" }, attendance_id: 51, checked_in_at: at });
  await first;
  assert.deepEqual(screen.shown.map((s) => s.name), ["张伟"]);
  assert.equal(state.earlierOf(1).at, at);
});

test("the camera's same code counts once while in view; a search pick checks in by id", async () => {
  const { door: d, api } = await door({ checkIn: okFor(1, "李华") });
  await d.scanCode("ticket-one");
  await d.scanCode("ticket-one");
  await d.pick({ id: 1 });
  assert.deepEqual(api.calls.map(([, scan]) => [scan.token, scan.registration_id, scan.method]),
    [["ticket-one", undefined, "qr"], [undefined, 1, "search"]]);
});

test("undo takes back the last check-in online; offline it says it needs the network", async () => {
  const parts = await door({ checkIn: okFor(1, "李华"), undo: () => Promise.resolve({}) });
  await parts.door.typed("ticket-one");
  await parts.door.undoLast();
  assert.deepEqual(parts.api.calls[1], ["undo", 51]);
  assert.deepEqual([parts.screen.last().title, parts.screen.undo], [TEXT.undone, false]);
  assert.equal(parts.state.earlierOf(1), null);
  assert.deepEqual(parts.sync.calls.slice(-1), ["loadRoster"]);
  const cut = await door({ checkIn: okFor(1, "李华") });
  await cut.door.typed("ticket-one");
  await cut.door.undoLast();
  const shown = cut.screen.last();
  assert.deepEqual([shown.title, shown.detail], [TEXT.undo_failed, TEXT.offline_undo]);
});
