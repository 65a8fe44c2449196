// The one module that speaks Podium's websocket protocol (see PROTOCOL.md).
//
// It connects to ws(s)://<host>/ws, authenticates (hello with the link's token, or with
// the participant token kept in localStorage, or join), keeps the latest agenda and
// state, sends commands with request ids (Promises settled by ack / error), reconnects
// with exponential backoff and jitter, and keeps an NTP-style estimate of the offset
// between this browser's clock and the server's so that serverNow() is the server time.
// Views never touch the socket: they read `conn.model` and listen for events.
//
// What views read, besides `model.state`:
//  - `model.place`: {seq, hand, point_of_order} for participants and observers, one's own
//    0-based places in the whole queue (null for a hand that is down). The public state
//    carries only the first hands in full and `queue_len`.
//  - `model.participants`, `model.handHistory` for host and moderators: the register and
//    the hand history, which changes do not carry (`state.participant_count` and
//    `state.hand_history_len` give their lengths); this module pages them in with `fetch`
//    and keeps them up to date. The server holds only the latest hands of a long meeting
//    live (the report has them all): `model.handHistoryFrom` is the index of the first.

export const PROTOCOL_VERSION = 2;

/** Close codes after which the server asks us not to reconnect (PROTOCOL.md). */
const CLOSE_REVOKED = 4001;
const CLOSE_ARCHIVED = 4002;

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;
const SYNC_BURST = 8;
const SYNC_BURST_GAP_MS = 250;
const SYNC_PERIOD_MS = 30000;
const SYNC_KEEP = 16;
const SYNC_BEST = 3;
/** Items per `fetch` page (the server's maximum). */
const PAGE = 1000;
/** Least time between two fetches of one list, so a join flood does not make the host
 * exceed its rate limit. */
const PAGE_GAP_MS = 250;
/** The staff lists: list name on the wire, model key, length field of the state, model
 * key of the index of the list's first item held (null: the list is held whole). */
const LISTS = [
  ['participants', 'participants', 'participant_count', null],
  ['hand_history', 'handHistory', 'hand_history_len', 'handHistoryFrom'],
];

/** A connection whose pings go unanswered this long is taken for dead and reopened. */
const DEAD_AFTER_MS = 12000;

/** Error codes after which reconnecting with the same token cannot help. */
const FATAL = new Set(['unauthorized', 'no_such_meeting', 'unsupported_version', 'archived']);

/** The localStorage key of a participant's own token for a meeting. */
export function participantKey(meeting) {
  return `podium:${meeting}:participant`;
}

function storageGet(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}
function storageSet(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch { /* private mode: resume will not work, the rest does */ }
}

/** A command failure: `code` is the server's error code (or "offline"). */
export class CommandError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

/**
 * Clock offset estimator: keeps the last samples and takes the median offset of the
 * lowest-RTT ones (those least disturbed by queueing).
 */
export class ClockSync {
  constructor() {
    this.samples = [];
    this.offset = 0;
    this.rtt = null;
  }
  /** Rough first guess from a server_time seen at local time `local`. */
  seed(serverTime, local) {
    if (this.samples.length === 0) this.offset = serverTime - local;
  }
  /** A ping sent at local t0 answered at local t1 with the server's time. */
  add(t0, t1, serverTime) {
    const rtt = t1 - t0;
    if (!(rtt >= 0)) return;
    this.samples.push({ rtt, offset: serverTime - (t0 + t1) / 2 });
    if (this.samples.length > SYNC_KEEP) this.samples.shift();
    const best = [...this.samples].sort((a, b) => a.rtt - b.rtt).slice(0, SYNC_BEST);
    const offs = best.map((s) => s.offset).sort((a, b) => a - b);
    this.offset = offs[Math.floor(offs.length / 2)];
    this.rtt = best[0].rtt;
  }
}

/**
 * One connection to one meeting with one role.
 *
 * Events (listen with `on(name, fn)`):
 *  - "status"  {status, retryIn?, code?}: connecting | open | reconnecting | denied | need_join
 *  - "welcome" the `you` identity
 *  - "state"   after a snapshot or change (read `conn.model`)
 *  - "events"  the events of a change
 *  - "error"   an error that answers no command
 */
