// Display names of people and sites for staff views (from the REST API; students only ever
// see themselves, so their views use "You" / "A classmate").

import { api } from "../api.js";
import { HOME, siteKey } from "../live_state.js";

export class Directory {
  constructor() {
    this.users = new Map();
    this.sites = new Map();
    this.enrolments = [];
    this.session = null;
  }

  static async load(sessionId) {
    const dir = new Directory();
    const [session, users, sites] = await Promise.all([
      api(`/api/sessions/${sessionId}`),
      api("/api/users"),
      api("/api/sites"),
    ]);
    dir.session = session;
    for (const u of users) dir.users.set(u.id, u);
    for (const s of sites) dir.sites.set(s.id, s);
    dir.enrolments = await api(`/api/courses/${session.course_id}/enrolments`);
    return dir;
  }

  person(userId) {
    return this.users.get(userId)?.display_name ?? `Participant ${userId}`;
  }

  site(siteId) {
    if (siteKey(siteId) === HOME) return "At home";
    return this.sites.get(siteId)?.name ?? `Site ${siteId}`;
  }

  /** Sites of the course's students, in a stable order, remote students last. */
  siteIds() {
    const ids = [...new Set(this.enrolments.map((e) => e.site_id))];
    return ids.sort((a, b) => (a === null) - (b === null) || this.site(a).localeCompare(this.site(b)));
  }

  enrolledAt(siteId) {
    return this.enrolments.filter((e) => siteKey(e.site_id) === siteKey(siteId)).length;
  }
}
