// HyFlex Live media: publish and receive audio/video through the server's relay, using the
// `media.*` messages of the session websocket (server/realtime/media/protocol.py).
//
// `conn` is any object with:
//   conn.send(type, data) -> Promise   resolves when the server acks (with the reply frame
//                                      {type, id, data} if the connection has it, or anything
//                                      else), rejects on the error frame ({code, message});
//   conn.on(type, fn)                  calls fn(data, frame) for every server frame of `type`.
// For the app's protocol.js Connection use `adaptConnection(connection)`.
//
// API (all functions take the same `conn`; state is kept per conn):
//   await publish(conn, {camera, microphone, screen, maxBitrateBps, iceServers, iceTransportPolicy})
//       camera / microphone: true (ask the browser), a MediaStreamTrack, or false;
//       screen: true (getDisplayMedia), a MediaStreamTrack, or false.
//       -> {pc, stream, publisher}. Publishing again replaces the previous publication.
//   await subscribe(conn, {mode, publishers, iceServers, iceTransportPolicy, onTrack})
//       iceServers / iceTransportPolicy: RTCPeerConnection's (ice.js fetches them); when no
//       candidate could be gathered (TURN refused expired credentials, or unreachable), the
//       request fails with {code: "turn_refused" | "no_route", message} meant for people.
//       mode "full" | "audio_only" | "audio_slides"; onTrack(slot, track, stream) for each
//       slot ("teacher/camera", "site-3/microphone", "stage:camera", ...).
//       -> {pc, slots, streams: Map(slot -> MediaStream)}. The server may renegotiate
//       (a publisher it had no slot for): handled here, onTrack is called again.
//   await setMode(conn, mode)                   no renegotiation
//   await setBitrateCap(conn, publisher, bps)   teacher only (REMB cap on that publisher)
//   const stop = startStatsReporting(conn, {intervalMs = 5000})
//       sends `media.report` (rtt, loss, jitter, bitrate, frames decoded, freezes) from
//       getStats of the receiving leg, for the server's connection-quality summary.
//   await receivedFrames(conn) -> {slot: framesDecoded}   (video slots, from getStats)
//   onMedia(conn, type, fn)     server pushes: "media.tracks" {live, stage},
//       "media.closed" {leg, reason}, "media.stats" (teacher), "media.recording" (teacher)
//   await unpublish(conn)       stop sending (close the publish leg, tell the server)
//   await closeMedia(conn)      close both peer connections (tell the server)
//   currentPeer(conn, "publish" | "subscribe") -> RTCPeerConnection | null  (the live one,
//       also after a server renegotiation replaced the receiving leg)
// Codecs are pinned to VP8 and Opus (what the relay forwards without re-encoding).

const TIMEOUT_MS = 20000;
const GATHER_MS = 1500;
const states = new WeakMap();

/** A `conn` for media.js from protocol.js's Connection (which resolves sends with the seq
 *  and delivers media frames through onFamily). */
export function adaptConnection(connection) {
  return {
    send: (type, data) => connection.send(type, data),
    on: (type, fn) => connection.onFamily("media", (frame) => {
      if (frame.type === type) fn(frame.data, frame);
    }),
  };
}

function stateOf(conn) {
  let state = states.get(conn);
  if (state) return state;
  state = {
    conn,
    waiters: new Map(), // type -> [{accept, resolve}]
    hooked: new Set(),
    handlers: new Map(), // type -> Set(fn)
    pub: null, // {pc, stream, owned: [tracks]}
    sub: null, // {pc, slots, streams, onTrack, iceServers}
    lastFreezes: 0,
  };
  states.set(conn, state);
  hook(state, "media.subscribe.offer");
  hook(state, "media.publish.answer");
  hook(state, "media.closed");
  onMedia(conn, "media.subscribe.offer", (data) => {
    if (data.renegotiation && state.sub) answerOffer(state, data).catch(reportError);
  });
  onMedia(conn, "media.closed", (data) => {
    if ((data.leg === "publish" || data.leg === "all") && state.pub) stopPublishing(state);
    if ((data.leg === "subscribe" || data.leg === "all") && state.sub) {
      state.sub.pc.close();
      state.sub = null;
    }
  });
  return state;
}

