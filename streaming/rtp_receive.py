"""The publish legs' own RTP receive path: packets to frames without aiortc's decoder path.

aiortc's receiver builds an ``RtpPacket`` (all header extensions parsed) for every packet,
routes it, and assembles frames in a jitter buffer made for its decoder: a video frame is
handed on only when the next frame's first packet arrives (a frame of delay) and audio is held
four packets deep (80 ms). The relay decodes nothing, so for the SSRCs of its publish legs it
takes the clear packet from the DTLS transport itself: the fixed header and the abs-send-time
extension read in place, the receiver's statistics, NACK generator and bitrate estimator fed
as aiortc feeds them (RTCP receiver reports, NACKs and REMB stay aiortc's), RTX unwrapped,
and frames assembled by ``FrameAssembler`` (handed on at their last packet). Audio packets go
straight on, in sequence order. Packets of SSRCs it does not know yet go to aiortc's own path,
which learns them; every private name is in ``aiortc_private``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from aiortc.codecs import depayload
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpreceiver import RTCRtpReceiver, StreamStatistics, TimestampMapper
from aiortc.rtp import unpack_header_extensions

from streaming import aiortc_private
from streaming.frame_assembler import FrameAssembler, seq_after

logger = logging.getLogger(__name__)

ONE_BYTE_PROFILE = 0xBEDE


class _Seq:
    """The two fields aiortc's statistics and NACK generator read from a packet."""

    __slots__ = ("sequence_number", "timestamp")

    def __init__(self, sequence_number: int, timestamp: int) -> None:
        self.sequence_number = sequence_number
        self.timestamp = timestamp


def abs_send_time(data: bytes, start: int, end: int, profile: int, ext_id: int) -> int | None:
    """The 24-bit abs-send-time value from a header extension block, if present."""
    if profile == ONE_BYTE_PROFILE:
        pos = start
        while pos < end:
            byte = data[pos]
            if byte == 0:
                pos += 1
                continue
            length = (byte & 0x0F) + 1
            if byte >> 4 == ext_id:
                if length != 3 or pos + 4 > end:
                    return None
                return (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]
            pos += 1 + length
        return None
    try:
        found = dict(unpack_header_extensions(profile, data[start:end]))
    except ValueError:
        return None
    value = found.get(ext_id)
    return int.from_bytes(value, "big") if value is not None and len(value) == 3 else None


def vp8_starts_frame(payload: bytes) -> bool:
    """VP8 payload descriptor: S set and partition 0 (RFC 7741 4.2)."""
    return bool(payload) and payload[0] & 0x17 == 0x10


def h264_starts_frame(payload: bytes) -> bool:
    """An SPS, or an aggregate that may carry one, opens an access unit in practice."""
    return bool(payload) and payload[0] & 0x1F in (7, 24)


