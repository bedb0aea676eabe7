// What a participant's page does when the teacher asks them to mute: a notice, and the
// microphone muted if this page is sending one (server/domain/live/moderation.py).

import { toast } from "./widgets/status.js";

/** @param {{conn}} ctx @param {() => object | null} media the page's MediaSession, if any */
export function wireModeration(ctx, media) {
  ctx.conn.on("moderation.mute_asked", (data, frame, meta) => {
    if (meta.replayed) return;
    const mic = media()?.local?.microphone;
    if (mic) mic.enabled = false;
    document.body.dataset.askedToMute = "1";
    toast(mic ? "The teacher muted your microphone." : "The teacher asks you to mute your microphone.");
  });
}
