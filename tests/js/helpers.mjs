// Shared by the scanner's node tests (not a test file itself). The modules under test are
// static/js/scanner/*.js, imported as the browser imports them.
import { webcrypto } from "node:crypto";

if (!globalThis.crypto) globalThis.crypto = webcrypto;  // node 18 has WebCrypto, not as a global

export const SCANNER = new URL("../../static/js/scanner/", import.meta.url);

// The page's strings (templates/checkin/scanner.html), in English.
export const TEXT = {
  ok: "Welcome",
  already: "Already checked in at {time}",
  by: "by {name}",
  onsite: "Onsite",
  online: "Online",
  checked_in: "checked in",
  queued: "{n} waiting to sync",
  offline_decision: "Decided offline; will sync when the network is back.",
  no_results: "Nobody found.",
  check_in: "Check in",
  undone: "Check-in undone.",
  undo_failed: "The check-in was not undone.",
  offline_undo: "Undo needs the network: try again when it is back.",
  not_kept: "Not checked in: this phone could not keep the scan. Scan again.",
  reasons: {
    ok: "Checked in.",
    already_checked_in: "Already checked in.",
    unknown_ticket: "Unknown ticket.",
    cancelled: "This registration was cancelled or declined.",
    workshop_cancelled: "This workshop was cancelled: nobody is checked in.",
    waitlisted: "This person is on the waiting list, not confirmed.",
    pending_approval: "This registration is still waiting for approval.",
    wrong_workshop: "This ticket is for another workshop.",
    outside_session: "This session is not running now. Check the session, or override.",
    ticket_needed: "A check-in link checks people in by name only online, one at a time: scan their ticket.",
    search_limit: "This check-in link has checked in too many people by name in the last hour.",
  },
  outside_volunteer: "This session is not running now. Ask an organiser.",
  override: "Admit anyway",
  error: "Could not check in. Try again.",
  sync_refused: "The check-ins waiting on this phone were refused: {message}",
  sync_overruled: "Let in offline, not checked in by the server ({n}):",
  forgotten: "This phone no longer keeps the participant list: {message}",
  unsent: "{n} check-ins made offline could not be sent and were dropped.",
  forgotten_offline: "This phone may no longer check people in here.",
};

export function sha256(text) {
  return webcrypto.subtle.digest("SHA-256", new TextEncoder().encode(text))
    .then((b) => Buffer.from(b).toString("hex"));
}

// A roster as GET /api/v1/workshops/<id>/roster sends it, for the people given as
// { id, ticket, status, checked_in_at }. `order` is a small decision table for tests of the
// door; the server's own is checked in parity.test.mjs.
export const SMALL_ORDER = [
  { reason: "unknown_ticket", check: "no_ticket", statuses: [] },
  { reason: "cancelled", check: "status", statuses: ["cancelled"] },
  { reason: "already_checked_in", check: "checked_in", statuses: [] },
  { reason: "outside_session", check: "outside_window", statuses: [] },
  { reason: "ok", check: "otherwise", statuses: [] },
];

export async function roster(people, extra) {
  const entries = await Promise.all(people.map(async (p) => ({
    id: p.id,
    ticket_sha256: await sha256(p.ticket),
    name: p.name || `Person ${p.id}`,
    organisation: p.organisation || "Chongqing Polytechnic",
    mode: p.mode || "onsite",
    status: p.status || "confirmed",
    checked_in_at: p.checked_in_at || null,
  })));
  return Object.assign({
    workshop_id: 1,
    session_id: 10,
    admits_from: "2030-03-31T06:30:00+00:00",
    admits_until: "2030-03-31T16:00:00+00:00",
    decision_order: SMALL_ORDER,
    people: entries,
    counters: { onsite: { checked_in: 0, expected: people.length } },
  }, extra || {});
}