class LeanReceiver:
    """One publish-leg track: header read in place, frames to ``tap``."""

    def __init__(self, receiver: RTCRtpReceiver, kind: str, tap: aiortc_private.PacketTap) -> None:
        self.receiver = receiver
        self.kind = kind
        self.tap = tap
        self.parts = aiortc_private.receiver_parts(receiver)
        self.assembler = FrameAssembler() if kind == "video" else None
        self.mapper = TimestampMapper()
        self.abs_id: int | None = None
        self._last_audio_seq: int | None = None
        self._last_ts: dict[int, int] = {}
        # the frame being summed for the bitrate estimator: timestamp, last send time,
        # last arrival, bytes so far, SSRC
        self._estimate: tuple[int, int, int, int, int] | None = None
        self.packets = 0
        self.failures = 0  # packets the path could not take (logged once)

    def handle(self, data: bytes, arrival_ms: int) -> list[Coroutine[Any, Any, None]] | None:
        """Take one clear RTP packet; return the RTCP sends it calls for, if any."""
        size = len(data)
        if size < 12:
            return None
        first = data[0]
        if first >> 6 != 2 or not aiortc_private.receiver_enabled(self.receiver):
            return None
        second = data[1]
        seq = (data[2] << 8) | data[3]
        timestamp = int.from_bytes(data[4:8], "big")
        ssrc = int.from_bytes(data[8:12], "big")
        offset = 12 + 4 * (first & 0x0F)
        send_time: int | None = None
        if first & 0x10:
            if offset + 4 > size:
                return None
            profile = (data[offset] << 8) | data[offset + 1]
            start = offset + 4
            offset = start + 4 * ((data[offset + 2] << 8) | data[offset + 3])
            if offset > size:
                return None
            if self.abs_id is not None:
                send_time = abs_send_time(data, start, offset, profile, self.abs_id)
        end = size
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or offset + padding > size:
                return None
            end -= padding
        payload = data[offset:end]
        self.packets += 1
        parts = self.parts
        sends: list[Coroutine[Any, Any, None]] | None = None

        estimator = parts.estimator
        if estimator is not None and send_time is not None:
            # one sample a frame: aiortc's estimator groups a frame's packets (sent within
            # 5 ms) into one inter-arrival group anyway, from its last send and arrival times
            # and their summed size; a frame's sample costs what one packet's did
            pending = self._estimate
            if pending is not None and pending[0] != timestamp:
                sends = self._estimate_frame(estimator, pending)
                pending = None
            size_sum = size - offset + (pending[3] if pending is not None else 0)
            self._estimate = (timestamp, send_time, arrival_ms, size_sum, ssrc)
            if second & 0x80:
                sends = self._estimate_frame(estimator, self._estimate) or sends
                self._estimate = None

        if self._last_ts.get(ssrc) != timestamp:  # once a frame is enough for "active"
            self._last_ts[ssrc] = timestamp
            parts.active_ssrc[ssrc] = datetime.now(UTC)

        codec = parts.codecs.get(second & 0x7F)
        if codec is None:
            return sends
        stats = parts.streams.get(ssrc)
        if stats is None:
            stats = parts.streams[ssrc] = StreamStatistics(codec.clockRate)
        header = _Seq(seq, timestamp)
        stats.add(header)  # type: ignore[arg-type]

        if codec.name == "rtx":
            original_ssrc = parts.rtx_ssrc.get(ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or len(payload) < 2 or not isinstance(apt, int):
                return sends
            media_codec = parts.codecs.get(apt)
            if media_codec is None:
                return sends
            codec, ssrc = media_codec, original_ssrc
            seq = (payload[0] << 8) | payload[1]
            payload = payload[2:]
            header = _Seq(seq, timestamp)

        nack = parts.nack
        if nack is not None and nack.add(header):  # type: ignore[arg-type]
            send = aiortc_private.send_nack(self.receiver, ssrc, sorted(nack.missing))
            sends = [*sends, send] if sends else [send]

        try:
            body = depayload(codec, payload) if payload else b""
        except ValueError:
            return sends
        assembler = self.assembler
        if assembler is None:  # audio: every packet is a frame, in sequence order
            last = self._last_audio_seq
            if last is None or seq_after(seq, last):
                self._last_audio_seq = seq
                self._hand_on(codec, timestamp, body)
            return sends
        starts = vp8_starts_frame(payload) if codec.name == "VP8" else h264_starts_frame(payload)
        assembled = assembler.add(seq, timestamp, bool(second & 0x80), starts, body, arrival_ms)
        for frame in assembled.frames:
            self._hand_on(codec, frame.timestamp, frame.data)
        if assembled.lost:
            # the receiver's own PLI path: the relay's loss hook marks the gap, then asks
            send = aiortc_private.send_loss_pli(self.receiver, ssrc)
            sends = [*sends, send] if sends else [send]
        return sends

    def _estimate_frame(
        self, estimator: Any, sample: tuple[int, int, int, int, int]
    ) -> list[Coroutine[Any, Any, None]] | None:
        """Feed one frame's sample; the REMB it calls for, if any (a newer one supersedes)."""
        _, send_time, arrival_ms, size, ssrc = sample
        remb = estimator.add(
            abs_send_time=send_time, arrival_time_ms=arrival_ms, payload_size=size, ssrc=ssrc
        )
        return None if remb is None else [aiortc_private.send_remb(self.receiver, *remb)]

    def _hand_on(self, codec: Any, timestamp: int, data: bytes) -> None:
        self.tap.put((codec, JitterFrame(data=data, timestamp=self.mapper.map(timestamp))))


class LeanReceive:
    """Installs the lean path on a publish leg's DTLS transport and routes by SSRC.

    SSRCs are bound per transport: a publisher can only ever feed its own tracks, whatever
    SSRCs it writes into its packets. Once a transport's first SSRC is bound, its SRTP
    datagrams of bound SSRCs are taken straight from the ICE pair
    (``aiortc_private.hook_srtp_datagrams``) instead of through aioice's queue and the DTLS
    transport's receive task.
    """

    def __init__(self) -> None:
        self._by_receiver: dict[RTCRtpReceiver, LeanReceiver] = {}
        self._by_ssrc: dict[RTCDtlsTransport, dict[int, LeanReceiver]] = {}
        self._direct: dict[RTCDtlsTransport, dict[int, aiortc_private.ClearRtpHandler]] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self.direct_transports = 0  # transports whose datagrams are taken straight

    @property
    def receivers(self) -> list[LeanReceiver]:
        return list(self._by_receiver.values())

    def attach(self, receiver: RTCRtpReceiver, kind: str, tap: aiortc_private.PacketTap) -> None:
        lean = LeanReceiver(receiver, kind, tap)
        self._by_receiver[receiver] = lean
        transport = receiver.transport
        if transport not in self._by_ssrc:
            self._by_ssrc[transport] = {}
            self._direct[transport] = {}
            aiortc_private.hook_rtp_data(
                transport, lambda original: self._make(transport, original)
            )

    def _make(
        self, transport: RTCDtlsTransport, original: aiortc_private.RtpDataHandler
    ) -> aiortc_private.RtpDataHandler:
        by_ssrc = self._by_ssrc[transport]

        async def on_rtp(data: bytes, arrival_time_ms: int) -> None:
            lean = by_ssrc.get(int.from_bytes(data[8:12], "big")) if len(data) >= 12 else None
            if lean is None:
                lean = self._learn(transport, data)
                if lean is None:
                    await original(data, arrival_time_ms)
                    return
            sends = self._handle(lean, data, arrival_time_ms)
            if sends:
                for send in sends:
                    await send

        return on_rtp

    @staticmethod
    def _handle(
        lean: LeanReceiver, data: bytes, arrival_ms: int
    ) -> list[Coroutine[Any, Any, None]] | None:
        try:
            return lean.handle(data, arrival_ms)
        except Exception:  # a relay bug must never kill the transport's receive loop
            lean.failures += 1
            if lean.failures == 1:  # once a track: a hostile sender must not flood the log
                logger.exception("relay receive path failed on a packet")
            return None

    def _direct_handler(self, lean: LeanReceiver) -> aiortc_private.ClearRtpHandler:
        def take(data: bytes, arrival_ms: int) -> None:
            sends = self._handle(lean, data, arrival_ms)
            if sends:  # RTCP feedback (NACK, PLI, REMB): a few a second at most
                for send in sends:
                    task = asyncio.ensure_future(send)
                    self._sending.add(task)
                    task.add_done_callback(self._sent)

        return take

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and isinstance(task.exception(), Exception):
            logger.debug("relay feedback send failed: %s", task.exception())

    def _learn(self, transport: RTCDtlsTransport, data: bytes) -> LeanReceiver | None:
        """Bind an SSRC to its track once aiortc's router or the RTX map knows it."""
        if len(data) < 12:
            return None
        ssrc = int.from_bytes(data[8:12], "big")
        lean = self._by_receiver.get(aiortc_private.routed_receiver(transport, ssrc))
        if lean is None:
            lean = next(
                (
                    r
                    for r in self._by_receiver.values()
                    if r.receiver.transport is transport and ssrc in r.parts.rtx_ssrc
                ),
                None,
            )
        if lean is None or not lean.parts.codecs:
            return None  # not started yet, or not known: aiortc's own path learns it
        lean.abs_id = aiortc_private.abs_send_time_id(transport)
        aiortc_private.use_fast_unprotect(transport)
        self._by_ssrc[transport][ssrc] = lean
        direct = self._direct[transport]
        direct[ssrc] = self._direct_handler(lean)
        if aiortc_private.hook_srtp_datagrams(transport, direct.get):
            self.direct_transports += 1
        return lean
