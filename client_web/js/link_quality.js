// How good is this browser's receiving link? Sampled from the receiving peer connection's own
// getStats, turned into a connection indicator (good / fair / poor) and, with hysteresis, into
// the automatic fallback to audio + slides on a weak link.
//
// One sample every THRESHOLDS.sampleMs covers the packets since the previous sample:
//   poor  when loss >= 8 %, or round trip >= 600 ms, or >= 2 new video freezes, or no packets
//         for >= 4 s while a track is live;
//   good  when loss < 2 %, round trip < 300 ms and no new freeze;
//   fair  otherwise.
// Fallback (FallbackPolicy): 3 poor samples in a row (6 s) switch to audio + slides; 10 good
// samples in a row (20 s) switch back to full video. Anything in between resets the count, so a
// link that hovers near a threshold never flaps.

export const THRESHOLDS = Object.freeze({
  sampleMs: 2000,
  poorLoss: 0.08,
  poorRttMs: 600,
  poorFreezes: 2,
  noMediaS: 4,
  goodLoss: 0.02,
  goodRttMs: 300,
  downAfter: 3,
  upAfter: 10,
});

/** One stats sample of a receiving leg: totals since the connection started. */
async function totals(pc) {
  const report = await pc.getStats();
  const t = { lost: 0, received: 0, bytes: 0, frames: 0, freezes: 0, rtt: null };
  report.forEach((s) => {
    if (s.type === "inbound-rtp") {
      t.lost += Math.max(0, s.packetsLost ?? 0);
      t.received += s.packetsReceived ?? 0;
      t.bytes += s.bytesReceived ?? 0;
      if (s.kind === "video") {
        t.frames += s.framesDecoded ?? 0;
        t.freezes += s.freezeCount ?? 0;
      }
    } else if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime != null) {
      t.rtt = s.currentRoundTripTime;
    }
  });
  return t;
}

/** Classify one interval: "good" | "fair" | "poor". */
export function classify({ loss, rttMs, newFreezes, noMediaS }, th = THRESHOLDS) {
  if (loss >= th.poorLoss || (rttMs ?? 0) >= th.poorRttMs || newFreezes >= th.poorFreezes
      || noMediaS >= th.noMediaS) {
    return "poor";
  }
  if (loss < th.goodLoss && (rttMs ?? 0) < th.goodRttMs && newFreezes === 0) return "good";
  return "fair";
}

/** Hysteresis between "full" and "weak" (audio + slides). update() returns "degrade",
 *  "restore" or null. */
export class FallbackPolicy {
  constructor(th = THRESHOLDS) {
    this.th = th;
    this.weak = false;
    this.poorRun = 0;
    this.goodRun = 0;
  }

  update(quality) {
    if (!this.weak) {
      this.poorRun = quality === "poor" ? this.poorRun + 1 : 0;
      if (this.poorRun >= this.th.downAfter) {
        this.weak = true;
        this.goodRun = 0;
        return "degrade";
      }
      return null;
    }
    this.goodRun = quality === "good" ? this.goodRun + 1 : 0;
    if (this.goodRun >= this.th.upAfter) {
      this.weak = false;
      this.poorRun = 0;
      return "restore";
    }
    return null;
  }
}

/**
 * Samples getPeer() (the current receiving RTCPeerConnection, or null) every sampleMs and calls
 * onSample({quality, loss, rttMs, newFreezes, noMediaS, frames}). `expecting()` says whether
 * media should be flowing now (a track is live), so silence is only judged when it matters.
 */
export class LinkMonitor {
  constructor({ getPeer, onSample, expecting = () => true, th = THRESHOLDS }) {
    this.getPeer = getPeer;
    this.onSample = onSample;
    this.expecting = expecting;
    this.th = th;
    this.previous = null;
    this.lastBytesAt = Date.now();
    this.timer = null;
    this.latest = null;
  }

  start() {
    if (this.timer === null) this.timer = setInterval(() => this.sample().catch(() => {}), this.th.sampleMs);
    return this;
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async sample() {
    const pc = this.getPeer();
    if (!pc || pc.connectionState === "closed") {
      this.previous = null;
      this.lastBytesAt = Date.now();
      return null;
    }
    const now = await totals(pc);
    const prev = this.previous;
    this.previous = now;
    if (prev === null || now.received < prev.received) {
      this.lastBytesAt = Date.now();
      return null; // a new leg: nothing to compare yet
    }
    const got = now.received - prev.received;
    const lost = Math.max(0, now.lost - prev.lost);
    if (now.bytes > prev.bytes || !this.expecting()) this.lastBytesAt = Date.now();
    const sample = {
      loss: got + lost > 0 ? lost / (got + lost) : 0,
      rttMs: now.rtt === null ? null : now.rtt * 1000,
      newFreezes: Math.max(0, now.freezes - prev.freezes),
      noMediaS: (Date.now() - this.lastBytesAt) / 1000,
      frames: now.frames,
    };
    sample.quality = pc.connectionState === "failed" ? "poor" : classify(sample, this.th);
    this.latest = sample;
    this.onSample(sample);
    return sample;
  }
}
