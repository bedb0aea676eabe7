"""Live media over the session websocket: the ``media.*`` family (``protocol``) driving
one encoded pass-through ``streaming.MediaRoom`` per session.

One piece, over 300 lines: every handler here reads and changes the same per-session state
(the room, the subscriptions by leg, the stage slot, the recorder) under one renegotiation
model; the pure parts are already out (``server.domain.media.policy``, ``quality``,
``recording``, ``protocol``). Splitting legs, renegotiation, recording and the announcer into
modules of their own is the next step (docs/architecture.md).

- **Room**: created on the first media message of a session, closed with its runtime (a close
  hook) or when the session ends.
- **Who publishes / receives what**: ``server.domain.media.policy`` (teacher: camera,
  microphone, screen as ``teacher``; a facilitator: the room feed ``site-<id>``; a student:
  ``user-<id>`` while on stage). Refusals are ``not_permitted`` error frames; malformed SDP,
  too many tracks, unsupported codecs are ``bad_input``.
- **Renegotiation model** (the simplest correct one): a subscription names *publishers*, not
  tracks, and has a slot for each of their labels from the start, plus two stage slots. A
  publisher that comes, goes or republishes is rebound inside the relay: no renegotiation, and
  everyone gets a ``media.tracks`` frame listing the live tracks (show/hide tiles). The stage
  is rebound the same way (``media.tracks.stage``). Only a publisher the subscriber has no slot
  for (a site whose facilitator joined the roster later) makes the server renegotiate: it
  replaces the subscription and pushes ``media.subscribe.offer`` with ``renegotiation: true``;
  the client answers with ``media.subscribe.answer`` as usual.
- **Cleanup**: media belongs to the user who negotiated it. When that user has had no open
  websocket for ``grace_seconds`` (default 5 s, so a quick resume keeps media flowing), their
  legs are closed. Peers that never connect are reaped by the room itself.
- **Stage**: ``stage.joined`` / ``stage.left`` domain events move the room's stage to the last
  participant brought on stage; a student taken off stage has their publish leg closed.
- **Recording**: while the session is live and the teacher publishes, the teacher's camera and
  microphone (one file) and screen (a second file, same stem + ``.screen``) are muxed (no
  re-encode) into ``<data_dir>/recordings/session-<id>/`` on the lesson clock
  (``recording``) while the session state says so (the teacher's ``recording.start`` /
  ``recording.stop``); stopped on session end or runtime close.
- **Stats**: every ``STATS_SECONDS`` the room's stats go to the leaders as ``media.stats``;
  :func:`connection_quality` gives a per-user summary, which ``engagement_feed`` feeds to the
  engagement engine every 2 s as server media stats (connection trouble).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from aiortc import RTCIceServer

from server.domain.errors import BadInput, DomainError, InvalidState, NotFound, NotPermitted
from server.domain.events import EVERYONE, LEADERS, to_user
from server.domain.live import SessionStatus
from server.domain.media import policy
from server.domain.roles import Actor, Role
from server.realtime.core import protocol
from server.realtime.core.event_log import LoggedEvent
from server.realtime.core.runtime import SessionRuntime
from server.realtime.media import errors as media_errors
from server.realtime.media import protocol as mp
from server.realtime.media.engagement_feed import MediaEngagementFeed
from server.realtime.media.quality import ClientReport, quality_by_user, stats_frame
from server.realtime.media.recording import new_path, part_path
from server.settings import Settings
from streaming import MediaRoom, RoomStats, VideoCodec
from streaming.recording import screen_path_for

if TYPE_CHECKING:
    from server.realtime.core.engine import RealtimeEngine
    from server.realtime.core.gateway import Handler, Session

log = logging.getLogger(__name__)

EXTENSION: Final = "media"
TICK_SECONDS: Final = 1.0
STATS_SECONDS: Final = 2.0
GRACE_SECONDS: Final = 5.0
# Camera + microphone go to lesson-*.webm (stream 0 camera, 1 microphone), the screen to
# lesson-*.screen.webm; each file is created when its tracks first send (streaming/recording.py).
RECORDED_LABELS: Final = ("camera", "microphone", "screen")


@dataclass(slots=True)
class _Subscription:
    actor: Actor
    asked: list[str] | None
    mode: str


class MediaBridge:
    """The media side of one session runtime."""

    def __init__(
        self, runtime: SessionRuntime, settings: Settings, grace_seconds: float | None = None
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.grace_seconds = GRACE_SECONDS if grace_seconds is None else grace_seconds
        self.room: MediaRoom | None = None
        self.last_stats: RoomStats | None = None
        self.reports: dict[int, ClientReport] = {}
        self.users_by_pid: dict[str, int] = {}
        self.recording: Path | None = None  # the final name of the recording in progress
        self._legs: dict[tuple[str, str], int] = {}  # (pid, leg) -> user who negotiated it
        self._subs: dict[str, _Subscription] = {}
        self._caps: dict[str, int | None] = {}
        self._gone_since: dict[int, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._sent_tracks: tuple[tuple[str, ...], str | None] | None = None
        self._closed = False

    # ----- room lifecycle -----------------------------------------------------------------
    def ensure_room(self) -> MediaRoom:
        if self._closed:
            raise InvalidState(media_errors.STOPPED)
        if self.runtime.live.status is SessionStatus.ENDED:
            raise InvalidState(media_errors.ENDED)
        if self.room is None:
            servers = [_ice_server(s) for s in self.settings.ice_servers]
            self.room = MediaRoom(str(self.runtime.session_id), servers)
            self.room.set_stage(self._stage_pid())
            self._loops = [
                asyncio.create_task(self._tick(), name=f"media-{self.runtime.session_id}-tick"),
                asyncio.create_task(
                    self._watch_tracks(), name=f"media-{self.runtime.session_id}-tracks"
                ),
            ]
        return self.room

    async def close(self) -> None:
        """Stop recording and close every peer connection (runtime close or session end)."""
        if self._closed:  # a close already under way (session end): wait for it
            current = asyncio.current_task()
            pending = [t for t in self._tasks if t is not current]
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            return
        self._closed = True
        for task in self._loops:
            task.cancel()
        # a loop that died of an exception must not skip the recording and the room
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._stop_recording()
        if self.room is not None:
            await self.room.close()
        current = asyncio.current_task()
        pending = [t for t in self._tasks if t is not current]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self._legs.clear()
        self._subs.clear()

    # ----- messages -----------------------------------------------------------------------
    async def handle(self, session: Session, message: protocol.ClientMessage) -> None:
        msg_id = message.id
        try:
            data = mp.parse(message)
            reply = await self._handle(session.actor, message.type, data)
        except DomainError as exc:
            session.error(media_errors.for_people(exc), msg_id)
            return
        except Exception:
            log.exception("session %s: %s failed", self.runtime.session_id, message.type)
            session.error(InvalidState(media_errors.FAILED), msg_id)
            return
        if reply is not None:
            session.send(mp.reply_frame(reply[0], msg_id, reply[1]))
        session.send(protocol.ack_frame(msg_id, None))

    async def _handle(
        self, actor: Actor, type_: str, data: Any
    ) -> tuple[str, dict[str, Any]] | None:
        if isinstance(data, mp.Publish):
            return await self._publish(actor, data)
        if isinstance(data, mp.Subscribe):
            return await self._subscribe(actor, data)
        if isinstance(data, mp.SubscribeAnswer):
            pid = policy.own_pid(actor)
            self._require_owner(pid, "subscribe", actor)
            await self.ensure_room().accept_answer(pid, data.sdp)
        elif isinstance(data, mp.Ice):
            pid = self._pid_for_leg(actor, data.leg)
            self._require_owner(pid, data.leg, actor)
            await self.ensure_room().add_ice_candidate(
                pid, data.leg, data.candidate, data.sdpMid, data.sdpMLineIndex
            )
        elif isinstance(data, mp.SetMode):
            pid = policy.own_pid(actor)
            self._require_owner(pid, "subscribe", actor)
            self.ensure_room().set_mode(pid, data.mode)
            self._subs[pid].mode = data.mode
        elif isinstance(data, mp.Bitrate):
            await self._set_bitrate(actor, data)
        elif isinstance(data, mp.Report):
            self._report(actor, data)
        elif type_ == "media.unpublish":
            pid = self._pid_for_leg(actor, "publish")
            self._require_owner(pid, "publish", actor)
            await self.close_leg(pid, "publish")
        else:  # media.unsubscribe
            pid = policy.own_pid(actor)
            self._require_owner(pid, "subscribe", actor)
            await self.close_leg(pid, "subscribe")
        return None

    async def _publish(self, actor: Actor, data: mp.Publish) -> tuple[str, dict[str, Any]]:
        right = policy.publish_right(actor, self._on_stage(actor))
        room = self.ensure_room()
        pid = right.publisher_id
        async with self._lock(pid):
            answer = await room.publish(
                pid,
                data.sdp,
                right.labels,
                track_labels=data.track_labels,
                max_bitrate_bps=self._caps.get(pid),
            )
            self._own(pid, "publish", actor)
        if actor.role == Role.STUDENT and not self._on_stage(actor):  # left while negotiating
            await self.close_leg(pid, "publish")
            raise NotPermitted(policy.STUDENT_OFF_STAGE)
        if pid == policy.TEACHER_ID:
            self._maybe_record()
        self._spawn(self._renegotiate_missing(pid))  # the answer need not wait for re-offers
        return "media.publish.answer", {"sdp": answer, "publisher": pid}

    async def _subscribe(self, actor: Actor, data: mp.Subscribe) -> tuple[str, dict[str, Any]]:
        pid = policy.own_pid(actor)
        sub = _Subscription(actor, data.publishers, data.mode)
        publishers = policy.choose_publishers(actor, self._site_ids(), data.publishers)
        room = self.ensure_room()
        async with self._lock(pid):
            offer = await self._offer(room, pid, publishers, sub.mode)
            self._subs[pid] = sub
            self._own(pid, "subscribe", actor)
        if actor.leads_session and self.recording is not None:  # e.g. a reloaded console
            started = {"state": "started", "name": self.recording.name}
            self.runtime.publish("media.recording", started, to_user(actor.user_id), time.time())
        return "media.subscribe.offer", self._offer_data(pid, offer, sub.mode, False)

    async def _offer(self, room: MediaRoom, pid: str, publishers: list[str], mode: str) -> str:
        labels = {label for p in publishers for label in policy.labels_for(p)}
        return await room.subscribe(pid, publishers, labels=labels, mode=mode, stage=True)

    def _offer_data(self, pid: str, offer: str, mode: str, again: bool) -> dict[str, Any]:
        assert self.room is not None
        slots = self.room.subscription_slots(pid)
        return {"sdp": offer, "slots": slots, "mode": mode, "renegotiation": again}

    async def _renegotiate_missing(self, publisher: str) -> None:
        """Subscribers who should receive ``publisher`` but have no slot for it get a new offer."""
        room = self.room
        if room is None:
            return
        subscribers = room.subscribers  # a copy: read once
        site_ids = self._site_ids()
        for pid, sub in list(self._subs.items()):
            if sub.asked is not None or pid not in subscribers:
                continue
            try:
                wanted = policy.choose_publishers(sub.actor, site_ids, None)
                if publisher not in wanted:
                    continue
                async with self._lock(pid):
                    # the subscription may have changed or closed while we waited
                    if self._subs.get(pid) is not sub or pid not in room.subscribers:
                        continue
                    slots = room.subscription_slots(pid)
                    if any(s.startswith(f"{publisher}/") for s in slots):
                        continue
                    offer = await self._offer(room, pid, wanted, sub.mode)
                frame = self._offer_data(pid, offer, sub.mode, True)
                self.runtime.publish(
                    "media.subscribe.offer", frame, to_user(sub.actor.user_id), time.time()
                )
            except Exception:
                log.exception("media %s: re-offer to %s failed", self.runtime.session_id, pid)

    async def _set_bitrate(self, actor: Actor, data: mp.Bitrate) -> None:
        if not actor.leads_session:
            raise NotPermitted("Only the teacher sets video bitrate caps.")
        if data.bps is not None and not 30_000 <= data.bps <= 20_000_000:
            raise BadInput("bps must be between 30000 and 20000000 (or null)")
        room = self.ensure_room()
        self._caps[data.publisher] = data.bps
        if data.publisher in room.publishers:
            await room.set_publisher_bitrate(data.publisher, data.bps)

    def _report(self, actor: Actor, data: mp.Report) -> None:
        previous = self.reports.get(actor.user_id)
        new_freezes = 0
        if previous is not None and previous.freezes is not None and data.freezes is not None:
            new_freezes = max(0, data.freezes - previous.freezes)
        self.reports[actor.user_id] = ClientReport(
            time.time(),
            data.leg,
            data.bitrate_bps,
            data.rtt_ms,
            data.loss,
            data.frames_decoded,
            data.freezes,
            new_freezes,
        )

    # ----- legs ---------------------------------------------------------------------------
    def _own(self, pid: str, leg: str, actor: Actor) -> None:
        self._legs[(pid, leg)] = actor.user_id
        self.users_by_pid[pid] = actor.user_id
        self._gone_since.pop(actor.user_id, None)

    def _require_owner(self, pid: str, leg: str, actor: Actor) -> None:
        if self._legs.get((pid, leg)) != actor.user_id:
            raise NotFound(media_errors.LEG_GONE)

    def _pid_for_leg(self, actor: Actor, leg: str) -> str:
        if leg == "publish":
            return policy.publish_right(actor, on_stage=True).publisher_id
        return policy.own_pid(actor)

    def _lock(self, pid: str) -> asyncio.Lock:
        return self._locks.setdefault(pid, asyncio.Lock())

    async def close_leg(self, pid: str, leg: str) -> None:
        """Close one leg of ``pid`` (the other one, if any, keeps running)."""
        self._legs.pop((pid, leg), None)
        if leg == "subscribe":
            self._subs.pop(pid, None)
        if self.room is not None:
            await self.room.close_leg(pid, leg)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sweep(self, now: float) -> None:
        """Forget legs the room dropped; close those of users gone for ``grace_seconds``."""
        room = self.room
        if room is None:
            return
        hub = self.runtime.hub
        publishers, subscribers = room.publishers, room.subscribers  # copies: read once
        for (pid, leg), user in list(self._legs.items()):
            legs = publishers if leg == "publish" else subscribers
            if pid not in legs:
                self._legs.pop((pid, leg), None)
                if leg == "subscribe":
                    self._subs.pop(pid, None)
                continue
            if hub.user_connections(user) > 0:
                self._gone_since.pop(user, None)
                continue
            since = self._gone_since.setdefault(user, now)
            if now - since >= self.grace_seconds:
                await self.close_leg(pid, leg)
        owners = set(self._legs.values())
        for user in list(self._gone_since):
            if user not in owners:
                del self._gone_since[user]

    # ----- domain events ------------------------------------------------------------------
    def on_event(self, runtime: SessionRuntime, logged: LoggedEvent) -> None:
        event = logged.event
        if event.type in ("stage.joined", "stage.left"):
            if self.room is not None:
                self.room.set_stage(self._stage_pid())
            if event.type == "stage.left" and event.data.get("kind") == "user":
                self._off_stage(event.data)
        elif event.type == "recording.started":
            self._maybe_record()
        elif event.type == "recording.stopped":
            self._stop_recording()
        elif event.type == "session.ended":
            self._stop_recording()
            if self.room is not None:
                closed = {"leg": "all", "reason": "session_ended"}
                runtime.publish("media.closed", closed, EVERYONE, time.time())
            self._spawn(self.close())

    def _off_stage(self, data: dict[str, Any]) -> None:
        pid = policy.stage_pid(data)
        user = data.get("user_id")
        if pid is None or not isinstance(user, int) or (pid, "publish") not in self._legs:
            return
        closed = {"leg": "publish", "reason": "off_stage"}
        self.runtime.publish("media.closed", closed, to_user(user), time.time())
        self._spawn(self.close_leg(pid, "publish"))

    def _stage_pid(self) -> str | None:
        stage = self.runtime.live.state.hands.stage
        return policy.stage_pid(stage[-1].target.data()) if stage else None

    def _on_stage(self, actor: Actor) -> bool:
        return any(
            e.target.kind == "user" and e.target.user_id == actor.user_id
            for e in self.runtime.live.state.hands.stage
        )

    def _site_ids(self) -> list[int]:
        return sorted(
            {
                a.site_id
                for a in self.runtime.roster
                if a.role == Role.FACILITATOR and a.site_id is not None
            }
        )

    # ----- recording ----------------------------------------------------------------------
    def _maybe_record(self) -> None:
        room, live = self.room, self.runtime.live
        if room is None or self.recording is not None or self._closed:
            return
        if live.status is not SessionStatus.LIVE or live.started_at is None:
            return
        if not live.recording_on:  # the teacher starts it (recording.start)
            return
        if policy.TEACHER_ID not in room.publishers:
            return
        suffix = ".webm" if room.video_codec is VideoCodec.VP8 else ".mkv"
        final = new_path(self.settings.data_dir, self.runtime.session_id, time.time(), suffix)
        room.start_recording(
            part_path(final), policy.TEACHER_ID, live.started_at, labels=RECORDED_LABELS
        )
        self.recording = final
        self._tell_leaders("media.recording", {"state": "started", "name": final.name})

    def _stop_recording(self) -> None:
        final, self.recording = self.recording, None
        if final is None or self.room is None:
            return
        try:
            self.room.stop_recording()
        except NotFound:
            return
        names = []
        for done in (final, screen_path_for(final)):
            part = part_path(done)
            if part.exists():
                part.replace(done)
                names.append(done.name)
        stopped = {"state": "stopped", "name": final.name, "files": names}
        self._tell_leaders("media.recording", stopped)

    # ----- background: sweep, stats, live tracks ------------------------------------------
    async def _tick(self) -> None:
        last_stats = 0.0
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.monotonic()
            try:
                await self._sweep(now)
                if now - last_stats >= STATS_SECONDS and self.room is not None:
                    last_stats = now
                    self.last_stats = await self.room.stats()
                    self._tell_leaders("media.stats", stats_frame(self.last_stats))
            except Exception:
                log.exception("media %s: housekeeping failed", self.runtime.session_id)

    def _tracks_view(self) -> tuple[tuple[str, ...], str | None]:
        room = self.room
        if room is None:
            return ((), None)
        live = sorted(f"{s.key.publisher_id}/{s.key.label.value}" for s in room.hub.sources)
        return (tuple(live), room.stage)

    async def _watch_tracks(self) -> None:
        room = self.room
        assert room is not None
        while True:
            try:
                await room.wait_until(lambda: self._tracks_view() != self._sent_tracks, 5.0)
                view = self._tracks_view()
                self._sent_tracks = view
                data = {"live": list(view[0]), "stage": view[1]}
                self.runtime.publish("media.tracks", data, EVERYONE, time.time())
            except TimeoutError:
                continue  # nothing changed for a while: look again
            except Exception:
                log.exception("media %s: live tracks update failed", self.runtime.session_id)
                await asyncio.sleep(TICK_SECONDS)  # no busy loop if it keeps failing

    def _tell_leaders(self, type_: str, data: dict[str, Any]) -> None:
        self.runtime.publish(type_, data, LEADERS, time.time())


def _ice_server(entry: dict[str, Any]) -> RTCIceServer:
    urls = entry.get("urls")
    if not isinstance(urls, str | list):
        raise ValueError("each ice_servers entry needs urls")
    return RTCIceServer(
        urls=urls, username=entry.get("username"), credential=entry.get("credential")
    )


def connection_quality(runtime: SessionRuntime) -> dict[int, dict[str, Any]]:
    """Per user id: media connection quality (see ``quality`` for the fields); empty
    when the session has no media. Cheap: reads the latest stats collected every 2 s."""
    bridge = bridge_of(runtime)
    if bridge is None:
        return {}
    return quality_by_user(bridge.last_stats, bridge.users_by_pid, bridge.reports, time.time())


def bridge_of(runtime: SessionRuntime) -> MediaBridge | None:
    bridge = runtime.extensions.get(EXTENSION)
    return bridge if isinstance(bridge, MediaBridge) else None


def install(engine: RealtimeEngine, handlers: MutableMapping[str, Handler]) -> None:
    """Attach a bridge to every session runtime and route ``media.*`` messages to it."""
    settings = engine.services.settings

    async def attach(runtime: SessionRuntime) -> None:
        bridge = MediaBridge(runtime, settings)
        runtime.extensions[EXTENSION] = bridge
        runtime.observers.append(bridge.on_event)
        runtime.close_hooks.append(bridge.close)
        feed = MediaEngagementFeed(runtime, connection_quality)  # link trouble -> engagement
        feed.start()
        runtime.close_hooks.append(feed.close)

    async def handle(session: Session, message: protocol.ClientMessage) -> None:
        bridge = bridge_of(session.runtime)
        if bridge is None:
            session.error(InvalidState(media_errors.UNAVAILABLE), message.id)
            return
        await bridge.handle(session, message)

    engine.runtime_hooks.append(attach)
    handlers["media"] = handle