export class Connection {
  constructor({ meeting, role, token, url }) {
    this.meeting = meeting;
    this.role = role;
    this.linkToken = token || '';
    // A personal invitation (#me=<token>) is the delegate's own token: keep it and resume
    // with it instead of showing the join form.
    if (this.isJoinRole && this.linkToken.startsWith('me=')) {
      storageSet(participantKey(meeting), this.linkToken.slice(3));
      this.linkToken = '';
    }
    this.url = url || Connection.defaultUrl();
    this.listeners = new Map();
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map(); // command or fetch id -> {resolve, reject}
    this.listBusy = {}; // list name -> true while a fetch of it is in flight or waiting
    this.pings = new Map(); // ping id -> t0
    this.attempt = 0;
    this.timer = null;
    this.syncTimers = [];
    this.sync = new ClockSync();
    this.status = 'connecting';
    this.joinRequest = null; // {name, delegation, language, resolve, reject}
    this.stopped = false;
    /** What views render. */
    this.model = {
      you: null,
      agenda: null,
      /** Version of `agenda` (sent again in hello so an unchanged agenda is not resent). */
      agendaVersion: null,
      planned: [],
      state: null,
      seq: 0,
      place: null,
      participants: [],
      handHistory: [],
      handHistoryFrom: 0,
    };
    this._onVisible = () => {
      if (document.visibilityState === 'visible') {
        this.burst(3);
        if (!this.ws && !this.stopped && this.status === 'reconnecting') this.connectNow();
      }
    };
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', this._onVisible);
  }

