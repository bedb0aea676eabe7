// The websocket protocol (version 1) as the server publishes it at GET /api/protocol, and a
// resilient connection: hello/resume with the last seq, reconnect with backoff, message ids
// (idempotency keys, re-sent unchanged after a drop-out), ack/error by id.
//
// No message names are hard-coded here: every command the client sends and every event it
// listens to is checked against the schema the server serves (built from
// server/realtime/core/protocol.py and server/domain/live/event_types.py).

import { api } from "./api.js";

let schemaPromise = null;

/** The server's protocol schema: {version, commands: {name: [fields]}, control, events,
 *  derived_events, extra, close_codes, max_id_length}. Fetched once per page. */
export function loadSchema() {
  if (schemaPromise === null) {
    schemaPromise = fetch("/api/protocol", { headers: { Accept: "application/json" } }).then(
      async (response) => {
        if (!response.ok) throw new Error(`protocol schema: HTTP ${response.status}`);
        const schema = await response.json();
        if (schema.version !== 1) throw new Error(`unsupported protocol ${schema.version}`);
        return schema;
      },
    );
  }
  return schemaPromise;
}

/** Messages of families other modules register on the server (server/realtime/
 *  engagement_messages.py, media_protocol.py). The client sends them only when the server lists
 *  the family in `extra`; otherwise send() rejects with code "unavailable". */
export const PENDING_FAMILIES = Object.freeze({
  confused: "engagement.confused", // {active: bool}
  siteHelp: "engagement.help", // {active: bool} (facilitator, own site)
  mediaMode: "media.mode", // {mode: "full" | "audio_only" | "audio_slides"}
});

/** A refused command: code and message from the server's error frame (or a local reason). */
export class CommandError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function randomId() {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const FATAL = new Set(["unauthorized", "not_found", "bad_hello", "removed"]);
// A command answered `unavailable` (not run: the session's writer was moving) is re-sent with
// the same id, so it is stored once at most, this many times, a second apart.
const RESENDS = 8;

export class Connection {
  /**
   * @param {object} opts
   * @param {object} opts.schema  from loadSchema()
   * @param {number} opts.sessionId
   * @param {string} opts.token   access token
   * @param {(status: string, detail?: string) => void} [opts.onStatus]
   *        "connecting" | "live" | "reconnecting" | "closed"
   */
  constructor({ schema, sessionId, token, onStatus = () => {} }) {
    this.schema = schema;
    this.sessionId = sessionId;
    this.token = token;
    this.onStatus = onStatus;
    this.lastSeq = null; // the last seq covered (snapshot or event); null before the first welcome
    this.replayUpTo = 0;
    this.ws = null;
    this.status = "idle";
    this.pending = new Map(); // id -> {frame, resolve, reject}
    this.listeners = new Map(); // type -> Set(fn)
    this.familyListeners = new Map(); // family prefix -> Set(fn)
    this.anyListeners = new Set();
    this.welcomeListeners = new Set();
    this.prefix = randomId();
    this.counter = 0;
    this.attempt = 0;
    this.timer = null;
    this.stable = null; // resets the backoff once a connection has stayed up 10 s
    this.heartbeat = null;
    this.lastFrameAt = 0;
    this.stopped = false;
    this.welcomes = 0; // how many times the server welcomed us (1 + resumes)
    this.nodeUrl = null; // the session's node (GET /api/sessions/{id}/node); null: this page's
    this.closeCodes = new Map(Object.entries(schema.close_codes).map(([k, v]) => [v, k]));
    window.addEventListener("offline", () => this.dropped("the network went offline"));
    window.addEventListener("online", () => this.reconnectNow());
  }

  // --- subscriptions ---

  /** Listen to one event type the server's schema lists; fn(data, frame, {replayed}). */
  on(type, fn) {
    if (!this.schema.events.includes(type)) throw new Error(`unknown event type ${type}`);
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return this;
  }

  /** Hook for families registered by other modules ("engagement", "media"...): fn(frame). */
  onFamily(prefix, fn) {
    if (!this.familyListeners.has(prefix)) this.familyListeners.set(prefix, new Set());
    this.familyListeners.get(prefix).add(fn);
    return this;
  }

  /** Every sequenced or aggregate event frame: fn(frame, {replayed}). */
  onAny(fn) {
    this.anyListeners.add(fn);
    return this;
  }

