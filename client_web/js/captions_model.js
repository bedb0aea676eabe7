// The captions part of the live state: from the snapshot's "captions"
// (server/domain/live/captions.py CaptionBook.view_for) and caption.* events.

const KEEP = 50;

export function captionsFrom(snap) {
  return {
    captioner: snap?.captioner ?? false,
    captioners: [...(snap?.captioners ?? [])],
    recent: [...(snap?.recent ?? [])],
  };
}

export const CAPTION_APPLY = {
  "caption.granted": (s, d) => {
    if (d.user_id === s.me.user_id) s.captions.captioner = true;
    s.captions.captioners = [...new Set([...s.captions.captioners, d.user_id])];
  },
  "caption.revoked": (s, d) => {
    if (d.user_id === s.me.user_id) s.captions.captioner = false;
    s.captions.captioners = s.captions.captioners.filter((u) => u !== d.user_id);
  },
  "caption.added": (s, d) => {
    s.captions.recent.push({ caption_id: d.caption_id, start: d.start, text: d.text });
    if (s.captions.recent.length > KEEP) s.captions.recent.shift();
  },
};
