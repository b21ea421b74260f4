// The scanner's JSON API (/api/v1/…): the same sign-in cookie plus the CSRF header.
// A rejection with `status` is the server refusing; without one, the network (or a server
// error) failed, and the page may decide offline.

// Wi-Fi that is up but leads nowhere would otherwise hold every scan until the browser gives
// up: after a few seconds the call fails instead (the nonce makes a resend safe).
function request(base, csrf, method, path, body, seconds) {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const timer = controller && setTimeout(() => controller.abort(), (seconds || 5) * 1000);
  return fetch(base + path, {
    method: method,
    credentials: "same-origin",
    signal: controller ? controller.signal : undefined,
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  }).then(read).finally(() => clearTimeout(timer));
}

function read(response) {  // the body is timed too
  if (response.status >= 500 || response.status === 0) throw new Error("server");
  if (response.status === 204) return {};
  return response.json().then((data) => {
    if (response.ok) return data;
    const error = new Error(data.message || "error");
    error.status = response.status;
    throw error;
  });
}

export function createApi(base, csrf) {
  const root = base.replace(/\/$/, "");
  const call = (method, path, body, seconds) => request(root, csrf, method, path, body, seconds);
  return {
    // Online, the server's clock says when; the phone's (scanned_at) only counts for a queued scan.
    checkIn: (scan) => call("POST", "/checkin", Object.assign({}, scan, { scanned_at: undefined })),
    sync: (scans) => call("POST", "/checkin/sync", { scans: scans }, 30),
    roster: (workshopId, sessionId) =>
      call("GET", `/workshops/${workshopId}/roster?session_id=${sessionId}`, null, 60),
    counters: (sessionId) => call("GET", `/sessions/${sessionId}/counters`),
    search: (workshopId, sessionId, q) =>
      call("GET", `/workshops/${workshopId}/search?session_id=${sessionId}&q=${encodeURIComponent(q)}`),
    undo: (attendanceId) => call("DELETE", `/attendances/${attendanceId}`),
  };
}