  static defaultUrl() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/ws`;
  }

  /** Participants and observers authenticate with their own token once they joined. */
  get isJoinRole() {
    return this.role === 'participant' || this.role === 'observer';
  }

  get participantToken() {
    return storageGet(participantKey(this.meeting));
  }

  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name).delete(fn);
  }

  emit(name, data) {
    for (const fn of this.listeners.get(name) || []) {
      try { fn(data); } catch (e) { console.error(e); }
    }
  }

  setStatus(status, extra = {}) {
    this.status = status;
    this.emit('status', { status, ...extra });
  }

  /** The server's clock now, in Unix ms. */
  serverNow() {
    return Date.now() + this.sync.offset;
  }

  start() {
    this.stopped = false;
    this.connectNow();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.clearSync();
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  connectNow() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    if (this.isJoinRole && !this.joinRequest && !this.participantToken) {
      // Not joined yet: the view shows the join form; nothing to connect for.
      this.setStatus('need_join');
      return;
    }
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.authenticated = false;
    ws.onopen = () => this.authenticate();
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      this.handle(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (ev && (ev.code === CLOSE_REVOKED || ev.code === CLOSE_ARCHIVED)) {
        // The link was revoked (or its holder removed), or the meeting archived:
        // reconnecting cannot help, so the client stops and says why.
        this.setStatus('denied', {
          code: ev.code === CLOSE_ARCHIVED ? 'archived' : 'revoked',
          message: ev.reason,
        });
      }
      this.authenticated = false;
      this.clearSync();
      for (const [, p] of this.pending) p.reject(new CommandError('offline', 'not connected'));
      this.pending.clear();
      this.pings.clear();
      this.listBusy = {};
      if (this.status === 'denied' || this.status === 'need_join' || this.stopped) return;
      this.scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt += 1;
    this.setStatus('reconnecting', { retryIn: delay });
    this.timer = setTimeout(() => this.connectNow(), delay);
  }

  send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  authenticate() {
    const base = { protocol: PROTOCOL_VERSION, meeting: this.meeting };
    if (this.model.agendaVersion !== null) base.agenda_version = this.model.agendaVersion;
    if (this.joinRequest) {
      const { name, delegation, language } = this.joinRequest;
      this.authMode = 'join';
      this.send({ type: 'join', ...base, token: this.linkToken, name, delegation, language });
      return;
    }
    const own = this.isJoinRole ? this.participantToken : null;
    if (own) {
      this.authMode = 'resume';
      this.send({ type: 'hello', ...base, token: own });
      return;
    }
    if (this.isJoinRole) {
      // The token was forgotten meanwhile: back to the join form.
      this.authMode = 'none';
      this.setStatus('need_join');
      const old = this.ws;
      this.ws = null;
      old.close(1000);
      return;
    }
    this.authMode = 'link';
    this.send({ type: 'hello', ...base, token: this.linkToken });
  }

  /** Join as a participant or observer; resolves with `you` once welcomed. */
  join({ name, delegation, language }) {
    return new Promise((resolve, reject) => {
      if (this.joinRequest) this.joinRequest.reject(new CommandError('superseded'));
      this.joinRequest = { name, delegation, language, resolve, reject };
      this.attempt = 0;
      if (this.ws) {
        const old = this.ws;
        this.ws = null;
        old.close(1000);
      }
      this.connectNow();
    });
  }

  /** Forget a participant token (e.g. to join again under another name). */
  forget() {
    storageSet(participantKey(this.meeting), null);
  }

  /** A request the server answers with a message carrying its id (the host's `links`
   * and `rotate_link`): resolves with that message, rejects with a CommandError. */
  request(msg) {
    return new Promise((resolve, reject) => {
      if (!this.authenticated) {
        reject(new CommandError('offline', 'not connected'));
        return;
      }
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      if (!this.send({ ...msg, id })) {
        this.pending.delete(id);
        reject(new CommandError('offline', 'not connected'));
      }
    });
  }

  handle(msg) {
    switch (msg.type) {
      case 'welcome': {
        this.authenticated = true;
        this.attempt = 0;
        this.sync.seed(msg.server_time, Date.now());
        this.model.you = msg.you;
        this.model.protocol = msg.protocol;
        if (msg.participant_token) storageSet(participantKey(this.meeting), msg.participant_token);
        if (this.joinRequest) {
          this.joinRequest.resolve(msg.you);
          this.joinRequest = null;
        }
        this.setStatus('open');
        this.emit('welcome', msg.you);
        this.startSync();
        break;
      }
      case 'agenda': {
        // Comes before the snapshot, and before the first change showing a new version.
        this.model.agenda = msg.agenda;
        this.model.agendaVersion = msg.version;
        this.model.planned = msg.planned || [];
        break;
      }
      case 'snapshot': {
        this.sync.seed(msg.server_time, Date.now());
        this.model.state = msg.state;
        this.model.seq = msg.seq;
        this.model.place = null; // a `place` follows every snapshot
        this.syncLists([]);
        this.emit('state', { snapshot: true, events: [] });
        break;
      }
      case 'change': {
        if (typeof msg.seq === 'number' && msg.seq < this.model.seq) break;
        this.model.state = msg.state;
        this.model.seq = msg.seq;
        this.syncLists(msg.events || []);
        this.emit('events', msg.events || []);
        this.emit('state', { snapshot: false, events: msg.events || [] });
        break;
      }
      case 'place': {
        if (this.model.place && msg.seq < this.model.place.seq) break;
        this.model.place = { seq: msg.seq, hand: msg.hand ?? null, point_of_order: msg.point_of_order ?? null };
        this.emit('state', { snapshot: false, events: [], place: true });
        break;
      }
      case 'page':
      case 'ack': {
        const p = this.pending.get(msg.id);
        if (p) {
          this.pending.delete(msg.id);
          p.resolve(msg);
        }
        break;
      }
      case 'error': {
        if (msg.id !== undefined && msg.id !== null && this.pending.has(msg.id)) {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          p.reject(new CommandError(msg.code, msg.message));
          break;
        }
        this.handleAuthError(msg);
        break;
      }
      case 'pong': {
        const t0 = this.pings.get(msg.id);
        if (t0 === undefined) break;
        this.pings.delete(msg.id);
        this.sync.add(msg.client_time ?? t0, Date.now(), msg.server_time);
        this.emit('sync', this.sync);
        break;
      }
      case 'links': {
        // The answer to a host's `links` or `rotate_link` request (see request()).
        const p = this.pending.get(msg.id);
        if (p) {
          this.pending.delete(msg.id);
          p.resolve(msg);
        }
        break;
      }
      default:
        break;
    }
  }

  handleAuthError(msg) {
    if (!this.authenticated && FATAL.has(msg.code)) {
      if (this.authMode === 'resume' && msg.code === 'unauthorized') {
        // The stored token is no longer valid. Refused while this page was in the
        // meeting, its holder was removed (the 4001 close may have been lost with the
        // connection): say so. A stale token from another day: join again.
        this.forget();
        if (this.model.you) this.setStatus('denied', { code: 'revoked', message: msg.message });
        else this.setStatus('need_join');
      } else if (this.authMode === 'join') {
        const jr = this.joinRequest;
        this.joinRequest = null;
        this.setStatus('denied', { code: msg.code, message: msg.message });
        if (jr) jr.reject(new CommandError(msg.code, msg.message));
      } else {
        this.setStatus('denied', { code: msg.code, message: msg.message });
      }
      if (this.ws) {
        const old = this.ws;
        this.ws = null;
        old.close(1000);
      }
      return;
    }
    if (!this.authenticated && this.authMode === 'join' && this.joinRequest) {
      const jr = this.joinRequest;
      this.joinRequest = null;
      jr.reject(new CommandError(msg.code, msg.message));
      this.setStatus('need_join', { code: msg.code });
      if (this.ws) {
        const old = this.ws;
        this.ws = null;
        old.close(1000);
      }
      return;
    }
    this.emit('error', msg);
  }

  /** Sends a command; resolves on `ack`, rejects with a CommandError on `error`. */
  command(command) {
    return new Promise((resolve, reject) => {
      if (!this.authenticated) {
        reject(new CommandError('offline', 'not connected'));
        return;
      }
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      if (!this.send({ type: 'command', id, command })) {
        this.pending.delete(id);
        reject(new CommandError('offline', 'not connected'));
      }
    });
  }

  /** A page of a staff list (`participants` or `hand_history`): resolves with the `page`. */
  fetch(what, from, limit = PAGE) {
    return new Promise((resolve, reject) => {
      if (!this.authenticated) {
        reject(new CommandError('offline', 'not connected'));
        return;
      }
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      if (!this.send({ type: 'fetch', id, what, from, limit })) {
        this.pending.delete(id);
        reject(new CommandError('offline', 'not connected'));
      }
    });
  }

  /**
   * Keeps `model.participants` and `model.handHistory` (staff only) as long as the state
   * says they are: joins that a change lists are appended at once, anything else missing
   * is paged in, one fetch per list at a time and at most one every PAGE_GAP_MS.
   */
  syncLists(events) {
    const st = this.model.state;
    if (!st || typeof st.participant_count !== 'number') return;
    const reg = this.model.participants;
    for (const e of events) {
      if (e.type === 'participant_removed') {
        const p = reg.find((x) => x.id === e.participant);
        if (p) p.removed = true;
      }
      if (e.type === 'participant_joined' && e.participant && reg.length === st.participant_count - 1
        && (!reg.length || reg[reg.length - 1].id < e.participant.id)) {
        reg.push(e.participant);
      }
    }
    for (const [what, key, count, fromKey] of LISTS) {
      const want = st[count];
      if (typeof want !== 'number') continue;
      const start = () => (fromKey ? this.model[fromKey] : 0);
      const held = () => start() + this.model[key].length;
      if (held() > want) { // shrank: page it in again
        this.model[key] = [];
        if (fromKey) this.model[fromKey] = 0;
      }
      if (held() === want || this.listBusy[what]) continue;
      this.listBusy[what] = true;
      this.fetch(what, held()).then((page) => {
        if (page.from === held()) {
          this.model[key].push(...page.items);
        } else if (fromKey && page.from > held()) {
          // The items asked for are no longer held live: start again from the oldest.
          this.model[key] = page.items;
          this.model[fromKey] = page.from;
        }
        this.emit('state', { snapshot: false, events: [], lists: true });
      }).catch(() => { /* offline: the next snapshot starts over */ }).finally(() => {
        setTimeout(() => {
          this.listBusy[what] = false;
          if (this.authenticated) this.syncLists([]);
        }, PAGE_GAP_MS);
      });
    }
  }

  ping() {
    const id = this.nextId++;
    const t0 = Date.now();
    if (this.checkAlive()) return;
    this.pings.set(id, t0);
    if (this.pings.size > 64) this.pings.delete(this.pings.keys().next().value);
    this.send({ type: 'ping', id, client_time: t0 });
  }

  /** A ping older than DEAD_AFTER_MS still unanswered: the network dropped silently
   * (no close event may come for minutes). Drop the socket and reconnect now. Returns
   * whether it did. */
  checkAlive() {
    const now = Date.now();
    const ws = this.ws;
    if (!ws) return false;
    for (const sent of this.pings.values()) {
      if (now - sent > DEAD_AFTER_MS) {
        ws.onclose({ code: 4000 });
        try { ws.close(4000); } catch { /* already closing */ }
        return true;
      }
    }
    return false;
  }

  burst(n) {
    for (let i = 0; i < n; i++) {
      this.syncTimers.push(setTimeout(() => this.ping(), i * SYNC_BURST_GAP_MS));
    }
  }

  startSync() {
    this.clearSync();
    this.burst(SYNC_BURST);
    this.syncTimers.push(setInterval(() => this.ping(), SYNC_PERIOD_MS));
    // Between sync pings, look for a silent drop more often.
    this.syncTimers.push(setInterval(() => this.checkAlive(), DEAD_AFTER_MS / 2));
  }

  clearSync() {
    for (const t of this.syncTimers) { clearTimeout(t); clearInterval(t); }
    this.syncTimers = [];
  }
}
