// The queue of scans decided offline, as data: what is kept on the phone, what is sent to
// /checkin/sync, and what the door is told of the answers. Pure: the store and the network
// are elsewhere (store.js, sync.js).
import { format } from "./answers.js";

export const BATCH = 200;  // scans sent at a time (the server takes up to 500)

// The server's answer that this phone may not scan here any more: signed out elsewhere, the
// volunteer's link expired or withdrawn. The phone then forgets the roster and the queue.
const GONE = [401, 403, 410];

export function scanningEnded(error) {
  return !!error && GONE.includes(error.status);
}

// What the door is told then: why, and how many check-ins made offline were dropped unsent
// (nobody can send them now; the people may need checking in again by an organiser).
export function forgottenNotice(lost, message, text) {
  const why = format(text.forgotten, { message: message || "" });
  return lost ? why + " " + format(text.unsent, { n: lost }) : why;
}

// What is kept of a scan admitted offline: the scan, plus what the phone needs to know of it
// (the workshop, the person); those two are not sent.
export function queuedScan(scan, workshopId, personId) {
  return Object.assign({}, scan, { workshop_id: workshopId, person_id: personId });
}

// This workshop's scans only (another workshop's wait until its scanner page is open here),
// as kept (`mine`) and as sent (`scans`).
export function batchToSend(queued, workshopId) {
  const mine = (queued || []).filter((q) => q.workshop_id === workshopId).slice(0, BATCH);
  const scans = mine.map((q) => {
    const scan = Object.assign({}, q);
    delete scan.workshop_id;
    delete scan.person_id;
    return scan;
  });
  return { mine: mine, scans: scans };
}

// The phone let these people in offline, the server did not (say, a ticket re-issued meanwhile).
export function refusedOf(results) {
  return results.filter((r) => r.reason !== "ok" && r.reason !== "already_checked_in");
}

// What the door is told of them: who it was, as the phone knew them (a re-issued ticket is
// unknown to the server), and why.
export function overruledNotice(refused, mine, names, text) {
  const byNonce = {};
  for (const q of mine) byNonce[q.nonce] = q;
  const who = refused.map((r) => {
    const name = (r.person && r.person.name) || names[(byNonce[r.nonce] || {}).person_id] || "?";
    return name + ": " + (text.reasons[r.reason] || r.message);
  });
  return format(text.sync_overruled, { n: refused.length }) + " " + who.join(" · ");
}
