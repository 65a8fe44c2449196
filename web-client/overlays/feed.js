// The live meeting for an overlay: reads the key from the page's fragment (never sent in
// a URL), finds its meeting (GET /api/me), then follows the event stream
// (GET /api/meetings/{id}/events) read with fetch so the key travels in a header, resumed
// with Last-Event-ID and reconnected with backoff. Keeps the agenda, the state and an
// estimate of the server's clock; calls `onUpdate` after every event.

/** The key from `#key=…` (or a bare `#<token>`, e.g. a projector link's token). */
export function keyFromFragment(hash = location.hash) {
  const h = hash.replace(/^#/, '');
  const params = new URLSearchParams(h);
  return params.get('key') || (h.includes('=') ? '' : decodeURIComponent(h));
}

/** The page's options from its query string, with defaults. */
export function options(defaults) {
  const q = new URLSearchParams(location.search);
  const out = { ...defaults };
  for (const k of Object.keys(defaults)) {
    if (q.has(k)) out[k] = q.get(k);
  }
  return out;
}

export class Feed {
  constructor(onUpdate) {
    this.onUpdate = onUpdate;
    this.key = keyFromFragment();
    this.meeting = null;
    this.agenda = null;
    this.planned = null;
    this.agendaVersion = null;
    this.state = null;
    this.seq = null;
    this.samples = [];
    this.offset = 0;
    this.status = 'connecting';
    this.backoff = 500;
  }

  /** Server time now (ms): local time plus the largest recent offset sample (network
   *  delay only makes a sample smaller). */
  now() {
    return Date.now() + this.offset;
  }

  sample(serverTime) {
    if (typeof serverTime !== 'number') return;
    this.samples.push(serverTime - Date.now());
    if (this.samples.length > 16) this.samples.shift();
    this.offset = Math.max(...this.samples);
  }

  async start() {
    if (!this.key) {
      this.setStatus('no-key');
      return;
    }
    for (;;) {
      let end = null;
      try {
        if (!this.meeting) await this.identify();
        end = await this.stream();
      } catch (e) {
        if (e.status === 401) end = 'unauthorized';
      }
      if (end === 'unauthorized' || end === 'revoked' || end === 'closed') {
        this.setStatus(end);
        return;
      }
      this.setStatus('connecting');
      const wait = this.backoff * (0.5 + Math.random());
      this.backoff = Math.min(this.backoff * 2, 10000);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  setStatus(s) {
    this.status = s;
    document.documentElement.dataset.status = s;
    this.onUpdate(this);
  }

  headers(extra) {
    return { Authorization: `Bearer ${this.key}`, ...extra };
  }

  async identify() {
    const r = await fetch('/api/me', { headers: this.headers(), cache: 'no-store' });
    if (!r.ok) {
      const e = new Error(`GET /api/me: ${r.status}`);
      e.status = r.status;
      throw e;
    }
    this.meeting = (await r.json()).meeting;
  }

  async stream() {
    const headers = this.headers({ Accept: 'text/event-stream' });
    if (this.seq !== null) headers['Last-Event-ID'] = String(this.seq);
    let url = `/api/meetings/${encodeURIComponent(this.meeting)}/events`;
    if (this.agendaVersion !== null) url += `?agenda_version=${this.agendaVersion}`;
    const r = await fetch(url, { headers, cache: 'no-store' });
    if (r.status === 401) return 'unauthorized';
    if (r.status === 410) return 'closed';
    if (!r.ok || !r.body) throw new Error(`event stream: ${r.status}`);
    this.backoff = 500;
    this.setStatus('live');
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let event = 'message';
    let data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return null;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (line === '') {
          if (data.length) {
            const end = this.dispatch(event, data.join('\n'));
            if (end) return end;
          }
          event = 'message';
          data = [];
        } else if (!line.startsWith(':')) {
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          const v = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          if (field === 'event') event = v;
          else if (field === 'data') data.push(v);
        }
      }
    }
  }

  dispatch(event, raw) {
    if (event === 'revoked' || event === 'closed') return event;
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return null;
    }
    if (event === 'agenda') {
      this.agenda = msg.agenda;
      this.planned = msg.planned;
      this.agendaVersion = msg.version;
    } else if (event === 'snapshot' || event === 'change') {
      if (event === 'change' && this.seq !== null && msg.seq <= this.seq) return null;
      this.seq = msg.seq;
      this.state = msg.state;
      this.sample(msg.server_time);
    } else {
      return null;
    }
    this.onUpdate(this);
    return null;
  }
}

/** Remaining ms of a clock at server time `now` (negative in overtime), or null. */
export function remaining(clock, now) {
  if (!clock) return null;
  if (clock.state === 'running') return clock.ends_at - now;
  return typeof clock.remaining === 'number' ? clock.remaining : null;
}

/** `m:ss` or `h:mm:ss`; overtime counts up with a leading `+`. */
export function clockText(ms) {
  if (ms === null) return '';
  const over = ms < 0;
  const s = Math.ceil(Math.abs(ms) / 1000 - 1e-9);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  const body = h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
  return over ? `+${body}` : body;
}

/** `ok`, `warning`, `danger` or `overtime`, from the agenda's wrap-up times. */
export function level(agenda, segment, ms) {
  if (ms === null) return 'none';
  const m = (agenda && agenda.meeting) || {};
  const s = (agenda && agenda.segment && agenda.segment[segment]) || {};
  const pick = (a, b, d) => (typeof a === 'number' ? a : typeof b === 'number' ? b : d);
  const warning = pick(s.warning, m.warning, 60) * 1000;
  const danger = pick(s.danger, m.danger, 0) * 1000;
  if (ms < 0) return 'overtime';
  if (ms <= danger) return 'danger';
  if (ms <= warning) return 'warning';
  return 'ok';
}

/** The agenda person of a speech, if the speaker is a named one. */
export function person(agenda, speaker) {
  if (!agenda || !speaker || !speaker.person) return null;
  const slug = (name) =>
    name
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '');
  const all = [];
  if (agenda.meeting.host) all.push(agenda.meeting.host);
  for (const s of agenda.segment) {
    if (s.moderator) all.push(s.moderator);
    for (const p of s.speakers || []) all.push(p);
    for (const p of s.reactions || []) all.push(p);
  }
  return all.find((p) => (p.id || slug(p.name)) === speaker.person) || all.find((p) => p.name === speaker.name) || null;
}

/** Runs `fn` on every animation frame (clocks) — cheap: it only writes changed text. */
export function everyFrame(fn) {
  const loop = () => {
    fn();
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}
