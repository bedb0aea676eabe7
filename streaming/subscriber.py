"""The subscribe leg: the relay offers send-only slots, the subscriber answers.

Each slot is a forwarding track bound to one published track (``publisher/label``) or to
the stage. The binding starts when aiortc's sender first pulls from the track, i.e. once the
connection is up, so a keyframe is requested exactly when the subscriber can use it. From then
on the room's send batch writes the slot's RTP (rtp_fanout.py); aiortc's sender keeps RTCP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtcrtpsender import RTCRtpSender

from server.domain.errors import BadInput, InvalidState
from streaming import aiortc_private
from streaming.forward_track import ForwardPolicy, ForwardTrack
from streaming.hub import RelayHub
from streaming.media_packets import TrackLabel
from streaming.negotiation import VideoCodec, codec_preferences
from streaming.relay_source import SourceKey
from streaming.rtp_fanout import RtpWriter, SendBatch

STAGE_PREFIX = "stage:"


class SubscriberMode(StrEnum):
    FULL = "full"
    AUDIO_ONLY = "audio_only"
    AUDIO_SLIDES = "audio_slides"  # audio + screen keyframes only (one picture per interval)


def policy_for(mode: SubscriberMode, label: TrackLabel) -> ForwardPolicy:
    if label.kind == "audio" or mode is SubscriberMode.FULL:
        return ForwardPolicy.ALL
    if mode is SubscriberMode.AUDIO_SLIDES and label is TrackLabel.SCREEN:
        return ForwardPolicy.KEYFRAMES_ONLY
    return ForwardPolicy.NONE


@dataclass(slots=True)
class Slot:
    name: str  # "teacher/camera" or "stage:camera"
    label: TrackLabel
    track: ForwardTrack
    sender: RTCRtpSender
    key: SourceKey | None  # what it should show
    started: bool = False
    parameters: RTCRtpSendParameters | None = None  # negotiated, known when the sender starts
    writer: RtpWriter | None = None


class SubscriberLeg:
    def __init__(
        self,
        participant_id: str,
        config: RTCConfiguration,
        hub: RelayHub,
        video_codec: VideoCodec,
        mode: SubscriberMode,
        queue_units: int,
        batch: SendBatch | None = None,
    ) -> None:
        self.participant_id = participant_id
        self.batch = batch if batch is not None else SendBatch()
        self.pc = RTCPeerConnection(configuration=config)
        self.hub = hub
        self.video_codec = video_codec
        self.mode = mode
        self.queue_units = queue_units
        self.slots: dict[ForwardTrack, Slot] = {}
        self.answered = False
        self.closed = False
        self.created_at = time.monotonic()

    def add_slot(self, name: str, label: TrackLabel, key: SourceKey | None) -> Slot:
        track = ForwardTrack(
            label.kind,
            name,
            self.queue_units,
            on_stop=self._on_track_stop,
            on_start=self._on_track_start,
        )
        transceiver = self.pc.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(codec_preferences(label.kind, self.video_codec))
        track.set_policy(policy_for(self.mode, label))
        slot = Slot(name, label, track, transceiver.sender, key)
        aiortc_private.hook_keyframe_request(transceiver.sender, lambda: self._pli(track))
        aiortc_private.capture_send_parameters(
            transceiver.sender, lambda parameters: setattr(slot, "parameters", parameters)
        )
        self.slots[track] = slot
        return slot

    def _pli(self, track: ForwardTrack) -> None:
        """The subscriber lost a picture: resync this slot at the publisher's next keyframe."""
        key = self.hub.binding(track)
        source = self.hub.source(key) if key is not None else None
        if source is not None and track.policy is ForwardPolicy.ALL:
            source.request_keyframe()

    def _on_track_start(self, track: ForwardTrack) -> None:
        slot = self.slots.get(track)
        if slot is not None and not slot.started:
            slot.started = True
            if slot.parameters is not None and slot.parameters.codecs:
                slot.writer = RtpWriter(slot.sender, slot.parameters)
                track.send_direct(slot.writer, self.batch)
            self.hub.bind(track, slot.key)

    def _on_track_stop(self, track: ForwardTrack) -> None:
        self.hub.unbind(track)

    def rebind(self, slot: Slot, key: SourceKey | None) -> None:
        slot.key = key
        if slot.started:
            self.hub.bind(slot.track, key)

    def set_mode(self, mode: SubscriberMode) -> None:
        self.mode = mode
        for slot in self.slots.values():
            slot.track.set_policy(policy_for(mode, slot.label))

    async def create_offer(self) -> str:
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        return str(self.pc.localDescription.sdp)

    async def accept_answer(self, answer_sdp: str) -> None:
        if self.answered:
            raise InvalidState("subscription already answered")
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BadInput(f"subscribe answer refused: {exc}") from exc
        except Exception as exc:
            if type(exc).__name__ in ("OperationError", "InvalidAccessError"):
                raise BadInput(f"subscribe answer refused: {exc}") from exc
            if type(exc).__name__ == "InvalidStateError":
                raise InvalidState(f"subscribe answer refused: {exc}") from exc
            raise
        self.answered = True

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for track in tuple(self.slots):
            track.stop()
        await self.pc.close()
