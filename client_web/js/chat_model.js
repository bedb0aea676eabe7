// The chat part of the live state: built from the snapshot's "chat" (server/domain/live/chat.py
// ChatBook.view_for) and kept current by chat.* events. Used by live_state.js.

const KEEP = 300; // messages kept on the page

export function chatFrom(snap) {
  return {
    enabled: snap?.enabled ?? true,
    sites_off: [...(snap?.sites_off ?? [])],
    muted: snap?.muted ?? false,
    muted_users: [...(snap?.muted_users ?? [])],
    messages: new Map((snap?.messages ?? []).map((m) => [m.chat_id, m])),
  };
}

export const CHAT_APPLY = {
  "chat.sent": (s, d) => {
    s.chat.messages.set(d.chat_id, d);
    while (s.chat.messages.size > KEEP) s.chat.messages.delete(s.chat.messages.keys().next().value);
  },
  "chat.deleted": (s, d) => s.chat.messages.delete(d.chat_id),
  "chat.toggled": (s, d) => {
    const c = s.chat;
    if (d.site_id === null) c.enabled = d.enabled;
    else c.sites_off = d.enabled ? c.sites_off.filter((x) => x !== d.site_id) : [...new Set([...c.sites_off, d.site_id])];
  },
  "chat.muted": (s, d) => {
    const c = s.chat;
    if (d.user_id === s.me.user_id) c.muted = d.muted;
    const others = c.muted_users.filter((u) => u !== d.user_id);
    c.muted_users = d.muted ? [...others, d.user_id] : others;
  },
};
