"""Live media over the session websocket: the ``media.*`` family (``protocol``) driving
one encoded pass-through ``streaming.MediaRoom`` per session. A session extension: its own
part (messages, room lifecycle, domain events, housekeeping); the rest is beside it:
``renegotiation`` (subscriptions, re-offers), ``recorder`` (the lesson's recording),
``announcer`` (stats, recording state and live tracks), and the pure
``server.domain.media.leg_book`` (who owns which leg; whose legs to close) and
``server.domain.media.policy`` (who publishes / receives what).

One piece, over 300 lines: what is left (the handlers of the messages, the legs, the room's
life and the stage) reads and changes the same room, leg book, subscriptions and
per-participant negotiation locks; split further, each part would take all of them as
arguments.

- **Room**: created on the first media message of a session, closed with its runtime
  (``close``) or when the session ends.
- **Who publishes / receives what**: ``server.domain.media.policy``. Refusals are
  ``not_permitted`` error frames; malformed SDP, too many tracks, unsupported codecs are
  ``bad_input``.
- **Cleanup**: media belongs to the user who negotiated it. When that user has had no open
  websocket for ``grace_seconds`` (default 5 s, so a quick resume keeps media flowing), their
  legs are closed (``LegBook.sweep``, each ``TICK_SECONDS`` from the session ticker). Peers
  that never connect are reaped by the room itself.
- **Stage**: ``stage.joined`` / ``stage.left`` domain events move the room's stage to the last
  participant brought on stage; a student taken off stage has their publish leg closed.
- **Stats**: every ``STATS_SECONDS`` the room's stats go to the leaders as ``media.stats``;
  :func:`connection_quality` gives a per-user summary, which ``engagement_feed`` feeds to the
  engagement engine every 2 s as server media stats (connection trouble).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from aiortc import RTCIceServer

from server.domain.errors import BadInput, DomainError, InvalidState, NotFound, NotPermitted
from server.domain.events import EVERYONE, to_user
from server.domain.idempotency import LruStore
from server.domain.live import SessionStatus
from server.domain.media import policy
from server.domain.media.leg_book import LegBook
from server.domain.roles import Actor, Role
from server.realtime.core import protocol
from server.realtime.core.event_log import LoggedEvent
from server.realtime.core.extension import ExtensionFactory, SessionExtension
from server.realtime.core.runtime import SessionRuntime
from server.realtime.media import errors as media_errors
from server.realtime.media import protocol as mp
from server.realtime.media.announcer import Announcer
from server.realtime.media.quality import ClientReport, quality_by_user, stats_frame
from server.realtime.media.recorder import Recorder
from server.realtime.media.renegotiation import (
    Subscription,
    offer,
    offer_data,
    renegotiate_missing,
)
from server.services.ice import SERVER_PEER, ice_servers_for, turn_configured
from server.settings import Settings
from server.task_stop import stop_tasks
from streaming import MediaRoom, RoomStats

if TYPE_CHECKING:
    from server.realtime.core.engine import RealtimeEngine
    from server.realtime.core.socket_context import SocketContext

log = logging.getLogger(__name__)

EXTENSION: Final = "media"
FAMILIES: Final = ("media",)
TICK_SECONDS: Final = 1.0
STATS_SECONDS: Final = 2.0
GRACE_SECONDS: Final = 5.0
REMEMBERED_IDS: Final = 1024
Reply = tuple[str, dict[str, Any]] | None


class MediaBridge:
    """The media side of one session runtime (a ``SessionExtension``)."""

    name = EXTENSION
    families: tuple[str, ...] = FAMILIES

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
        self.announcer = Announcer(runtime)
        self.recorder = Recorder(settings.data_dir, runtime.session_id, self.announcer)
        self.legs = LegBook(self.grace_seconds)  # (pid, leg) -> the user who negotiated it
        self._subs: dict[str, Subscription] = {}
        self._caps: dict[str, int | None] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []  # the live-tracks watcher, housekeeping
        self._last_stats: float | None = None
        # a message resent with the same id gets the first answer again, and is not re-run
        self.done_ids: LruStore[tuple[Reply]] = LruStore(REMEMBERED_IDS)
        self._closed = False
        self._ice_refresh_at = 0.0

    @property
    def recording(self) -> Path | None:
        """The final name of the recording in progress."""
        return self.recorder.path

    # ----- room lifecycle -----------------------------------------------------------------
    def ensure_room(self) -> MediaRoom:
        if self._closed:
            raise InvalidState(media_errors.STOPPED)
        if self.runtime.live.status is SessionStatus.ENDED:
            raise InvalidState(media_errors.ENDED)
        if self.room is None:
            self.room = MediaRoom(str(self.runtime.session_id), self._ice_servers())
            self.room.set_stage(self._stage_pid())
            self._loops = [self.announcer.watch(self.room)]
            self.runtime.ticker.poke(EXTENSION, TICK_SECONDS)  # housekeeping from now on
        elif turn_configured(self.settings) and time.time() > self._ice_refresh_at:
            self.room.set_ice_servers(self._ice_servers())  # fresh TURN credentials
        return self.room

    def _ice_servers(self) -> list[RTCIceServer]:
        """The relay's own ICE servers (TURN credentials of its own when configured)."""
        now = time.time()
        entries, expires_at = ice_servers_for(self.settings, SERVER_PEER, now, browser=False)
        self._ice_refresh_at = expires_at - min(300.0, (expires_at - now) / 2)
        return [_ice_server(s) for s in entries]

    async def load(self) -> None:
        return None  # the room is created on the first media message

    async def close(self) -> None:
        """Stop recording and close every peer connection (runtime close or session end)."""
        if self._closed:  # a close already under way (session end): wait for it
            current = asyncio.current_task()
            pending = [t for t in self._tasks if t is not current]
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            return
        self._closed = True
        ending = ("-tracks", "-housekeeping")
        await stop_tasks(t for t in [*self._loops, *self._tasks] if t.get_name().endswith(ending))
        # a loop that died of an exception must not skip the recording and the room
        await asyncio.gather(*self._loops, return_exceptions=True)
        self.recorder.stop(self.room)
        if self.room is not None:
            await self.room.close()
        current = asyncio.current_task()
        pending = [t for t in self._tasks if t is not current]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self.legs.clear()
        self._subs.clear()

    # ----- messages -----------------------------------------------------------------------
    async def handle(self, ctx: SocketContext, message: protocol.ClientMessage) -> None:
        msg_id = message.id
        key = None if msg_id is None else (ctx.actor.user_id, msg_id)
        done = None if key is None else self.done_ids.get(key)
        try:
            if done is not None:
                reply = done[0]
            else:
                data = mp.parse(message)
                reply = await self._handle(ctx.actor, message.type, data)
                if key is not None:
                    self.done_ids.put(key, (reply,))
        except DomainError as exc:
            ctx.error(media_errors.for_people(exc), msg_id)
            return
        except Exception:
            log.exception("session %s: %s failed", self.runtime.session_id, message.type)
            ctx.error(InvalidState(media_errors.FAILED), msg_id)
            return
        if reply is not None:
            ctx.send(mp.reply_frame(reply[0], msg_id, reply[1]))
        ctx.send(protocol.ack_frame(msg_id, None))

    async def _handle(self, actor: Actor, type_: str, data: Any) -> Reply:
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
        if pid == policy.TEACHER_ID and not self._closed:
            self.recorder.maybe_start(self.room, self.runtime.live)
        self._spawn(self._renegotiate_missing(pid))  # the answer need not wait for re-offers
        return "media.publish.answer", {"sdp": answer, "publisher": pid}

    async def _subscribe(self, actor: Actor, data: mp.Subscribe) -> tuple[str, dict[str, Any]]:
        pid = policy.own_pid(actor)
        sub = Subscription(actor, data.publishers, data.mode)
        publishers = policy.choose_publishers(actor, self._site_ids(), data.publishers)
        room = self.ensure_room()
        async with self._lock(pid):
            sdp = await offer(room, pid, publishers, sub.mode)
            self._subs[pid] = sub
            self._own(pid, "subscribe", actor)
        if actor.leads_session and self.recording is not None:  # e.g. a reloaded console
            started = {"state": "started", "name": self.recording.name}
            self.runtime.publish("media.recording", started, to_user(actor.user_id), time.time())
        return "media.subscribe.offer", offer_data(room, pid, sdp, sub.mode, False)

    async def _renegotiate_missing(self, publisher: str) -> None:
        room = self.room
        if room is None:
            return

        def send(actor: Actor, frame: dict[str, Any]) -> None:
            to = to_user(actor.user_id)
            self.runtime.publish("media.subscribe.offer", frame, to, time.time())

        await renegotiate_missing(room, self._subs, self._site_ids(), self._lock, send, publisher)

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
        self.legs.own((pid, leg), actor.user_id)
        self.users_by_pid[pid] = actor.user_id

    def _require_owner(self, pid: str, leg: str, actor: Actor) -> None:
        if self.legs.owner((pid, leg)) != actor.user_id:
            raise NotFound(media_errors.LEG_GONE)

    def _pid_for_leg(self, actor: Actor, leg: str) -> str:
        if leg == "publish":
            return policy.publish_right(actor, on_stage=True).publisher_id
        return policy.own_pid(actor)

    def _lock(self, pid: str) -> asyncio.Lock:
        return self._locks.setdefault(pid, asyncio.Lock())

    async def close_leg(self, pid: str, leg: str) -> None:
        """Close one leg of ``pid`` (the other one, if any, keeps running)."""
        self.legs.forget((pid, leg))
        if leg == "subscribe":
            self._subs.pop(pid, None)
        if self.room is not None:
            await self.room.close_leg(pid, leg)

    def _spawn(self, coro: Any, name: str | None = None) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sweep(self, now: float) -> None:
        """Forget legs the room dropped; close those of users gone for ``grace_seconds``."""
        room = self.room
        if room is None:
            return
        hub = self.runtime.hub
        swept = self.legs.sweep(
            now,
            lambda user: hub.user_connections(user) > 0,
            room.publishers,
            room.subscribers,
            busy=lambda pid: self._lock(pid).locked(),  # mid-(re)negotiation: left alone
        )
        for pid, leg in swept.forgotten:
            if leg == "subscribe":
                self._subs.pop(pid, None)
        for pid, leg in swept.closes:
            await self.close_leg(pid, leg)

    # ----- domain events ------------------------------------------------------------------
    def on_event(self, logged: LoggedEvent) -> None:
        event = logged.event
        runtime = self.runtime
        if event.type in ("stage.joined", "stage.left"):
            if self.room is not None:
                self.room.set_stage(self._stage_pid())
            if event.type == "stage.left" and event.data.get("kind") == "user":
                self._off_stage(event.data)
        elif event.type in ("session.started", "recording.started"):
            if not self._closed:  # records only while the session state says so
                self.recorder.maybe_start(self.room, self.runtime.live)
        elif event.type == "recording.stopped":
            self.recorder.stop(self.room)
        elif event.type == "session.ended":
            self.recorder.stop(self.room)
            if self.room is not None:
                closed = {"leg": "all", "reason": "session_ended"}
                runtime.publish("media.closed", closed, EVERYONE, time.time())
            self._spawn(self.close())

    def _off_stage(self, data: dict[str, Any]) -> None:
        pid = policy.stage_pid(data)
        user = data.get("user_id")
        if pid is None or not isinstance(user, int) or (pid, "publish") not in self.legs:
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

    # ----- background: sweep, stats (the session ticker), live tracks ---------------------
    async def tick(self, now: float) -> float | None:
        """Every ``TICK_SECONDS`` while there is a room: sweep the legs and, every
        ``STATS_SECONDS``, collect the room's stats, in a task of its own (the ticker goes on)."""
        if self.room is None or self._closed:
            return None
        if not any(t.get_name().endswith("-housekeeping") for t in self._tasks):
            self._spawn(self._housekeep(now), f"media-{self.runtime.session_id}-housekeeping")
        return now + TICK_SECONDS

    async def _housekeep(self, now: float) -> None:
        try:
            await self._sweep(now)
            last = self._last_stats
            if self.room is not None and (last is None or now - last >= STATS_SECONDS):
                self._last_stats = now
                self.last_stats = await self.room.stats()
                self.announcer.tell("media.stats", stats_frame(self.last_stats))
        except Exception:
            log.exception("media %s: housekeeping failed", self.runtime.session_id)


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
    bridge = runtime.extensions.get(EXTENSION, MediaBridge)
    if bridge is None:
        return {}
    return quality_by_user(bridge.last_stats, bridge.users_by_pid, bridge.reports, time.time())


def factory(realtime: RealtimeEngine) -> ExtensionFactory:
    """Builds each session runtime's media bridge (registered by ``gateway.install``)."""
    settings = realtime.services.settings

    async def build(runtime: SessionRuntime) -> SessionExtension:
        return MediaBridge(runtime, settings)

    return build
