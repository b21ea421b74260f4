// The check-in decision on this phone, when the server cannot be asked. The order is not
// written here: the roster brings the server's table (DECISION_ORDER in
// workshops/services/checkin.py) and decide() walks it, step by step, on what the phone knows.
// Pure: no DOM, no storage, no network.

// What each check of the table means on the phone. `facts` is what state.facts() gathers:
// { person, workshopId, earlier: {at, nonce} | null, nonce, at: Date, override, window,
//   volunteer (scanning through a link), byName (a search pick: no ticket seen),
//   workshopCancelled (the roster says the whole workshop was cancelled) }.
export const CHECKS = {
  // Every decision made here is one for the offline queue, which goes up in a batch: a
  // volunteer's check-in by name is refused at once (the server would refuse it in the batch).
  link_search_in_batch: (facts) => !!facts.volunteer && !!facts.byName,
  no_ticket: (facts) => !facts.person,
  // The roster holds this workshop's people only, without a workshop_id: on the phone, never.
  other_workshop: (facts) => "workshop_id" in facts.person && facts.person.workshop_id !== facts.workshopId,
  same_scan: (facts) => !!facts.nonce && !!facts.earlier && facts.earlier.nonce === facts.nonce,
  workshop_cancelled: (facts, step) =>
    !!facts.workshopCancelled && (step.statuses || []).includes(facts.person.status),
  status: (facts, step) => (step.statuses || []).includes(facts.person.status),
  checked_in: (facts) => !!facts.earlier,
  outside_window: (facts) => !facts.override && outside(facts.window, facts.at),
  // Only the server counts a link's check-ins by name (every phone's); on the phone a
  // volunteer's never gets this far (link_search_in_batch).
  link_search_limit: () => false,
  otherwise: () => true,
};

function known(check) {  // CHECKS' own, not an Object's ("toString")
  return Object.prototype.hasOwnProperty.call(CHECKS, check);
}

function outside(window, at) {
  return !!window && (at < window.from || at > window.until);
}

// The first step of the table whose check holds: { reason, check, statuses }. A table this
// phone cannot follow (no table yet, a check it does not know, no last step) decides nothing:
// it throws, and the door says the check-in failed rather than guess.
export function decide(order, facts) {
  if (!Array.isArray(order) || !order.length) throw new Error("no decision order yet");
  for (const step of order) {
    if (!known(step.check)) throw new Error("unknown check: " + step.check);
    if (CHECKS[step.check](facts, step)) return step;
  }
  throw new Error("the decision order has no last step");
}
