"""The publish leg: one receive-only peer connection whose tracks feed relay sources."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcrtpreceiver import RTCRtpReceiver

from server.domain.errors import BadInput
from streaming import aiortc_private
from streaming.hub import RelayHub
from streaming.media_packets import MediaUnit, TrackLabel, is_keyframe, vp8_dimensions
from streaming.negotiation import PlannedTrack, VideoCodec, codec_preferences
from streaming.relay_source import RelaySource, SourceKey
from streaming.remb_throttle import RembThrottle
from streaming.rtp_receive import LeanReceive

logger = logging.getLogger(__name__)


class PublisherLeg:
    """Receives a participant's camera / microphone / screen and feeds the hub."""

    def __init__(
        self,
        participant_id: str,
        config: RTCConfiguration,
        hub: RelayHub,
        video_codec: VideoCodec,
        max_bitrate_bps: int | None,
    ) -> None:
        self.participant_id = participant_id
        self.pc = RTCPeerConnection(configuration=config)
        self.hub = hub
        self.video_codec = video_codec
        self.max_bitrate_bps = max_bitrate_bps
        self.sources: dict[TrackLabel, RelaySource] = {}
        self.receivers: dict[TrackLabel, RTCRtpReceiver] = {}
        self._labels_by_mid: dict[str, TrackLabel] = {}
        self.remb: dict[TrackLabel, RembThrottle] = {}  # per video receiver
        self.lean = LeanReceive()  # the relay's own RTP receive path (streaming.rtp_receive)
        self.created_at = time.monotonic()
        self.closed = False

    async def negotiate(self, offer_sdp: str, planned: list[PlannedTrack]) -> str:
        """Apply the publisher's offer and return our answer (ICE candidates included)."""
        for track in planned:
            # Pre-created recvonly transceivers are matched to the offer's m-lines by kind and
            # order, so the codec pinning applies while the offer is being negotiated.
            transceiver = self.pc.addTransceiver(track.kind, direction="recvonly")
            transceiver.setCodecPreferences(codec_preferences(track.kind, self.video_codec))
            self._labels_by_mid[track.mid] = track.label
        self.pc.on("track", self._on_track)  # plain function: runs before receive() starts
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BadInput(f"publish offer refused: {exc}") from exc
        except Exception as exc:
            if type(exc).__name__ in ("OperationError", "InvalidAccessError"):
                raise BadInput(f"publish offer refused: {exc}") from exc
            raise
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        return str(self.pc.localDescription.sdp)

    def _on_track(self, track: Any) -> None:
        transceiver = next(
            (t for t in self.pc.getTransceivers() if t.receiver.track is track), None
        )
        if transceiver is None or transceiver.mid not in self._labels_by_mid:
            logger.warning("publisher %s: track without a planned m-line", self.participant_id)
            return
        label = self._labels_by_mid[transceiver.mid]
        receiver = transceiver.receiver
        clock = 48_000 if label.kind == "audio" else 90_000
        codec = "opus" if label.kind == "audio" else self.video_codec.value

        async def request_keyframe() -> None:
            for source_info in receiver.getSynchronizationSources():
                await aiortc_private.send_pli(receiver, source_info.source)

        source = RelaySource(
            SourceKey(self.participant_id, label),
            codec_name=codec,
            clock_rate=clock,
            request_keyframe=request_keyframe if label.kind == "video" else None,
        )

        def on_frame(codec_params: Any, frame: Any) -> None:
            data: bytes = frame.data
            key = is_keyframe(codec_params.name, data)
            if key and source.dimensions is None and codec_params.name == "VP8":
                source.dimensions = vp8_dimensions(data)
            source.push(
                MediaUnit(
                    data=data,
                    pts=frame.timestamp,
                    clock_rate=codec_params.clockRate,
                    keyframe=key,
                    arrival=time.monotonic(),
                )
            )

        def on_end() -> None:
            self.hub.remove_source(source)

        tap = aiortc_private.PacketTap(on_frame, on_end)
        aiortc_private.install_tap(receiver, tap)
        self.lean.attach(receiver, label.kind, tap)
        if label.kind == "video":
            aiortc_private.hook_loss(receiver, source.mark_gap)
            self.remb[label] = throttle = RembThrottle()
            aiortc_private.hook_remb_cap(receiver, lambda: self.max_bitrate_bps, throttle)
        self.sources[label] = source
        self.receivers[label] = receiver
        self.hub.add_source(source)

    async def send_bitrate_cap(self) -> None:
        """Repeat the cap as REMB so the publisher's encoder never exceeds it."""
        cap = self.max_bitrate_bps
        if cap is None or self.closed:
            return
        for label, receiver in self.receivers.items():
            if label.kind != "video":
                continue
            ssrcs = [s.source for s in receiver.getSynchronizationSources()]
            await aiortc_private.send_remb(receiver, cap, ssrcs)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self.pc.close()
        for source in self.sources.values():
            self.hub.remove_source(source)
