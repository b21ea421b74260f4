// sync.js: the roster down and the queue of offline scans up.
import assert from "node:assert/strict";
import { test } from "node:test";
import { queuedScan } from "../../static/js/scanner/queue.js";
import { DoorState } from "../../static/js/scanner/state.js";
import { createSync } from "../../static/js/scanner/sync.js";
import { deferred, fakeApi, fakeScreen, fakeStore, refusal } from "./fakes.mjs";
import { roster, TEXT } from "./helpers.mjs";

function parts(handlers, clock) {
  const state = new DoorState(1, 10);
  const p = { api: fakeApi(handlers), store: fakeStore(), state, screen: fakeScreen(), text: TEXT };
  p.sync = createSync(Object.assign({ clock: clock || (() => 1000) }, p));
  return p;
}

function queue(p, nonce, workshopId, personId) {
  const scan = { session_id: 10, token: "t-" + nonce, nonce, scanned_at: "s" };
  p.store.queue.set(nonce, queuedScan(scan, workshopId, personId));
  p.state.noteIn(personId, "s", true, nonce);
}

test("this workshop's scans go up without the phone's fields; answered ones leave the queue", async () => {
  const p = parts({
    sync: (scans) => Promise.resolve({ results: scans.map((s) => ({ nonce: s.nonce, reason: "ok" })) }),
    counters: () => Promise.resolve({ counters: { onsite: { checked_in: 1, expected: 2 } } }),
  });
  queue(p, "a", 1, 7);
  queue(p, "b", 2, 8);  // another workshop's: waits for its own page
  await p.sync.sync();
  const [[, sent]] = p.api.calls;
  assert.deepEqual(sent.map((s) => [s.nonce, s.workshop_id, s.person_id]), [["a", undefined, undefined]]);
  assert.deepEqual(Array.from(p.store.queue.keys()), ["b"]);
  assert.equal(p.state.queuedEntry({ id: 7 }), undefined);
  assert.deepEqual(p.screen.queued, { n: 1, label: "1 waiting to sync" });
  assert.equal(p.screen.counters.onsite.checked_in, 1);
});

test("people the server refused are named in a notice that stays until read", async () => {
  const results = [{ nonce: "a", reason: "unknown_ticket", person: null }];
  const p = parts({ sync: () => Promise.resolve({ results }) });
  p.state.useRoster(await roster([{ id: 7, ticket: "t7", name: "李华" }]));
  queue(p, "a", 1, 7);
  await p.sync.sync();
  const notice = p.screen.notices[p.screen.notices.length - 1];
  assert.equal(notice.keep, true);
  assert.match(notice.message, /not checked in by the server \(1\): 李华: Unknown ticket/);
  assert.equal(p.store.queue.size, 0);
});

test("offline the scans stay; refused otherwise (a bad request) they stay too, and the door is told", async () => {
  const cut = parts({});
  queue(cut, "a", 1, 7);
  await cut.sync.sync();
  assert.deepEqual([cut.screen.online, cut.store.queue.size], [false, 1]);
  const refused = parts({ sync: () => refusal(422, "Send at most 500 scans at a time.") });
  queue(refused, "a", 1, 7);
  await refused.sync.sync();
  assert.deepEqual([refused.screen.online, refused.store.queue.size, refused.store.forgotten], [true, 1, 0]);
  assert.match(refused.screen.notices[0].message, /were refused: Send at most 500 scans/);
});

for (const status of [401, 403, 410]) {
  test(`the link or the sign-in gone (${status}): the phone forgets all and says how many scans are lost`,
    async () => {
      const p = parts({ sync: () => refusal(status, "This check-in link does not work any more.") });
      p.state.useRoster(await roster([{ id: 7, ticket: "t7", name: "李华" }]));
      queue(p, "a", 1, 7);
      queue(p, "b", 1, 8);
      queue(p, "c", 2, 9);  // another workshop's scan is lost with the rest
      await p.sync.sync();
      assert.equal(p.store.forgotten, 1);
      assert.deepEqual([p.store.queue.size, p.store.rosters.size, p.state.roster.size], [0, 0, 0]);
      assert.deepEqual([p.state.closed, p.state.queuedEntry({ id: 7 })], [true, undefined]);
      const notice = p.screen.notices[p.screen.notices.length - 1];
      assert.equal(notice.keep, true);
      assert.equal(notice.message, "This phone no longer keeps the participant list: This check-in link"
        + " does not work any more. 3 check-ins made offline could not be sent and were dropped.");
      assert.deepEqual(p.screen.queued, { n: 0, label: "" });
      await p.sync.sync();  // forgotten once: the notice stays as it is
      assert.equal(p.store.forgotten, 1);
    });
}

test("a roster or the counters refused (the link withdrawn): forgotten too, the count kept before", async () => {
  const gone = () => refusal(403, "This check-in link does not work any more.");
  const p = parts({ roster: gone, counters: gone });
  p.store.rosters.set(10, await roster([{ id: 1, ticket: "t1" }]));
  await p.sync.keptRoster();
  queue(p, "a", 1, 1);
  await p.sync.showQueue();  // the badge counted 1 ...
  p.store.queue.clear();  // ... then the server's Clear-Site-Data emptied the store
  await p.sync.loadRoster();
  assert.deepEqual([p.store.forgotten, p.state.roster.size], [1, 0]);
  assert.match(p.screen.notices[0].message, / 1 check-ins made offline could not be sent/);
  const counters = parts({ counters: gone });
  await counters.sync.refreshCounters();
  assert.equal(counters.store.forgotten, 1);
  assert.equal(counters.screen.notices[0].message,
    "This phone no longer keeps the participant list: This check-in link does not work any more.");
});

test("one sync at a time: a second call while one is in flight joins it", async () => {
  const answer = deferred();
  const p = parts({ sync: () => answer.promise });
  queue(p, "a", 1, 7);
  const first = p.sync.sync();
  assert.equal(p.sync.sync(), first);
  answer.resolve({ results: [{ nonce: "a", reason: "ok" }] });
  await first;
  assert.equal(p.api.calls.filter(([name]) => name === "sync").length, 1);
});

test("a roster is used and kept; a slower one asked for earlier does not replace it", async () => {
  let now = 1000;
  const older = deferred();
  const newer = await roster([{ id: 1, ticket: "t1" }, { id: 2, ticket: "t2" }]);
  const answers = [() => older.promise, () => Promise.resolve(newer)];
  const p = parts({ roster: () => answers.shift()() }, () => now);
  const first = p.sync.loadRoster();
  now = 2000;
  await p.sync.loadRoster();
  older.resolve(await roster([{ id: 1, ticket: "t1" }]));
  await first;
  assert.equal(p.state.roster.size, 2);
  assert.equal(p.store.rosters.get(10).asked, 2000);
  assert.equal(p.screen.online, true);
});

test("no network for the roster: offline, and the kept copy is used", async () => {
  const p = parts({});
  p.store.rosters.set(10, await roster([{ id: 1, ticket: "t1" }]));
  await p.sync.keptRoster();
  await p.sync.loadRoster();
  assert.equal(p.screen.online, false);
  assert.equal(p.state.roster.size, 1);
});
