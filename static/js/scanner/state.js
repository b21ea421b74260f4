// What this phone knows of the session: the roster (by ticket digest), who is in, the
// admission window and the decision order the server sent. Pure: no DOM, no storage, no
// network (the clock can be given, for tests).

export class DoorState {
  constructor(workshopId, sessionId, now) {
    this.workshopId = workshopId;
    this.sessionId = sessionId;
    this.now = now || Date.now;
    this.roster = new Map();     // sha256(ticket) -> person
    this.checkedIn = new Map();  // registration id -> when checked in to this session (as far as we know)
    // Check-ins this phone made or saw since its roster was fetched: id -> {at, noted (phone
    // time), queued (admitted offline, not yet synced), nonce}. A roster fetched before them
    // does not know them.
    this.recent = new Map();
    this.rosterAsked = 0;        // phone time the roster in use was asked for
    this.window = null;          // the session's admission window: {from, until} (Date)
    // The server's decision order (see decide.js): the page's own copy until a roster brings
    // one (a roster kept by an older page has none).
    this.order = null;
    this.volunteer = false;      // scanning through a volunteer's link (not signed in as staff)
    this.workshopCancelled = false;  // the roster says the workshop was cancelled
    this.closed = false;         // the link or the sign-in stopped working: the phone forgot all
  }

  // The link (or the sign-in) no longer works: nothing of the roster stays in memory either.
  close() {
    this.roster = new Map();
    this.checkedIn = new Map();
    this.recent = new Map();
    this.closed = true;
  }

  // Take a roster (fresh, or the copy kept on the phone). A slower, older answer than the
  // roster in use is dropped: false then.
  useRoster(data) {
    if (!data || (data.asked || 0) < this.rosterAsked) return false;
    this.rosterAsked = data.asked || 0;
    this.roster = new Map();
    this.checkedIn = new Map();
    for (const person of data.people) {
      this.roster.set(person.ticket_sha256, person);
      if (person.checked_in_at) this.checkedIn.set(person.id, person.checked_in_at);
    }
    this.keepWhatTheRosterCannotKnow();
    if (data.admits_from) {
      this.window = { from: new Date(data.admits_from), until: new Date(data.admits_until) };
    }
    this.order = data.decision_order || this.order;
    this.workshopCancelled = !!data.workshop_cancelled;
    return true;
  }

  // Check-ins still queued, or newer than the roster, stay in. Anything else the roster does
  // not show was undone elsewhere.
  keepWhatTheRosterCannotKnow() {
    this.recent.forEach((entry, id) => {
      if (this.checkedIn.has(id) && !entry.queued) this.recent.delete(id);
      else if (entry.queued || entry.noted >= this.rosterAsked) this.checkedIn.set(id, entry.at);
      else this.recent.delete(id);
    });
  }

  // Scans queued before a reload are still "in" on this phone until synced.
  restoreQueued(queued) {
    for (const q of queued || []) {
      if (q.workshop_id === this.workshopId && q.session_id === this.sessionId && q.person_id) {
        this.recent.set(q.person_id, { at: q.scanned_at, noted: 0, queued: true, nonce: q.nonce });
      }
    }
  }

  noteIn(id, at, queued, nonce) {
    if (!id) return;
    this.recent.set(id, { at: at, noted: this.now(), queued: !!queued, nonce: nonce });
    this.checkedIn.set(id, at);
  }

  forget(id) {  // a check-in undone, or one the phone could not keep
    this.recent.delete(id);
    this.checkedIn.delete(id);
  }

  synced(personIds) {  // the server has these now
    for (const id of personIds) {
      const entry = this.recent.get(id);
      if (entry) entry.queued = false;
    }
  }

  queuedEntry(person) {  // let in offline by this phone and not yet synced (or undefined)
    const entry = person && this.recent.get(person.id);
    return entry && entry.queued ? entry : undefined;
  }

  byDigest(digest) {
    return this.roster.get(digest);
  }

  byId(id) {
    return Array.from(this.roster.values()).find((p) => p.id === id);
  }

  names() {  // registration id -> name, as the phone knows them
    const names = {};
    this.roster.forEach((p) => { names[p.id] = p.name; });
    return names;
  }

  search(q) {  // offline search: name or organisation
    const needle = q.toLowerCase();
    return Array.from(this.roster.values())
      .filter((p) => (p.name + " " + p.organisation).toLowerCase().indexOf(needle) >= 0)
      .slice(0, 30);
  }

  // What decide() looks at for a scan of this person (or of nobody the roster knows).
  facts(scan, person) {
    return {
      person: person,
      workshopId: this.workshopId,
      earlier: person ? this.earlierOf(person.id) : null,
      nonce: scan.nonce,
      at: new Date(scan.scanned_at),
      override: !!scan.override,
      window: this.window,
      volunteer: this.volunteer,
      byName: !scan.token && !!scan.registration_id,
      workshopCancelled: this.workshopCancelled,
    };
  }

  earlierOf(id) {  // the person's check-in at this session as far as the phone knows, or null
    if (!this.checkedIn.has(id)) return null;
    const entry = this.recent.get(id);
    return { at: this.checkedIn.get(id), nonce: entry ? entry.nonce : undefined };
  }
}
