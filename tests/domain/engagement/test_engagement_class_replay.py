"""30 minutes of a class of 120 across 4 sites, scripted episodes over seeded random noise.

Every scripted episode must be detected in time, nothing else may alert, and the alert count
stays within the cap.
"""

from __future__ import annotations

import random

import pytest

from server.domain.engagement import (
    ActivityChanged,
    Alert,
    AlertKind,
    Attention,
    ConfusedPressed,
    PollMissed,
    SiteNeedsHelp,
    StudentState,
)

from .engagement_harness import TEACHER, Room

SITES: dict[int | None, str] = {1: "North", 2: "East", 3: "South", 4: "West"}
GROUPS = ("fractions", "decimals", "ratios")


class Script:
    def __init__(self, room: Room, rng: random.Random) -> None:
        self.room = room
        self.rng = rng
        self.hidden_until: dict[int, int] = {}
        s = room.students_at
        self.confused_site = s(1)[:9]
        self.hider = s(2)[0]
        self.frozen_site = s(3)
        self.idle_site = s(4)[:10]
        self.lossy = s(2)[1]
        self.scripted = {self.hider, self.lossy, *self.confused_site, *self.idle_site}

    def poll(self, second: int, qid: str, group: str, site: int | None = None) -> None:
        for uid in self.room.actors if site is None else self.room.students_at(site):
            b = self.room.behaviour[uid]
            away = uid in self.idle_site and 1080 <= second < 1380
            if not b.telemetry or away:
                self.room.send(PollMissed(uid, qid), None)
            elif uid in self.confused_site and 300 <= second <= 330:
                self.room.answer(uid, qid, group, False, self.rng.uniform(20, 60))
            elif self.rng.random() < 0.03:
                self.room.send(PollMissed(uid, qid), None)
            else:
                correct = self.rng.random() < 0.8
                self.room.answer(uid, qid, group, correct, self.rng.uniform(5, 40))

    def noise(self, second: int) -> None:
        room, rng = self.room, self.rng
        for uid, b in room.behaviour.items():
            if uid in self.scripted or not b.telemetry:
                continue
            until = self.hidden_until.get(uid)
            if until is not None and second >= until:
                del self.hidden_until[uid]
                b.visible = True
                room.as_student(uid, Attention(uid, True, True, b.idle_s))
            elif until is None and rng.random() < 0.005:
                self.hidden_until[uid] = second + rng.randint(2, 8)
                b.visible = False
                room.as_student(uid, Attention(uid, False, False, b.idle_s))
            if rng.random() < 0.005 / 60:
                room.as_student(uid, ConfusedPressed(uid))

    def __call__(self, second: int) -> None:
        room = self.room
        if second % 120 == 0:
            self.poll(second, f"Q{second // 120}", GROUPS[(second // 120) % 3])
        if second in (300, 330):
            self.poll(second, f"E{second}", "percentages", site=1)  # a site-1 exercise
        if second == 335:
            for uid in self.confused_site[:6]:
                room.as_student(uid, ConfusedPressed(uid))
        if second in (600, 780):
            room.behaviour[self.hider].visible = second == 780
        if second in (840, 960):
            for uid in self.frozen_site:
                room.behaviour[uid].telemetry = second == 960
                room.behaviour[uid].no_media_s = 0.0
        if 840 < second < 960:
            for uid in self.frozen_site:
                room.behaviour[uid].no_media_s += 1.0
        if second in (1080, 1380):
            room.send(ActivityChanged(second == 1080, "worksheet"), TEACHER)
            for uid in self.idle_site:
                b = room.behaviour[uid]
                b.focused, b.idle_s = second == 1380, 200.0 if second == 1080 else 2.0
        if second in (1440, 1560):
            room.behaviour[self.lossy].loss = 0.3 if second == 1440 else 0.0
        if second == 1620:
            room.send(SiteNeedsHelp(2), room.facilitators[2])
        self.noise(second)


def first_change(room: Room, uid: int, state: StudentState, after: float) -> float | None:
    return next((c.at for c in room.changes(uid) if c.state is state and c.at >= after), None)


def first_alert(alerts: list[Alert], site: int, kind: AlertKind) -> float | None:
    return next((a.at for a in alerts if a.site_id == site and a.state is kind), None)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_thirty_minutes_of_120_students_every_episode_detected(seed: int) -> None:
    room = Room(SITES, {1: 30, 2: 30, 3: 30, 4: 30})
    script = Script(room, random.Random(seed))
    room.advance(1800, script)
    alerts = room.alerts()

    confused_at = first_alert(alerts, 1, AlertKind.CONFUSED)
    assert confused_at is not None and 330 <= confused_at <= 420
    confused_alert = next(a for a in alerts if a.state is AlertKind.CONFUSED)
    assert "at North confused" in confused_alert.text
    assert "wrong answers on percentages (E300, E330)" in confused_alert.text

    hid = first_change(room, script.hider, StudentState.DISENGAGED, 600)
    assert hid is not None and hid <= 660

    trouble_at = first_alert(alerts, 3, AlertKind.CONNECTION_TROUBLE)
    assert trouble_at is not None and 840 < trouble_at <= 870
    for uid in script.frozen_site:  # frozen 840-960, plus grace and recovery
        seen = first_change(room, uid, StudentState.DISENGAGED, 840)
        assert seen is None or seen > 1080

    idle_at = first_alert(alerts, 4, AlertKind.DISENGAGED)
    assert idle_at is not None and 1080 < idle_at <= 1260

    lossy = first_change(room, script.lossy, StudentState.CONNECTION_TROUBLE, 1440)
    assert lossy is not None and lossy <= 1470

    assert first_alert(alerts, 2, AlertKind.HELP) == 1620

    # Nothing else alerted; the cap was never needed.
    assert {(a.site_id, a.state) for a in alerts} == {
        (1, AlertKind.CONFUSED),
        (3, AlertKind.CONNECTION_TROUBLE),
        (4, AlertKind.DISENGAGED),
        (2, AlertKind.HELP),
    }
    assert len(alerts) == 4 < room.settings.max_alerts_per_minute
    assert room.engine.stats()["alerts_held_by_cap"] == 0
    assert room.rejected == 0