function reportError(err) {
  console.warn("media:", err);
}

function hook(state, type) {
  if (state.hooked.has(type)) return;
  state.hooked.add(type);
  state.conn.on(type, (data, frame) => {
    const waiting = state.waiters.get(type) ?? [];
    const index = waiting.findIndex((w) => w.accept(data, frame));
    if (index >= 0) waiting.splice(index, 1)[0].resolve(data);
    for (const fn of state.handlers.get(type) ?? []) fn(data, frame);
  });
}

/** Listen to a server-pushed media frame: fn(data, frame). */
export function onMedia(conn, type, fn) {
  const state = stateOf(conn);
  hook(state, type);
  if (!state.handlers.has(type)) state.handlers.set(type, new Set());
  state.handlers.get(type).add(fn);
}

function nextFrame(state, type, accept) {
  hook(state, type);
  let entry;
  const promise = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} from the server`)), TIMEOUT_MS);
    entry = {
      accept,
      resolve: (data) => {
        clearTimeout(timer);
        resolve(data);
      },
    };
  });
  if (!state.waiters.has(type)) state.waiters.set(type, []);
  state.waiters.get(type).push(entry);
  const cancel = () => {
    const list = state.waiters.get(type) ?? [];
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
  };
  promise.catch(() => {});
  return { promise, cancel };
}

/** Send a request; the reply frame's data (replyType), or the ack. */
async function call(state, type, data, replyType = null, accept = () => true) {
  const waiter = replyType ? nextFrame(state, replyType, accept) : null;
  let result;
  try {
    result = await state.conn.send(type, data);
  } catch (err) {
    waiter?.cancel();
    throw err;
  }
  if (!waiter) return result;
  if (result && typeof result === "object" && result.type === replyType) {
    waiter.cancel();
    return result.data;
  }
  return waiter.promise;
}

function pinCodecs(transceiver, kind) {
  if (typeof transceiver.setCodecPreferences !== "function") return;
  const caps = RTCRtpReceiver.getCapabilities(kind);
  if (!caps) return;
  const wanted = kind === "video" ? ["video/vp8", "video/rtx"] : ["audio/opus"];
  const codecs = caps.codecs.filter((c) => wanted.includes(c.mimeType.toLowerCase()));
  if (codecs.length) transceiver.setCodecPreferences(codecs);
}

// TURN answers 401 to credentials it refuses (expired or wrong), 403 to a peer it may not relay.
const TURN_REFUSALS = new Set([401, 403, 437, 441]);
const turnRefused = new WeakSet();

function newPeer(iceServers, iceTransportPolicy) {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy, bundlePolicy: "max-bundle" });
  pc.addEventListener("icecandidateerror", (ev) => {
    if (TURN_REFUSALS.has(ev.errorCode)) turnRefused.add(pc);
  });
  return pc;
}

/** A description without a single candidate cannot connect: say why, in people's words. */
function checkRoute(pc, iceTransportPolicy) {
  const sdp = pc.localDescription?.sdp ?? "";
  const wanted = iceTransportPolicy === "relay" ? / typ relay/ : /a=candidate:/;
  if (wanted.test(sdp)) return;
  const err = new Error(
    turnRefused.has(pc)
      ? "Video could not connect: the school's relay server (TURN) refused this browser's pass (expired or not valid). Trying again with a new one…"
      : "Video could not connect: the relay server (TURN) cannot be reached from this network.",
  );
  err.code = turnRefused.has(pc) ? "turn_refused" : "no_route";
  throw err;
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_MS);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Candidates found after the SDP was sent are trickled with `media.ice`. */
function trickle(state, pc, leg, ready) {
  pc.addEventListener("icecandidate", (ev) => {
    if (!ev.candidate || !ev.candidate.candidate) return;
    const c = ev.candidate;
    ready.then(() =>
      state.conn
        .send("media.ice", {
          leg,
          candidate: c.candidate,
          sdpMid: c.sdpMid,
          sdpMLineIndex: c.sdpMLineIndex,
        })
        .catch(() => {}),
    );
  });
}

async function wantTrack(value, kind) {
  if (!value) return null;
  if (typeof value === "object" && "kind" in value) return value;
  if (kind === "screen") {
    const s = await navigator.mediaDevices.getDisplayMedia({ video: true });
    return s.getVideoTracks()[0];
  }
  const s = await navigator.mediaDevices.getUserMedia(
    kind === "camera" ? { video: true } : { audio: true },
  );
  return kind === "camera" ? s.getVideoTracks()[0] : s.getAudioTracks()[0];
}

function stopPublishing(state) {
  if (!state.pub) return;
  state.pub.pc.close();
  for (const track of state.pub.owned) track.stop();
  state.pub = null;
}

export async function publish(conn, options = {}) {
  const { camera = true, microphone = true, screen = false } = options;
  const { maxBitrateBps = null, iceServers = [], iceTransportPolicy = "all" } = options;
  const state = stateOf(conn);
  stopPublishing(state);
  const pc = newPeer(iceServers, iceTransportPolicy);
  const stream = new MediaStream();
  const owned = [];
  const labels = {};
  const transceivers = [];
  for (const [label, value] of [
    ["microphone", microphone],
    ["camera", camera],
    ["screen", screen],
  ]) {
    const track = await wantTrack(value, label);
    if (!track) continue;
    if (value === true) owned.push(track);
    stream.addTrack(track);
    const t = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    pinCodecs(t, track.kind);
    transceivers.push([label, t]);
  }
  if (!transceivers.length) throw new Error("nothing to publish");
  state.pub = { pc, stream, owned };
  let markReady;
  const ready = new Promise((r) => (markReady = r));
  trickle(state, pc, "publish", ready);
  await pc.setLocalDescription(await pc.createOffer());
  for (const [label, t] of transceivers) labels[t.mid] = label;
  await gathered(pc);
  try {
    checkRoute(pc, iceTransportPolicy);
    const reply = await call(
      state,
      "media.publish",
      { sdp: pc.localDescription.sdp, track_labels: labels },
      "media.publish.answer",
    );
    await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    markReady();
    if (maxBitrateBps) {
      for (const [, t] of transceivers) {
        if (t.sender.track?.kind !== "video") continue;
        const params = t.sender.getParameters();
        params.encodings = (params.encodings?.length ? params.encodings : [{}]).map((e) => ({
          ...e,
          maxBitrate: maxBitrateBps,
        }));
        await t.sender.setParameters(params);
      }
    }
    return { pc, stream, publisher: reply.publisher };
  } catch (err) {
    stopPublishing(state);
    throw err;
  }
}

async function answerOffer(state, offer) {
  const sub = state.sub;
  if (sub.pc) sub.pc.close();
  const pc = newPeer(sub.iceServers, sub.iceTransportPolicy);
  sub.pc = pc;
  sub.slots = offer.slots;
  sub.mode = offer.mode;
  sub.streams = new Map();
  pc.addEventListener("track", (ev) => {
    const slot = offer.slots[Number(ev.transceiver.mid)];
    if (slot === undefined) return;
    const stream = new MediaStream([ev.track]);
    sub.streams.set(slot, stream);
    sub.onTrack?.(slot, ev.track, stream);
  });
  let markReady;
  const ready = new Promise((r) => (markReady = r));
  trickle(state, pc, "subscribe", ready);
  await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  checkRoute(pc, sub.iceTransportPolicy);
  await call(state, "media.subscribe.answer", { sdp: pc.localDescription.sdp });
  markReady();
  return sub;
}

export async function subscribe(conn, options = {}) {
  const { mode = "full", publishers = null, iceServers = [], onTrack = null } = options;
  const { iceTransportPolicy = "all" } = options;
  const state = stateOf(conn);
  if (state.sub?.pc) state.sub.pc.close();
  state.sub = { pc: null, slots: [], streams: new Map(), onTrack, iceServers, iceTransportPolicy, mode };
  const data = publishers ? { mode, publishers } : { mode };
  const offer = await call(
    state,
    "media.subscribe",
    data,
    "media.subscribe.offer",
    (d) => !d.renegotiation,
  );
  const sub = await answerOffer(state, offer);
  return { pc: sub.pc, slots: sub.slots, streams: sub.streams };
}

export async function setMode(conn, mode) {
  const state = stateOf(conn);
  await call(state, "media.mode", { mode });
  if (state.sub) state.sub.mode = mode;
}

export async function setBitrateCap(conn, publisher, bps) {
  await call(stateOf(conn), "media.bitrate", { publisher, bps });
}

/** The current peer connection of one leg (null when there is none). */
export function currentPeer(conn, leg) {
  const state = stateOf(conn);
  return (leg === "publish" ? state.pub?.pc : state.sub?.pc) ?? null;
}

/** Frames decoded per received video slot, from the receiving leg's getStats. */
export async function receivedFrames(conn) {
  const state = stateOf(conn);
  const out = {};
  if (!state.sub?.pc) return out;
  const report = await state.sub.pc.getStats();
  report.forEach((s) => {
    if (s.type !== "inbound-rtp" || s.kind !== "video") return;
    const slot = state.sub.slots[Number(s.mid)];
    if (slot !== undefined) out[slot] = s.framesDecoded ?? 0;
  });
  return out;
}

async function summarize(pc) {
  const report = await pc.getStats();
  let lost = 0;
  let received = 0;
  let bytes = 0;
  let frames = 0;
  let freezes = 0;
  let jitter = 0;
  let rtt = null;
  report.forEach((s) => {
    if (s.type === "inbound-rtp") {
      lost += Math.max(0, s.packetsLost ?? 0);
      received += s.packetsReceived ?? 0;
      bytes += s.bytesReceived ?? 0;
      frames += s.framesDecoded ?? 0;
      freezes += s.freezeCount ?? 0;
      jitter = Math.max(jitter, s.jitter ?? 0);
    } else if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime != null) {
      rtt = s.currentRoundTripTime;
    }
  });
  return { lost, received, bytes, frames, freezes, jitter, rtt };
}

/** Report the receiving leg's health every `intervalMs`; returns a stop function. */
export function startStatsReporting(conn, { intervalMs = 5000 } = {}) {
  const state = stateOf(conn);
  let previous = null;
  const timer = setInterval(async () => {
    const pc = state.sub?.pc;
    if (!pc || pc.connectionState !== "connected") return;
    const now = await summarize(pc);
    const data = {
      leg: "subscribe",
      frames_decoded: now.frames,
      freezes: now.freezes,
      jitter_ms: now.jitter * 1000,
    };
    if (now.rtt !== null) data.rtt_ms = now.rtt * 1000;
    if (previous) {
      const got = now.received - previous.received;
      const lost = now.lost - previous.lost;
      if (got + lost > 0) data.loss = Math.min(1, Math.max(0, lost / (got + lost)));
      data.bitrate_bps = Math.max(0, ((now.bytes - previous.bytes) * 8 * 1000) / intervalMs);
    }
    previous = now;
    state.conn.send("media.report", data).catch(() => {});
  }, intervalMs);
  return () => clearInterval(timer);
}

/** Stop sending here and tell the server (nothing to do when not publishing). */
export async function unpublish(conn) {
  const state = stateOf(conn);
  if (!state.pub) return;
  stopPublishing(state);
  await state.conn.send("media.unpublish", {}).catch(() => {});
}

/** Close both legs here and tell the server. */
export async function closeMedia(conn) {
  const state = stateOf(conn);
  const tasks = [];
  if (state.sub) {
    state.sub.pc?.close();
    state.sub = null;
    tasks.push(state.conn.send("media.unsubscribe", {}).catch(() => {}));
  }
  if (state.pub) {
    stopPublishing(state);
    tasks.push(state.conn.send("media.unpublish", {}).catch(() => {}));
  }
  await Promise.all(tasks);
}
