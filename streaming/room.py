"""A live session's media: who publishes what, who receives what. No transport, no signalling.

One piece, over 300 lines: it is the relay's public API (``MediaRoom``), the one place that
keeps publishers, subscribers and the source hub consistent as legs come and go; the legs
themselves are ``publisher.py`` and ``subscriber.py``.

Negotiation model (see docs in streaming/__init__.py):
- publish: the participant sends an offer with send-only (or sendrecv) m-lines; ``publish``
  returns the answer. m-lines are labelled camera / microphone / screen.
- subscribe: the relay offers (``subscribe`` returns the offer: one send-only m-line per
  slot), the participant answers with ``accept_answer``. aiortc bundles its ICE candidates in
  the SDP; browser candidates may trickle in through ``add_ice_candidate``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.sdp import candidate_from_sdp

from server.domain.errors import BadInput, Conflict, NotFound
from streaming.forward_track import DEFAULT_QUEUE_UNITS
from streaming.hub import RelayHub
from streaming.media_packets import TrackLabel
from streaming.media_stats import RateMeter, RoomStats
from streaming.negotiation import (
    VideoCodec,
    parse_labels,
    parse_sdp,
    plan_publication,
)
from streaming.publisher import PublisherLeg
from streaming.recording import LessonRecorder, RecordingSummary
from streaming.relay_source import SourceKey
from streaming.room_stats import collect_stats
from streaming.rtp_fanout import SendBatch
from streaming.subscriber import STAGE_PREFIX, SubscriberLeg, SubscriberMode

logger = logging.getLogger(__name__)

ALL_LABELS = (TrackLabel.MICROPHONE, TrackLabel.CAMERA, TrackLabel.SCREEN)
TICK = 0.5  # seconds between housekeeping passes
MAX_ID_LENGTH = 128


@dataclass(frozen=True, slots=True)
class LiveCounts:
    peer_connections: int
    relay_tasks: int
    sources: int
    sinks: int


class MediaRoom:
    """The media of one live session on this node."""

    def __init__(
        self,
        session_id: str,
        ice_servers: Sequence[RTCIceServer] = (),
        *,
        video_codec: VideoCodec = VideoCodec.VP8,
        queue_units: int = DEFAULT_QUEUE_UNITS,
        slides_interval: float = 3.0,
        negotiation_timeout: float = 20.0,
        max_subscribers: int = 500,
    ) -> None:
        self.session_id = session_id
        # max-bundle: aiortc 1.16 with the default "balanced" policy leaves the 2nd and later
        # m-lines of one kind on an unbundled transport that never connects.
        self._config = RTCConfiguration(
            iceServers=list(ice_servers), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )
        self.video_codec = VideoCodec(video_codec)
        self._queue_units = queue_units
        self._slides_interval = slides_interval
        self._negotiation_timeout = negotiation_timeout
        self._max_subscribers = max_subscribers
        self._changed = asyncio.Event()
        self.hub = RelayHub(on_change=self._notify)
        self._publishers: dict[str, PublisherLeg] = {}
        self._subscribers: dict[str, SubscriberLeg] = {}
        self._stage: str | None = None
        self._recorder: LessonRecorder | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False
        self._last_slides = 0.0
        self._last_remb = 0.0
        self._meter = RateMeter()
        self._batch = SendBatch()  # one pass sends a frame to every subscriber

    # ----- publishing ---------------------------------------------------------------------
    async def publish(
        self,
        participant_id: str,
        offer_sdp: str,
        allowed_labels: Iterable[str],
        *,
        track_labels: Mapping[str, str] | None = None,
        max_bitrate_bps: int | None = None,
    ) -> str:
        """Accept a participant's media; returns the SDP answer. Replaces an earlier publish."""
        self._check_open()
        _check_id(participant_id)
        if max_bitrate_bps is not None and not 30_000 <= max_bitrate_bps <= 20_000_000:
            raise BadInput("max_bitrate_bps must be between 30000 and 20000000")
        description = parse_sdp(offer_sdp, "publish offer")
        if description.type not in (None, "offer"):
            raise BadInput("publish needs an offer")
        planned = plan_publication(
            description, parse_labels(allowed_labels), track_labels, self.video_codec
        )
        old = self._publishers.pop(participant_id, None)
        if old is not None:
            await old.close()
        leg = PublisherLeg(
            participant_id, self._config, self.hub, self.video_codec, max_bitrate_bps
        )
        self._publishers[participant_id] = leg
        self._watch(leg.pc, participant_id, "publish")
        try:
            answer = await leg.negotiate(offer_sdp, planned)
        except BaseException:
            await self._drop_publisher(participant_id, leg)
            raise
        self._ensure_ticker()
        return answer

    async def set_publisher_bitrate(self, participant_id: str, max_bitrate_bps: int | None) -> None:
        leg = self._publishers.get(participant_id)
        if leg is None:
            raise NotFound(f"{participant_id} is not publishing")
        if max_bitrate_bps is not None and not 30_000 <= max_bitrate_bps <= 20_000_000:
            raise BadInput("max_bitrate_bps must be between 30000 and 20000000")
        leg.max_bitrate_bps = max_bitrate_bps
        await leg.send_bitrate_cap()

    # ----- subscribing --------------------------------------------------------------------
    async def subscribe(
        self,
        participant_id: str,
        publisher_ids: Sequence[str] = (),
        *,
        labels: Iterable[str] = ALL_LABELS,
        mode: str = SubscriberMode.FULL,
        stage: bool = True,
    ) -> str:
        """Create the relay's offer for this participant (replaces an earlier subscription).

        One send-only m-line per (publisher, label) slot, plus a stage microphone and camera
        when ``stage``. Slots of publishers who have not published yet stay silent until they
        do. Answer with :meth:`accept_answer`.
        """
        self._check_open()
        _check_id(participant_id)
        try:
            mode = SubscriberMode(mode)
        except ValueError:
            raise BadInput(f"unknown subscriber mode {mode!r}") from None
        wanted = [label for label in ALL_LABELS if label in parse_labels(labels)]
        publishers = list(dict.fromkeys(publisher_ids))
        for pid in publishers:
            _check_id(pid)
        if len(publishers) * len(wanted) + (2 if stage else 0) > 32:
            raise BadInput("too many tracks in one subscription (at most 32)")
        if not publishers and not stage:
            raise BadInput("subscription selects no tracks")
        old = self._subscribers.pop(participant_id, None)
        if old is not None:
            await old.close()
        elif len(self._subscribers) >= self._max_subscribers:
            raise Conflict("room is full")
        leg = SubscriberLeg(
            participant_id,
            self._config,
            self.hub,
            self.video_codec,
            mode,
            self._queue_units,
            self._batch,
        )
        self._subscribers[participant_id] = leg
        self._watch(leg.pc, participant_id, "subscribe")
        for pid in publishers:
            for label in wanted:
                leg.add_slot(f"{pid}/{label}", label, SourceKey(pid, label))
        if stage:
            for label in (TrackLabel.MICROPHONE, TrackLabel.CAMERA):
                key = self._stage_key(participant_id, label)
                leg.add_slot(f"{STAGE_PREFIX}{label}", label, key)
        try:
            offer = await leg.create_offer()
        except BaseException:
            await self._drop_subscriber(participant_id, leg)
            raise
        self._ensure_ticker()
        return offer

    def subscription_slots(self, participant_id: str) -> list[str]:
        """Slot names in m-line order (slot i is mid "i"): ``pub/label`` or ``stage:label``."""
        leg = self._subscribers.get(participant_id)
        if leg is None:
            raise NotFound(f"{participant_id} is not subscribed")
        return [slot.name for slot in leg.slots.values()]

    async def accept_answer(self, participant_id: str, answer_sdp: str) -> None:
        leg = self._subscribers.get(participant_id)
        if leg is None:
            raise NotFound(f"no pending subscription for {participant_id}")
        description = parse_sdp(answer_sdp, "subscribe answer")
        if len(description.media) != len(leg.slots):
            raise BadInput("subscribe answer does not match the offer's media sections")
        await leg.accept_answer(answer_sdp)

    async def add_ice_candidate(
        self,
        participant_id: str,
        leg_name: str,
        candidate: str,
        sdp_mid: str | None = None,
        sdp_mline_index: int | None = None,
    ) -> None:
        """A trickled remote candidate (``a=candidate:`` value; empty string = end)."""
        pc = self._pc(participant_id, leg_name)
        if not candidate:
            return
        if sdp_mid is None and sdp_mline_index is None:
            raise BadInput("ICE candidate needs sdpMid or sdpMLineIndex")
        if len(candidate) > 512:
            raise BadInput("ICE candidate too long")
        try:
            parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
        except Exception as exc:
            raise BadInput(f"malformed ICE candidate ({type(exc).__name__})") from exc
        parsed.sdpMid = sdp_mid
        parsed.sdpMLineIndex = sdp_mline_index
        await pc.addIceCandidate(parsed)

    def set_mode(self, participant_id: str, mode: str) -> None:
        leg = self._subscribers.get(participant_id)
        if leg is None:
            raise NotFound(f"{participant_id} is not subscribed")
        try:
            leg.set_mode(SubscriberMode(mode))
        except ValueError:
            raise BadInput(f"unknown subscriber mode {mode!r}") from None

    def set_stage(self, participant_id: str | None) -> None:
        """Bring a participant's microphone and camera to every subscriber's stage slots."""
        if participant_id is not None:
            _check_id(participant_id)
        self._stage = participant_id
        for leg in self._subscribers.values():
            for slot in leg.slots.values():
                if slot.name.startswith(STAGE_PREFIX):
                    leg.rebind(slot, self._stage_key(leg.participant_id, slot.label))
        self._notify()

    @property
    def stage(self) -> str | None:
        return self._stage

    def _stage_key(self, viewer: str, label: TrackLabel) -> SourceKey | None:
        if self._stage is None or self._stage == viewer:  # nobody hears themselves
            return None
        return SourceKey(self._stage, label)

    # ----- recording ----------------------------------------------------------------------
    def start_recording(
        self,
        path: str | Path,
        publisher_id: str,
        lesson_start: float,
        labels: Iterable[str] = ALL_LABELS,
        *,
        screen_path: str | Path | None = None,
    ) -> LessonRecorder:
        """Record ``publisher_id``'s tracks (encoded, no decode) on the lesson clock: camera and
        microphone into ``path``, the screen into ``screen_path`` (default
        ``recording.screen_path_for(path)``). Files are created when their tracks first send."""
        self._check_open()
        if self._recorder is not None:
            raise Conflict("already recording")
        recorder = LessonRecorder(
            path,
            lesson_start,
            parse_labels(labels),
            video_codec=self.video_codec,
            screen_path=screen_path,
        )
        for recorder_input in recorder.inputs:
            self.hub.bind(recorder_input, SourceKey(publisher_id, recorder_input.label))
        self._recorder = recorder
        return recorder

    def stop_recording(self) -> RecordingSummary:
        if self._recorder is None:
            raise NotFound("not recording")
        recorder, self._recorder = self._recorder, None
        for recorder_input in recorder.inputs:
            self.hub.unbind(recorder_input)
        return recorder.close()

    # ----- lifecycle ----------------------------------------------------------------------
    async def close_participant(self, participant_id: str) -> None:
        """Tear down both legs of a participant (idempotent)."""
        await self.close_leg(participant_id, "publish")
        await self.close_leg(participant_id, "subscribe")

    async def close_leg(self, participant_id: str, leg_name: str) -> bool:
        """Tear down one leg (``"publish"`` or ``"subscribe"``) of a participant, leaving the
        other running. Returns whether there was such a leg; idempotent."""
        if leg_name == "publish":
            pub = self._publishers.get(participant_id)
            if pub is None:
                return False
            await self._drop_publisher(participant_id, pub)
            return True
        if leg_name == "subscribe":
            sub = self._subscribers.get(participant_id)
            if sub is None:
                return False
            await self._drop_subscriber(participant_id, sub)
            return True
        raise BadInput("leg must be 'publish' or 'subscribe'")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._recorder is not None:
            self.stop_recording()
        for pid in list(self._subscribers) + list(self._publishers):
            await self.close_participant(pid)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        self.hub.close()

    def live_counts(self) -> LiveCounts:
        pcs = len(self._publishers) + len(self._subscribers)
        tasks = self.hub.task_count + len(self._closing) + (1 if self._ticker else 0)
        return LiveCounts(pcs, tasks, len(self.hub.sources), self.hub.sink_count)

    @property
    def publishers(self) -> dict[str, PublisherLeg]:
        return dict(self._publishers)

    @property
    def subscribers(self) -> dict[str, SubscriberLeg]:
        return dict(self._subscribers)

    async def wait_until(self, predicate: Callable[[], bool], within: float) -> None:
        """Wait (at most ``within`` seconds) until ``predicate()`` holds after a room change:
        a leg opened or dropped, a published track appeared or ended."""
        async with asyncio.timeout(within):
            while not predicate():
                await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def stats(self) -> RoomStats:
        counts = self.live_counts()
        return await collect_stats(
            self._meter,
            self.session_id,
            self._publishers.values(),
            self._subscribers.values(),
            counts.peer_connections,
            counts.relay_tasks,
        )

    # ----- internals ----------------------------------------------------------------------
    def set_ice_servers(self, ice_servers: Sequence[RTCIceServer]) -> None:
        """ICE servers for the legs set up from now on (fresh TURN credentials); legs already
        connected keep theirs."""
        self._config = RTCConfiguration(
            iceServers=list(ice_servers), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
        )

    def _check_open(self) -> None:
        if self._closed:
            raise Conflict("media room is closed")

    def _pc(self, participant_id: str, leg_name: str) -> RTCPeerConnection:
        legs: Mapping[str, PublisherLeg | SubscriberLeg]
        if leg_name == "publish":
            legs = self._publishers
        elif leg_name == "subscribe":
            legs = self._subscribers
        else:
            raise BadInput("leg must be 'publish' or 'subscribe'")
        leg = legs.get(participant_id)
        if leg is None:
            raise NotFound(f"no {leg_name} connection for {participant_id}")
        return leg.pc

    def _watch(self, pc: RTCPeerConnection, participant_id: str, leg_name: str) -> None:
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                self._spawn_close(participant_id, leg_name, pc)

        pc.on("connectionstatechange", on_state)

    def _spawn_close(self, participant_id: str, leg_name: str, pc: RTCPeerConnection) -> None:
        legs: Mapping[str, PublisherLeg | SubscriberLeg]
        legs = self._publishers if leg_name == "publish" else self._subscribers
        leg = legs.get(participant_id)
        if leg is None or leg.pc is not pc or leg.closed:
            return
        if isinstance(leg, PublisherLeg):
            coro = self._drop_publisher(participant_id, leg)
        else:
            coro = self._drop_subscriber(participant_id, leg)
        task = asyncio.get_running_loop().create_task(coro)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _drop_publisher(self, participant_id: str, leg: PublisherLeg) -> None:
        if self._publishers.get(participant_id) is leg:
            del self._publishers[participant_id]
        await leg.close()
        self._notify()

    async def _drop_subscriber(self, participant_id: str, leg: SubscriberLeg) -> None:
        if self._subscribers.get(participant_id) is leg:
            del self._subscribers[participant_id]
        await leg.close()
        self._notify()

    def _ensure_ticker(self) -> None:
        if self._ticker is None and not self._closed:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        """Housekeeping: slide keyframes, bitrate caps, peers stuck in negotiation."""
        while True:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            try:
                if now - self._last_slides >= self._slides_interval:
                    self._last_slides = now
                    self._request_slides()
                if now - self._last_remb >= 1.0:
                    self._last_remb = now
                    for pub in list(self._publishers.values()):
                        await pub.send_bitrate_cap()
                self._reap_stuck(now)
            except Exception:
                logger.exception("media room %s: housekeeping failed", self.session_id)

    def _request_slides(self) -> None:
        for source in self.hub.sources:
            if source.key.label is TrackLabel.SCREEN and any(
                getattr(sink, "policy", None) == "keyframes_only" for sink in source.sinks
            ):
                source.request_keyframe()

    def _reap_stuck(self, now: float) -> None:
        limit = self._negotiation_timeout
        for pid, pub in list(self._publishers.items()):
            if pub.pc.connectionState != "connected" and now - pub.created_at > limit:
                self._spawn_close(pid, "publish", pub.pc)
        for pid, sub in list(self._subscribers.items()):
            if sub.pc.connectionState != "connected" and now - sub.created_at > limit:
                self._spawn_close(pid, "subscribe", sub.pc)


def _check_id(participant_id: str) -> None:
    if not isinstance(participant_id, str) or not 0 < len(participant_id) <= MAX_ID_LENGTH:
        raise BadInput("participant id must be a non-empty string of at most 128 characters")
    if "/" in participant_id or participant_id.startswith(STAGE_PREFIX):
        raise BadInput("participant id may not contain '/' or start with 'stage:'")