  /** Each welcome (first connect and every resume): fn(welcome). */
  onWelcome(fn) {
    this.welcomeListeners.add(fn);
    return this;
  }

  supports(type) {
    return type in this.schema.commands || this.schema.extra.includes(type.split(".", 1)[0]);
  }

  // --- commands ---

  /** Send a command; resolves with the ack's seq, rejects with CommandError. The message keeps
   *  its id across reconnects, so a retried answer is stored once. */
  send(type, data = {}) {
    const fields = this.schema.commands[type];
    if (fields === undefined) {
      const family = type.split(".", 1)[0];
      if (!this.schema.extra.includes(family)) {
        return Promise.reject(
          new CommandError("unavailable", `${type} is not available on this server yet`),
        );
      }
    } else {
      const unknown = Object.keys(data).filter((k) => !fields.includes(k));
      if (unknown.length) {
        return Promise.reject(new CommandError("bad_input", `${type}: unknown field(s) ${unknown.join(", ")}`));
      }
    }
    this.counter += 1;
    const id = `${this.prefix}-${this.counter}`;
    const frame = JSON.stringify({ type, id, data });
    if (this.stopped) { // signed out, removed, not found: the connection will not come back
      return Promise.reject(new CommandError("closed", "the connection to the lesson is closed"));
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { frame, resolve, reject });
      if (this.status === "live") this.ws.send(frame);
    });
  }

  // --- lifecycle ---

  connect() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.stable);
    clearInterval(this.heartbeat);
    if (this.ws) this.ws.close(1000, "bye");
    this.failPending("signed out");
    this.setStatus("closed", "signed out");
  }

  /** Reject every command still waiting for its ack: the connection will not come back. */
  failPending(reason) {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new CommandError("closed", reason));
  }

  setStatus(status, detail = "") {
    this.status = status;
    this.onStatus(status, detail);
  }

  open() {
    clearTimeout(this.timer);
    this.detach();
    const base = new URL(this.nodeUrl ?? location.href);
    const scheme = base.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${base.host}/ws/sessions/${this.sessionId}`);
    this.ws = ws;
    this.setStatus(this.lastSeq === null ? "connecting" : "reconnecting");
    ws.onopen = () => {
      if (ws !== this.ws) return;
      ws.send(JSON.stringify({ type: "hello", data: { token: this.token, last_seq: this.lastSeq } }));
    };
    ws.onmessage = (msg) => {
      if (ws === this.ws) this.receive(msg.data);
    };
    ws.onclose = (ev) => {
      if (ws === this.ws) this.closed(ev.code, ev.reason);
    };
  }

  /** Forget the current socket (if any) and close it quietly. */
  detach(reason = "replaced") {
    const ws = this.ws;
    if (ws === null) return;
    this.ws = null;
    ws.onopen = ws.onmessage = ws.onclose = null;
    try {
      ws.close(4000, reason.slice(0, 100));
    } catch {
      /* already closing */
    }
  }

  /** Drop the socket now (offline, silent server) and start reconnecting. */
  dropped(reason) {
    if (this.stopped || this.ws === null) return;
    this.detach(reason);
    this.closed(1006, reason);
  }

  reconnectNow() {
    if (this.stopped || this.status === "live" || this.status === "closed") return;
    this.attempt = 0;
    this.open();
  }

  closed(code, reason) {
    clearInterval(this.heartbeat);
    clearTimeout(this.stable);
    if (this.stopped) return;
    const name = this.closeCodes.get(code);
    if (FATAL.has(name)) {
      this.stopped = true;
      this.failPending(reason || name);
      this.setStatus(name === "removed" ? "removed" : "closed", reason || name);
      return;
    }
    this.attempt += 1;
    if (name === "moved") {
      // the session moved to another node: ask where it is now and go there at once; the
      // commands still waiting are re-sent there with their ids after the welcome
      this.setStatus("reconnecting", reason || "the session moved");
      this.follow().finally(() => {
        if (!this.stopped) this.timer = setTimeout(() => this.open(), 100 + Math.random() * 200);
      });
      return;
    }
    const base = name === "flood" ? 5000 : 500;
    const delay = Math.min(15000, base * 2 ** Math.min(this.attempt - 1, 5));
    const jitter = delay * (0.8 + Math.random() * 0.4);
    this.setStatus("reconnecting", reason || "connection lost");
    this.timer = setTimeout(() => this.open(), jitter);
  }

  /** Where the session is served now (cluster mode); keeps the current node when unknown. */
  async follow() {
    try {
      const where = await api(`/api/sessions/${this.sessionId}/node`, { token: this.token });
      if (where?.url) this.nodeUrl = new URL(where.url).origin === location.origin ? null : where.url;
    } catch {
      /* unknown for now: reconnect where we were (the proxy routes by session) */
    }
  }

  /** A command refused because of where it was sent: `wrong_node` moves to the session's node
   *  and re-sends it there; `unavailable` re-sends it (same id) a second later. */
  retry(frame) {
    const pending = frame.id == null ? undefined : this.pending.get(frame.id);
    if (pending === undefined) return false;
    pending.tries = (pending.tries ?? 0) + 1;
    if (pending.tries > RESENDS) return false;
    if (frame.code === "wrong_node") {
      this.follow().then(() => {
        if (this.nodeUrl !== null && !this.stopped) this.open();
        else this.settle(frame.id, (p) => p.reject(new CommandError(frame.code, frame.message)));
      });
      return true;
    }
    setTimeout(() => {
      if (this.pending.get(frame.id) === pending && this.status === "live") this.ws.send(pending.frame);
    }, 1000);
    return true;
  }

  startHeartbeat() {
    clearInterval(this.heartbeat);
    this.lastFrameAt = Date.now();
    this.heartbeat = setInterval(() => {
      if (this.status !== "live") return;
      if (Date.now() - this.lastFrameAt > 25000) {
        this.dropped("no answer from the server");
        return;
      }
      this.ws.send(JSON.stringify({ type: "ping" }));
    }, 10000);
  }

  // --- frames ---

  receive(raw) {
    this.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    switch (frame.type) {
      case "welcome":
        return this.welcomed(frame);
      case "ack":
        return this.settle(frame.id, (p) => p.resolve(frame.seq));
      case "error":
        if ((frame.code === "unavailable" || frame.code === "wrong_node") && this.retry(frame)) return;
        // an error naming an id that is no longer waiting answers a copy re-sent after a
        // resume (already answered): nothing to tell anyone; id-less errors are shown
        if (!this.settle(frame.id, (p) => p.reject(new CommandError(frame.code, frame.message))) && frame.id == null) {
          this.emitError(frame);
        }
        return;
      case "pong":
        return;
      default:
        return this.event(frame);
    }
  }

  welcomed(welcome) {
    // The snapshot already covers every event up to welcome.last_seq; the events replayed after
    // it (seq <= replayUpTo) are delivered with {replayed: true} for notices only.
    this.welcomes += 1;
    this.replayUpTo = welcome.last_seq;
    this.lastSeq = welcome.last_seq;
    clearTimeout(this.stable);
    this.stable = setTimeout(() => (this.attempt = 0), 10000); // not on a welcome that drops at once
    this.setStatus("live");
    this.startHeartbeat();
    // commands still waiting go first (in order); what a listener sends now goes once
    for (const pending of this.pending.values()) this.ws.send(pending.frame);
    for (const fn of this.welcomeListeners) fn(welcome);
  }

  settle(id, fn) {
    const pending = id == null ? undefined : this.pending.get(id);
    if (pending === undefined) return false;
    this.pending.delete(id);
    fn(pending);
    return true;
  }

  event(frame) {
    let replayed = false;
    if (typeof frame.seq === "number") {
      if (frame.seq <= this.replayUpTo) {
        replayed = true;
      } else if (this.lastSeq !== null && frame.seq <= this.lastSeq) {
        return; // a duplicate
      } else {
        this.lastSeq = frame.seq;
      }
    }
    const meta = { replayed };
    const family = String(frame.type).split(".", 1)[0];
    for (const fn of this.anyListeners) fn(frame, meta);
    for (const fn of this.listeners.get(frame.type) ?? []) fn(frame.data, frame, meta);
    for (const fn of this.familyListeners.get(family) ?? []) fn(frame, meta);
  }

  emitError(frame) {
    window.dispatchEvent(new CustomEvent("hyflex:error", { detail: frame }));
  }
}
