// What the door shows for an answer (the server's, or this phone's own): a tone, a title, the
// person and a detail line. Pure: screen.js puts it on the page.

export function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key]);
}

export function timeOfDay(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
}

// `text` is the page's translated strings; `mayOverride`: organisers may admit outside the
// session's time, volunteers not. `offerOverride` asks for the "Admit anyway" button.
export function view(answer, text, mayOverride) {
  const person = answer.person || {};
  const detail = [person.organisation, person.mode && text[person.mode]].filter(Boolean).join(" · ");
  const shown = { name: person.name, detail: detail, offerOverride: false };
  if (answer.reason === "ok") {
    const how = answer.offline ? detail + " — " + text.offline_decision : detail;
    return Object.assign(shown, { tone: "green", title: text.ok, detail: how });
  }
  if (answer.reason === "already_checked_in") {
    return Object.assign(shown, { tone: "amber", title: already(answer, text) });
  }
  const outside = answer.reason === "outside_session";
  const refused = text.reasons[answer.reason] || answer.message;
  const title = outside && !mayOverride ? text.outside_volunteer : refused;
  return Object.assign(shown, { tone: "red", title: title, offerOverride: outside && !!mayOverride });
}

function already(answer, text) {
  const by = answer.checked_in_by ? " " + format(text.by, { name: answer.checked_in_by }) : "";
  return format(text.already, { time: timeOfDay(answer.checked_in_at) }) + by;
}

// Only the person as the roster knows them is shown (never their ticket digest or status).
export function shownPerson(person) {
  return { name: person.name, organisation: person.organisation, mode: person.mode, id: person.id };
}
