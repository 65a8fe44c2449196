// What the join form shows before joining: the meeting's title and date. A join link
// holds no agenda yet (the websocket gives it only after `join`), so the page asks the
// server's small preview endpoint, presenting the link's own token (PROTOCOL.md, "HTTP
// API"). Any failure just leaves the form without the meeting's name.

/** `{meeting, title, subtitle, time_zone, start, end, languages}` or null. */
export async function joinInfo(meeting, token) {
  if (!meeting || !token || typeof fetch !== 'function') return null;
  try {
    const res = await fetch(`/api/meetings/${encodeURIComponent(meeting)}/preview`, {
      headers: { Authorization: `Bearer ${token}` },
      cache: 'no-store',
    });
    if (!res.ok) return null;
    const info = await res.json();
    return info && typeof info.title === 'string' ? info : null;
  } catch {
    return null;
  }
}
