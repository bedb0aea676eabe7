// Test page for client_web/js/media.js: a bare websocket `conn` (send/on) and frame counters.
// The test passes #session=<id>&token=<access token> and drives window.mediaTest.
import * as media from "/static/js/media.js";

const params = new URLSearchParams(location.hash.slice(1));
const sessionId = params.get("session");
const token = params.get("token");
const status = document.getElementById("status");

function openConn() {
  const ws = new WebSocket(`ws://${location.host}/ws/sessions/${sessionId}`);
  const pending = new Map(); // id -> {resolve, reject, reply}
  const handlers = new Map();
  const sizes = { sdpOut: [], acked: new Map() };
  let counter = 0;
  const welcome = new Promise((resolve, reject) => {
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", data: { token, last_seq: null } }));
    ws.onclose = (ev) => reject(new Error(`closed ${ev.code}`));
    ws.onmessage = (msg) => {
      const frame = JSON.parse(msg.data);
      if (frame.type === "welcome") return resolve(frame);
      const waiting = frame.id != null ? pending.get(frame.id) : undefined;
      if (frame.type === "ack" && waiting) {
        pending.delete(frame.id);
        return waiting.resolve(waiting.reply ?? frame);
      }
      if (frame.type === "error" && waiting) {
        pending.delete(frame.id);
        return waiting.reject(Object.assign(new Error(frame.message), { code: frame.code }));
      }
      if (waiting) waiting.reply = frame; // a reply frame: delivered with the ack
      for (const fn of handlers.get(frame.type) ?? []) fn(frame.data, frame);
    };
  });
  const conn = {
    send(type, data) {
      counter += 1;
      const id = `page-${counter}`;
      const text = JSON.stringify({ type, id, data });
      if (data && typeof data.sdp === "string") sizes.sdpOut.push(text.length);
      return new Promise((resolve, reject) => {
        const done = (value) => {
          sizes.acked.set(type, (sizes.acked.get(type) ?? 0) + 1);
          resolve(value);
        };
        pending.set(id, { resolve: done, reject, reply: null });
        ws.send(text);
      });
    },
    on(type, fn) {
      if (!handlers.has(type)) handlers.set(type, new Set());
      handlers.get(type).add(fn);
    },
  };
  return { ws, conn, welcome, sizes };
}

const { ws, conn, welcome, sizes } = openConn();
let published = null;
const rendered = new Map(); // slot -> frames painted (requestVideoFrameCallback)

function show(slot, track, stream) {
  if (track.kind !== "video") return;
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.dataset.slot = slot;
  video.srcObject = stream;
  document.getElementById("videos").append(video);
  rendered.set(slot, 0);
  const count = () => {
    rendered.set(slot, rendered.get(slot) + 1);
    video.requestVideoFrameCallback(count);
  };
  video.requestVideoFrameCallback(count);
  video.play().catch(() => {});
}

window.mediaTest = {
  ready: welcome.then(() => {
    status.textContent = "live";
    return true;
  }),
  async publish(options) {
    const result = await media.publish(conn, options);
    published = result.pc;
    return { publisher: result.publisher, tracks: result.stream.getTracks().length };
  },
  async subscribe(options) {
    const result = await media.subscribe(conn, { ...options, onTrack: show });
    setInterval(async () => {
      window.mediaTest.decoded = await media.receivedFrames(conn);
    }, 200);
    return { slots: result.slots };
  },
  decoded: {}, // per video slot, refreshed from getStats every 200 ms once subscribed
  rendered: (slot) => rendered.get(slot) ?? 0,
  setMode: (mode) => media.setMode(conn, mode),
  async sentFrames() {
    let frames = 0;
    if (published) {
      (await published.getStats()).forEach((s) => {
        if (s.type === "outbound-rtp" && s.kind === "video") frames += s.framesEncoded ?? 0;
      });
    }
    return frames;
  },
  async counts() {
    return { decoded: await media.receivedFrames(conn), rendered: Object.fromEntries(rendered) };
  },
  async publishFails(options) {
    try {
      await media.publish(conn, options);
      return null;
    } catch (err) {
      return err.code ?? String(err);
    }
  },
  startStats: () => {
    media.startStatsReporting(conn, { intervalMs: 1000 });
  },
  sdpSizes: () => sizes.sdpOut,
  acked: (type) => sizes.acked.get(type) ?? 0, // requests of this type the server acked
  async close() {
    await media.closeMedia(conn);
    ws.close();
  },
};
