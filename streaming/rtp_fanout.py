"""Packetize once, rewrite headers per subscriber, send in one batch per event-loop turn.

aiortc's ``RTCRtpSender`` packetises every frame again for each subscriber, builds an
``RtpPacket`` object per packet and wakes one task per subscriber per frame. Here, as in SFUs:

- :class:`Packetizer`: one per published track; each frame is split into RTP payloads once
  (aiortc's own ``pack()``, so the VP8 descriptor / H264 FU-A / Opus layout is aiortc's) and
  the payloads are cached on the :class:`MediaUnit` every subscriber shares.
- :class:`RtpWriter`: one per subscriber slot; writes a 12-byte RTP header (this subscriber's
  SSRC, sequence number, timestamp) and its header extensions (mid, abs-send-time) in front of
  each shared payload, keeps a short history of what it sent for NACK (answered with RTX), and
  keeps the sender's counters that RTCP sender reports and ``getStats`` read.
- :class:`SendBatch`: one per room; forwarding tracks that have frames ready are drained by a
  single task, so a frame reaches N subscribers in one pass instead of N task wake-ups.

Each packet is SRTP-protected per subscriber (each has its own keys). Over a plain UDP pair a
unit's packets for one subscriber are written, protected and sent in C (``_rtp_send.c``
through ``aiortc_private.UdpSend.write_unit``: one ``sendmmsg`` a unit), or, where that module
is not built, packet by packet to the pair's datagram transport; when the pair is relayed
through TURN, by the DTLS transport's ``_send_rtp``, the call aiortc's sender makes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import weakref
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiortc import clock
from aiortc.codecs import get_encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensions, HeaderExtensionsMap
from aiortc.utils import random16, random32

from streaming import aiortc_private
from streaming.media_packets import MediaUnit

if TYPE_CHECKING:
    from aiortc.rtcrtpsender import RTCRtpSender

    from streaming.relay_source import RelaySource

logger = logging.getLogger(__name__)

_HEADER = struct.Struct("!BBHLL")
_EXT_HEADER = struct.Struct("!HH")
_OSN = struct.Struct("!H")


class Packetizer:
    """Splits each unit of one published track into RTP payloads, once for all subscribers."""

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self.mime_type = codec.mimeType.lower()
        self._encoder = get_encoder(codec)  # only its pack() is used: no encoding here
        self.packed = 0  # units packetised (once each, however many subscribers)

    def payloads(self, unit: MediaUnit) -> list[bytes]:
        payloads = unit.payloads
        if payloads is None:
            payloads = aiortc_private.packetize(self._encoder, unit.data)
            if payloads is None:  # H264: through aiortc's pack(), which wants an av.Packet
                payloads = self._encoder.pack(unit.to_packet(unit.pts))[0]
            unit.payloads = payloads
            self.packed += 1
        return payloads


_layouts: dict[Hashable, int] = {}  # header extension layouts (mid, ids) seen, numbered

_packetizers: weakref.WeakKeyDictionary[RelaySource, Packetizer] = weakref.WeakKeyDictionary()


def packetizer_for(source: RelaySource, codec: RTCRtpCodecParameters) -> Packetizer:
    """The packetizer of ``source`` (one per published track, so VP8 picture ids run on)."""
    packetizer = _packetizers.get(source)
    if packetizer is None or packetizer.mime_type != codec.mimeType.lower():
        packetizer = _packetizers[source] = Packetizer(codec)
    return packetizer


class RtpWriter:
    """One subscriber slot's RTP stream: header rewrite over shared payloads, NACK history."""

    def __init__(self, sender: RTCRtpSender, parameters: RTCRtpSendParameters) -> None:
        codec = parameters.codecs[0]
        self.codec = codec
        self._sender = sender
        self._transport = sender.transport
        self._ssrc, self._rtx_ssrc = aiortc_private.sender_ssrcs(sender)
        self._first_byte = 0x80  # version 2, no padding, no CSRC
        if codec.payloadType is None:
            raise ValueError("sender parameters without a payload type")
        self._payload_type: int = codec.payloadType
        self._rtx_payload_type = next(
            (
                c.payloadType
                for c in parameters.codecs
                if c.mimeType.lower().endswith("/rtx")
                and c.parameters.get("apt") == codec.payloadType
            ),
            None,
        )
        self._extensions = HeaderExtensionsMap()
        self._extensions.configure(parameters)
        self._mid = parameters.muxId
        layout = (self._mid, tuple((e.uri, e.id) for e in parameters.headerExtensions))
        self._layout = _layouts.setdefault(layout, len(_layouts))  # a small int: cheap to hash
        self._sequence = random16() % 32768  # lower half: no early wrap (as aiortc does)
        self._rtx_sequence = random16() % 32768
        self._timestamp_origin = random32()
        self._history: list[tuple[int, bytes, int] | None] = [None] * RTP_HISTORY_SIZE
        self._fast: Callable[[bytes], bool] | None = None  # protect + sendto, plain UDP
        self.packets = 0
        self.octets = 0
        self.retransmissions = 0
        aiortc_private.hook_retransmit(sender, self.retransmit)

    @property
    def sends_in_c(self) -> bool:
        """Whether units leave through the C send step (``_rtp_send.c``) right now."""
        return getattr(self._fast, "write_unit", None) is not None

    def _extension_block(self, send_pass: SendPass) -> bytes:
        """mid and abs-send-time, the same bytes for every slot with this layout in a pass."""
        block = send_pass.extensions.get(self._layout)
        if block is None:
            abs_send_time = (send_pass.ntp_time >> 14) & 0x00FFFFFF
            profile, value = self._extensions.set(
                HeaderExtensions(mid=self._mid, abs_send_time=abs_send_time)
            )
            block = _EXT_HEADER.pack(profile, len(value) >> 2) + value if value else b""
            send_pass.extensions[self._layout] = block
        return block

    def send_unit(
        self, payloads: list[bytes], pts: int, send_pass: SendPass
    ) -> Coroutine[Any, Any, None] | None:
        """Send one unit's shared payloads behind this subscriber's RTP headers.

        Over a plain UDP pair every packet leaves here, synchronously (None is returned);
        otherwise (TURN, or the pair changed) the packets not sent are returned as a
        coroutine for the caller to await.
        """
        extension = self._extension_block(send_pass)
        first = self._first_byte | (0x10 if extension else 0)
        timestamp = (self._timestamp_origin + pts) & 0xFFFFFFFF
        pt, ssrc, history = self._payload_type, self._ssrc, self._history
        fast = self._fast
        if fast is None:
            fast = self._fast = aiortc_private.udp_sender(self._transport)
        write_unit = getattr(fast, "write_unit", None)  # the C step (see _rtp_send.c)
        if write_unit is not None and payloads:
            header = _HEADER.pack(first, pt, 0, timestamp, ssrc)
            start = self._sequence  # reserved first: never protected twice, even on failure
            self._sequence = (start + len(payloads)) & 0xFFFF
            octets = write_unit(payloads, header, extension, start, history)
            if octets is None:  # nothing sent (the route changed): the loop below sends
                self._sequence = start
            else:
                self.octets += octets
                self.packets += len(payloads)
                aiortc_private.set_sender_counters(
                    self._sender, send_pass.ntp_time, timestamp, self.packets, self.octets
                )
                return None
        last = len(payloads) - 1
        pack = _HEADER.pack
        header_length = 12 + len(extension)
        left: list[bytes] = []
        for index, payload in enumerate(payloads):
            sequence = self._sequence
            self._sequence = (sequence + 1) & 0xFFFF
            marker_pt = 0x80 | pt if index == last else pt
            data = pack(first, marker_pt, sequence, timestamp, ssrc) + extension + payload
            history[sequence % RTP_HISTORY_SIZE] = (sequence, data, header_length)
            self.octets += len(payload)
            self.packets += 1
            if fast is not None:
                if fast(data):
                    continue
                fast = self._fast = None
            left.append(data)
        aiortc_private.set_sender_counters(
            self._sender, send_pass.ntp_time, timestamp, self.packets, self.octets
        )
        return self._send_slowly(left) if left else None

    async def _send_slowly(self, packets: list[bytes]) -> None:
        for data in packets:
            await aiortc_private.send_rtp(self._transport, data)

    async def retransmit(self, sequence: int) -> None:
        """A NACKed packet: sent again as RTX (or as itself when no RTX was negotiated)."""
        entry = self._history[sequence % RTP_HISTORY_SIZE]
        if entry is None or entry[0] != sequence:
            return
        _, data, header_length = entry
        if self._rtx_payload_type is not None:
            rtx_sequence = self._rtx_sequence
            self._rtx_sequence = (rtx_sequence + 1) & 0xFFFF
            (timestamp,) = struct.unpack_from("!L", data, 4)
            header = _HEADER.pack(
                data[0], (data[1] & 0x80) | self._rtx_payload_type, rtx_sequence, timestamp,
                self._rtx_ssrc,
            )  # fmt: skip
            data = header + data[12:header_length] + _OSN.pack(sequence) + data[header_length:]
        self.retransmissions += 1
        with contextlib.suppress(ConnectionError):  # the subscriber has gone
            await aiortc_private.send_rtp(self._transport, data)


@dataclass(slots=True)
class SendPass:
    """One pass of the send batch: its time and the header extension blocks made so far."""

    ntp_time: int
    extensions: dict[int, bytes] = field(default_factory=dict)  # by layout number


class SendBatch:
    """Drains every ready forwarding track in one task per event-loop turn."""

    def __init__(self) -> None:
        self._ready: list[Callable[[SendPass], Coroutine[Any, Any, None] | None]] = []
        self._task: asyncio.Task[None] | None = None

    def ready(self, flush: Callable[[SendPass], Coroutine[Any, Any, None] | None]) -> None:
        """``flush(send_pass)`` runs once in the next pass (callers dedupe themselves).

        It sends what it can at once and returns a coroutine, awaited here, for the rest.
        """
        self._ready.append(flush)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            while self._ready:
                ready, self._ready = self._ready, []
                send_pass = SendPass(clock.current_ntp_time())
                for flush in ready:
                    try:
                        rest = flush(send_pass)
                        if rest is not None:
                            await rest
                    except ConnectionError:
                        pass  # the subscriber's transport closed: its leg is being dropped
                    except Exception:
                        logger.exception("relay send failed for one subscriber")
        finally:
            self._task = None
