// ICE servers for this page's peer connections: STUN/TURN from the server
// (GET /api/sessions/{id}/ice), with TURN credentials of this participant's own that expire;
// fetched again once they are near their end, so every new peer connection gets working ones.
// No TURN password is ever written in a page.
//
//   const ice = new IceServers(sessionId);
//   const {iceServers, iceTransportPolicy} = await ice.current();
//   ice.forget()   after the TURN server refused them (the next call fetches fresh ones)
//
// `?ice=relay` in the page's address forces relay-only ICE (every packet through TURN): used
// by the tests and to check a school's TURN server from a browser; nothing else sets it.

import { api } from "./api.js";

function policyFromAddress() {
  try {
    return new URLSearchParams(window.location.search).get("ice") === "relay" ? "relay" : "all";
  } catch {
    return "all";
  }
}

export class IceServers {
  constructor(sessionId) {
    this.sessionId = sessionId;
    this.cached = null; // {iceServers, refreshAfterMs}
    this.pending = null;
    this.policy = policyFromAddress();
  }

  async current() {
    if (this.cached && Date.now() < this.cached.refreshAfterMs) return this.config();
    if (!this.pending) {
      this.pending = api(`/api/sessions/${this.sessionId}/ice`)
        .then((reply) => {
          this.cached = { iceServers: reply.ice_servers ?? [], refreshAfterMs: Number(reply.refresh_after) * 1000 };
        })
        .finally(() => { this.pending = null; });
    }
    try {
      await this.pending;
    } catch (err) {
      // the media still works without TURN on open networks: go on with what we had, if any
      console.warn("ice servers:", err);
      if (!this.cached) return { iceServers: [], iceTransportPolicy: this.policy };
    }
    return this.config();
  }

  config() {
    return { iceServers: this.cached.iceServers, iceTransportPolicy: this.policy };
  }

  forget() {
    this.cached = null;
  }
}
