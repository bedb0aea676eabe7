"""Every use of aiortc's private names lives here (aiortc is pinned to 1.16.0 exactly).

One piece, on purpose: an aiortc upgrade is checked against this one file.

aiortc has no public API to receive *encoded* frames, to ask a publisher for a keyframe, to
learn that a subscriber asked us for one, or to cap a publisher's bitrate. The relay needs all
four, so it reaches into these private names:

- ``RTCRtpReceiver._RTCRtpReceiver__decoder_queue``: the receiver puts ``(codec, JitterFrame)``
  here for its decoder thread; we swap in a tap before the thread starts (``track`` event).
- ``RTCRtpReceiver._send_rtcp_pli(ssrc)``: sends a Picture Loss Indication to the publisher.
  aiortc also calls it itself on packet loss, so wrapping it tells us about a publisher gap.
- ``RTCRtpReceiver._send_rtcp(packet)``: every RTCP packet the receiver sends (REMB included).
- ``RTCRtpSender._send_keyframe()``: called when a subscriber sends PLI/FIR; a no-op for
  pre-encoded input, so we hook it to forward the request to the publisher.
- Packetize once (rtp_fanout.py) sends RTP itself through ``RTCDtlsTransport._send_rtp`` and
  leaves the sender to RTCP: it learns the negotiated parameters by wrapping the sender's
  ``send(parameters)`` (called by ``RTCPeerConnection.__connect``), answers NACKs by replacing
  ``RTCRtpSender._retransmit(seq)``, and keeps the sender's private counters
  (``__ntp_timestamp``, ``__rtp_timestamp``, ``__packet_count``, ``__octet_count``) that its
  RTCP sender reports and ``getStats`` read.
- ``udp_sender``: when the selected ICE pair is plain UDP (aioice ``StunProtocol``), packets
  are protected with the DTLS transport's ``_tx_srtp`` and handed to the pair's datagram
  transport directly (what ``_send_rtp`` -> ``Connection.sendto`` -> ``send_data`` do, minus
  four coroutine frames per packet); otherwise (TURN) the relay awaits ``_send_rtp``. Uses
  ``RTCIceTransport._connection``, aioice ``Connection._nominated`` and ``CandidatePair``'s
  ``protocol`` / ``remote_addr`` (aioice as installed with aiortc 1.16.0: 0.13.0), and
  ``RTCDtlsTransport._state`` (one identity check a packet instead of the ``state``
  property's enum-to-text conversion).
- ``srtp_protector`` / ``srtp_unprotector``: pylibsrtp's ``Session.protect`` / ``unprotect``
  with its buffer, length cell and C function bound once (``Session._srtp``, ``_cdata``,
  ``_buffer``; pylibsrtp pinned 1.0.0); ``use_fast_unprotect`` puts the latter in a publish
  leg's ``RTCDtlsTransport._rx_srtp``.
- The publish legs' own receive path (rtp_receive.py) replaces ``RTCDtlsTransport.
  _handle_rtp_data`` (every clear RTP packet, with its arrival time) for the SSRCs it has bound
  through aiortc's ``_rtp_router.ssrc_table`` and the receiver's RTX map, reads the
  abs-send-time id from ``_rtp_header_extensions_map``, and feeds the receiver's
  ``__remote_streams`` (statistics), ``__nack_generator``, ``__remote_bitrate_estimator`` and
  ``__active_ssrc`` (``receiver_parts``); it sends NACKs with ``_send_rtcp_nack``.

- The C send step (``UdpSend.write_unit``, ``_rtp_send.c``): the pair's socket
  (``get_extra_info("socket")``), the session's ``srtp_t`` (``Session._srtp``) and the address
  of ``srtp_protect`` in ``pylibsrtp._binding``, handed to C as integers.
- ``hook_srtp_datagrams``: replaces ``StunProtocol.datagram_received`` on a publish leg's
  nominated pair, unprotects with ``RTCDtlsTransport._rx_srtp`` and keeps its private
  ``__rx_bytes`` / ``__rx_packets`` counters.
- ``packetize``: ``Vp8Encoder._packetize`` and ``picture_id``, and Opus ``pack``'s layout (the
  packet itself), so no ``av.Packet`` is built per unit.

``check_private_api()`` verifies them; tests/streaming/test_private_api.py fails loudly if an
aiortc upgrade renames any of them.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import Any

from aioice.ice import Connection, StunProtocol
from aiortc import RTCPeerConnection, clock
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtcrtpreceiver import NackGenerator, RTCRtpReceiver, StreamStatistics
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unpack_remb_fci
from pylibsrtp import ERRORS as SRTP_ERRORS
from pylibsrtp import SRTP_MAX_TRAILER_LEN
from pylibsrtp import Error as SrtpError
from pylibsrtp import Session as SrtpSession

from streaming.remb_throttle import RembThrottle

logger = logging.getLogger(__name__)

PINNED_AIORTC = "1.16.0"
PINNED_PYLIBSRTP = "1.0.0"
DECODER_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"

# (owner, attribute, text that must appear in the owner's source for our use to hold)
_SOURCE_FACTS: tuple[tuple[Callable[..., Any], str], ...] = (
    (RTCRtpReceiver._handle_rtp_packet, "self.__decoder_queue.put((codec, encoded_frame))"),
    (RTCRtpReceiver._handle_rtp_packet, "await self._send_rtcp_pli(packet.ssrc)"),
    (RTCRtpReceiver.receive, "self.__decoder_queue,"),
    (RTCRtpReceiver._send_rtcp_pli, "await self._send_rtcp(packet)"),
    (RTCRtpSender._handle_rtcp_packet, "self._send_keyframe()"),
    (RTCRtpSender._next_encoded_frame, "self.__encoder.pack(data)"),
    (RTCRtpSender._handle_rtcp_packet, "await self._retransmit(seq)"),
    (RTCRtpSender._run_rtcp, "ntp_timestamp=self.__ntp_timestamp"),
    (RTCRtpSender._run_rtcp, "rtp_timestamp=self.__rtp_timestamp"),
    (RTCRtpSender._run_rtcp, "packet_count=self.__packet_count & 0xFFFFFFFF"),
    (RTCRtpSender._run_rtcp, "octet_count=self.__octet_count & 0xFFFFFFFF"),
    (RTCRtpSender.getStats, "packetsSent=self.__packet_count"),
    (RTCRtpSender.getStats, "bytesSent=self.__octet_count"),
    (RTCDtlsTransport._send_rtp, "data = self._tx_srtp.protect(data)"),
)
SENDER_START = "await transceiver.sender.send(self.__localRtp(transceiver))"
_UDP_FACTS: tuple[tuple[Callable[..., Any], str], ...] = (
    (Connection.sendto, "active_pair = self._nominated.get(component)"),
    (Connection.sendto, "await active_pair.protocol.send_data(data, active_pair.remote_addr)"),
    (StunProtocol.send_data, "self.transport.sendto(data, addr)"),
    (RTCDtlsTransport._send_rtp, "await self.transport._send(data)"),
    (RTCIceTransport.__init__, "self._connection = gatherer._connection"),
)
_SRTP_FACTS: tuple[tuple[Callable[..., Any], str], ...] = (
    (SrtpSession.__init__, 'self._cdata = ffi.new("char[]", 1500)'),
    (SrtpSession.__init__, "self._buffer = ffi.buffer(self._cdata)"),
    (SrtpSession.__init__, "self._srtp = ffi.gc(srtp,"),
    (SrtpSession.protect, "lib.srtp_protect, SRTP_MAX_TRAILER_LEN"),
    (SrtpSession.unprotect, "lib.srtp_unprotect)"),
    (RTCDtlsTransport._recv_next, "data = self._rx_srtp.unprotect(data)"),
    (RTCDtlsTransport._set_state, "self._state = state"),
    (StunProtocol.datagram_received, "self.receiver.data_received(data, self.local_candidate"),
    (RTCDtlsTransport._recv_next, "self.__rx_bytes += len(data)"),
    (RTCDtlsTransport._recv_next, "self.__rx_packets += 1"),
)
_PACK_FACTS: tuple[tuple[Callable[..., Any], str], ...] = (
    (Vp8Encoder.pack, "payloads = self._packetize(bytes(packet), self.picture_id)"),
    (Vp8Encoder.pack, "self.picture_id = (self.picture_id + 1) % (1 << 15)"),
    (OpusEncoder.pack, "return [bytes(packet)], timestamp"),
)
_RECEIVE_FACTS: tuple[tuple[Callable[..., Any], str], ...] = (
    (
        RTCDtlsTransport._recv_next,
        "await self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)",
    ),
    (RTCDtlsTransport._handle_rtp_data, "receiver = self._rtp_router.route_rtp(packet)"),
    (RTCRtpReceiver.__init__, "self.__active_ssrc: dict[int, datetime.datetime] = {}"),
    (RTCRtpReceiver.__init__, "self.__codecs: dict[int, RTCRtpCodecParameters] = {}"),
    (RTCRtpReceiver.__init__, "self.__nack_generator = NackGenerator()"),
    (RTCRtpReceiver.__init__, "self.__remote_bitrate_estimator = RemoteBitrateEstimator()"),
    (RTCRtpReceiver.__init__, "self.__remote_streams: dict[int, StreamStatistics] = {}"),
    (RTCRtpReceiver.__init__, "self.__rtx_ssrc: dict[int, int] = {}"),
    (RTCRtpReceiver._handle_rtp_packet, "self.__remote_streams[packet.ssrc].add(packet)"),
    (RTCRtpReceiver._send_rtcp_nack, "packet.lost = lost"),
    (StreamStatistics.add, "packet.sequence_number"),
    (NackGenerator.add, "packet.sequence_number"),
)
_SENDER_COUNTERS = (
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__packet_count",
    "_RTCRtpSender__octet_count",
)


def check_private_api() -> list[str]:
    """Return a list of problems (empty when aiortc still has what the relay relies on)."""
    problems: list[str] = []
    version = metadata.version("aiortc")
    if version != PINNED_AIORTC:
        problems.append(f"aiortc {version} installed, relay was verified with {PINNED_AIORTC}")
    for owner, name in (
        (RTCRtpReceiver, "_send_rtcp_pli"),
        (RTCRtpReceiver, "_send_rtcp"),
        (RTCRtpReceiver, "_handle_rtp_packet"),
        (RTCRtpSender, "_send_keyframe"),
        (RTCRtpSender, "_handle_rtcp_packet"),
        (RTCRtpSender, "_retransmit"),
        (RTCDtlsTransport, "_send_rtp"),
    ):
        if not callable(getattr(owner, name, None)):
            problems.append(f"{owner.__name__}.{name} is gone")
    connect = getattr(RTCPeerConnection, "_RTCPeerConnection__connect", None)
    if connect is None or SENDER_START not in inspect.getsource(connect):
        problems.append(f"RTCPeerConnection.__connect no longer contains {SENDER_START!r}")
    sender_init = inspect.getsource(RTCRtpSender.__init__)
    for name in _SENDER_COUNTERS:
        text = f"self.{name.removeprefix('_RTCRtpSender')} = "
        if text not in sender_init:
            problems.append(f"RTCRtpSender.__init__ no longer sets {text.strip()}")
    for text in ("self._ssrc = random32()", "self._rtx_ssrc = random32()"):
        if text not in sender_init:
            problems.append(f"RTCRtpSender.__init__ no longer contains {text!r}")
    init_src = inspect.getsource(RTCRtpReceiver.__init__)
    for text in (
        "self.__decoder_queue: queue.Queue = queue.Queue()",
        "self.__decoder_thread: Optional[threading.Thread] = None",
        "self.__rtcp_ssrc: Optional[int] = None",
    ):
        if text not in init_src:
            problems.append(f"RTCRtpReceiver.__init__ no longer contains {text!r}")
    srtp_version = metadata.version("pylibsrtp")
    if srtp_version != PINNED_PYLIBSRTP:
        problems.append(f"pylibsrtp {srtp_version} installed, verified with {PINNED_PYLIBSRTP}")
    for func, text in _SOURCE_FACTS + _UDP_FACTS + _SRTP_FACTS + _RECEIVE_FACTS + _PACK_FACTS:
        try:
            src = inspect.getsource(func)
        except (OSError, TypeError):
            problems.append(f"cannot read source of {func.__qualname__}")
            continue
        if text not in src:
            problems.append(f"{func.__qualname__} no longer contains {text!r}")
    return problems


class PacketTap:
    """Stands in for the receiver's decoder queue.

    ``put`` runs on the event loop (from ``_handle_rtp_packet``) and hands each encoded frame
    to ``on_frame`` without decoding. aiortc's decoder thread still starts and blocks in
    ``get`` until the receiver stops and puts the ``None`` sentinel: then ``get`` returns
    ``None``, the thread ends the remote track and exits, and ``on_end`` runs.
    """

    def __init__(self, on_frame: Callable[[Any, Any], None], on_end: Callable[[], None]) -> None:
        self._on_frame = on_frame
        self._on_end = on_end
        self._stopped = threading.Event()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            if not self._stopped.is_set():
                self._stopped.set()
                self._on_end()
            return
        if self._stopped.is_set():
            return
        codec, frame = item
        try:
            self._on_frame(codec, frame)
        except Exception:  # a relay bug must never kill the receiver's RTP path
            logger.exception("relay tap failed on a frame")

    def get(self, block: bool = True, timeout: float | None = None) -> None:
        self._stopped.wait()
        return None

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()


def install_tap(receiver: RTCRtpReceiver, tap: PacketTap) -> None:
    """Swap the receiver's decoder queue for ``tap``; call from a plain ``track`` handler."""
    if getattr(receiver, "_RTCRtpReceiver__decoder_thread", None) is not None:
        raise RuntimeError("decoder thread already started: install the tap in on('track')")
    if not hasattr(receiver, DECODER_QUEUE_ATTR):
        raise RuntimeError(f"aiortc changed: {DECODER_QUEUE_ATTR} missing")
    setattr(receiver, DECODER_QUEUE_ATTR, tap)


async def send_pli(receiver: RTCRtpReceiver, ssrc: int) -> None:
    """Ask the publisher for a keyframe (bypasses our loss hook)."""
    original = getattr(receiver, "_relay_original_pli", None) or receiver._send_rtcp_pli
    await original(ssrc)


def hook_loss(receiver: RTCRtpReceiver, on_loss: Callable[[], None]) -> None:
    """Call ``on_loss`` whenever aiortc itself sends a PLI (it lost picture data)."""
    original = receiver._send_rtcp_pli
    receiver._relay_original_pli = original  # type: ignore[attr-defined]

    async def pli_on_loss(media_ssrc: int) -> None:
        on_loss()
        await original(media_ssrc)

    receiver._send_rtcp_pli = pli_on_loss  # type: ignore[method-assign]


def hook_remb_cap(
    receiver: RTCRtpReceiver, cap_bps: Callable[[], int | None], throttle: RembThrottle
) -> None:
    """Clamp every REMB the receiver sends to ``cap_bps()`` (None = no cap) and throttle them.

    aiortc's estimator hands out a REMB on every packet while it sees over-use; ``throttle``
    decides which of them go out (see ``streaming.remb_throttle``).
    """
    original: Callable[[Any], Awaitable[None]] = receiver._send_rtcp

    async def send_capped(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return  # not a REMB we can read: nothing of ours to send
            cap = cap_bps()
            if cap is not None and bitrate > cap:
                bitrate = cap
                packet.fci = pack_remb_fci(cap, ssrcs)
            if not throttle.allow(bitrate, time.monotonic()):
                return
        await original(packet)

    receiver._send_rtcp = send_capped  # type: ignore[method-assign]


async def send_remb(receiver: RTCRtpReceiver, bitrate: int, ssrcs: list[int]) -> None:
    """Send a REMB (Receiver Estimated Maximum Bitrate) for ``ssrcs`` to the publisher."""
    rtcp_ssrc = getattr(receiver, "_RTCRtpReceiver__rtcp_ssrc", None)
    if rtcp_ssrc is None or not ssrcs:
        return
    packet = RtcpPsfbPacket(
        fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs)
    )
    await receiver._send_rtcp(packet)


def hook_keyframe_request(sender: RTCRtpSender, on_request: Callable[[], None]) -> None:
    """Call ``on_request`` when the subscriber sends PLI/FIR for this sender."""
    sender._send_keyframe = on_request  # type: ignore[method-assign]


def capture_send_parameters(
    sender: RTCRtpSender, on_parameters: Callable[[RTCRtpSendParameters], None]
) -> None:
    """Call ``on_parameters`` with what the sender negotiated, just before it starts."""
    original = sender.send

    async def send(parameters: RTCRtpSendParameters) -> None:
        on_parameters(parameters)
        await original(parameters)

    sender.send = send  # type: ignore[method-assign]


def hook_retransmit(sender: RTCRtpSender, retransmit: Callable[[int], Awaitable[None]]) -> None:
    """Answer the subscriber's NACKs with ``retransmit(sequence_number)``."""
    sender._retransmit = retransmit  # type: ignore[method-assign, assignment]


def set_sender_counters(
    sender: RTCRtpSender, ntp_time: int, rtp_timestamp: int, packets: int, octets: int
) -> None:
    """What the sender's RTCP sender reports and ``getStats`` show, for RTP sent around it."""
    sender._RTCRtpSender__ntp_timestamp = ntp_time  # type: ignore[attr-defined]
    sender._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
    sender._RTCRtpSender__packet_count = packets  # type: ignore[attr-defined]
    sender._RTCRtpSender__octet_count = octets  # type: ignore[attr-defined]


def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """The media and RTX SSRCs aiortc chose for ``sender`` (and announced in the SDP)."""
    return int(sender._ssrc), int(sender._rtx_ssrc)


async def send_rtp(transport: RTCDtlsTransport, data: bytes) -> None:
    """SRTP-protect and send one clear RTP packet, as aiortc's sender does."""
    await transport._send_rtp(data)


def packetize(encoder: Any, data: bytes) -> list[bytes] | None:
    """RTP payloads of one encoded frame as ``encoder.pack`` makes them, without an av.Packet.

    ``pack`` takes an ``av.Packet`` only to read its bytes and timestamp (which the relay
    does not use): for Opus the payload is the packet itself, for VP8 ``Vp8Encoder.
    _packetize(data, picture_id)`` and the picture id moves on as ``pack`` moves it. None for
    other encoders (H264: the caller uses ``pack``).
    """
    if type(encoder) is OpusEncoder:
        return [data]
    if type(encoder) is Vp8Encoder:
        payloads: list[bytes] = encoder._packetize(data, encoder.picture_id)
        encoder.picture_id = (encoder.picture_id + 1) % (1 << 15)
        return payloads
    return None


def srtp_protector(session: SrtpSession) -> Callable[[bytes], bytes]:
    """``session.protect`` without pylibsrtp's per-call allocation: the same bytes out.

    pylibsrtp's ``protect`` allocates a length cell and looks up its buffer and function on
    every packet; the relay protects every packet for every subscriber, so this closure binds
    them once (``Session._srtp``, ``_cdata``, ``_buffer``; pylibsrtp pinned in pyproject).
    Not re-entrant across sessions sharing nothing: each session has its own buffer.
    """
    return _bound_srtp(session, "srtp_protect", SRTP_MAX_TRAILER_LEN)


def srtp_unprotector(session: SrtpSession) -> Callable[[bytes], bytes]:
    """``session.unprotect`` bound once, as ``srtp_protector`` (the same bytes out, or the
    same ``pylibsrtp.Error`` for a packet that fails authentication or replay checks)."""
    return _bound_srtp(session, "srtp_unprotect", 0)


def _bound_srtp(session: SrtpSession, name: str, trailer: int) -> Callable[[bytes], bytes]:
    binding: Any = importlib.import_module("pylibsrtp._binding")
    srtp, cdata, buffer = session._srtp[0], session._cdata, session._buffer
    length = binding.ffi.new("int *")
    limit = len(cdata) - trailer
    call, ok = getattr(binding.lib, name), binding.lib.srtp_err_status_ok

    def process(data: bytes) -> bytes:
        size = len(data)
        if size > limit:
            raise ValueError("packet is too long")
        length[0] = size
        buffer[0:size] = data
        status = call(srtp, cdata, length)
        if status != ok:
            raise SrtpError(SRTP_ERRORS[status])
        packet: bytes = buffer[0 : length[0]]
        return packet

    return process


class _FastRxSrtp:
    """Stands in for a transport's receive-side SRTP session: ``unprotect`` bound once."""

    def __init__(self, session: SrtpSession) -> None:
        self.unprotect = srtp_unprotector(session)
        self.unprotect_rtcp = session.unprotect_rtcp


def use_fast_unprotect(transport: RTCDtlsTransport) -> None:
    """Make the transport's receive-side SRTP use ``srtp_unprotector`` (idempotent).

    The session exists once DTLS is up (``RTCDtlsTransport._rx_srtp``); call again after a
    new handshake: a session that is not ours yet is wrapped, ours is left alone.
    """
    current = getattr(transport, "_rx_srtp", None)
    if isinstance(current, SrtpSession):
        transport._rx_srtp = _FastRxSrtp(current)  # type: ignore[assignment]


def udp_sender(transport: RTCDtlsTransport) -> UdpSend | None:
    """A synchronous SRTP-protect-and-send over ``transport``'s selected plain-UDP ICE pair.

    None when there is no such pair (not connected yet, or relayed through TURN). The sender
    returns False, sending nothing, once the pair or the DTLS state changed: the caller then
    falls back to ``await transport._send_rtp(data)`` and asks for a new sender later.
    """
    srtp = getattr(transport, "_tx_srtp", None)
    connection = getattr(transport.transport, "_connection", None)
    nominated: dict[int, Any] | None = getattr(connection, "_nominated", None)
    pair = nominated.get(1) if nominated else None
    protocol = getattr(pair, "protocol", None)
    udp = getattr(protocol, "transport", None)
    if (
        srtp is None
        or nominated is None
        or pair is None
        or type(protocol) is not StunProtocol
        or udp is None
        or not callable(getattr(udp, "sendto", None))
        or transport._state is not DtlsState.CONNECTED
    ):
        return None
    return UdpSend(transport, srtp, nominated, pair, udp)


def _c_send_step() -> Any:
    """``streaming._rtp_send`` (built from ``_rtp_send.c`` at install), or None.

    ``HYFLEX_RELAY_SEND=python`` keeps the Python send step (to compare the two).
    """
    if os.environ.get("HYFLEX_RELAY_SEND", "c").lower() == "python":
        return None
    try:
        return importlib.import_module("streaming._rtp_send")
    except ImportError:
        logger.warning("relay: the C send step is not built; sending in Python (slower)")
        return None


_C_SEND = _c_send_step()


def c_send_step_active() -> bool:
    return _C_SEND is not None


class UdpSend:
    """Protect-and-send over one plain-UDP ICE pair: a packet at a time, or a unit in C.

    Calling it sends one clear RTP packet (Python: ``srtp_protector`` then the datagram
    transport's ``sendto``). ``write_unit`` (None without the C module, or for an address it
    cannot pack) writes a whole unit's packets in ``streaming/_rtp_send.c``: headers, NACK
    history, libsrtp's ``srtp_protect`` (pylibsrtp's own copy, by address, with the session's
    ``srtp_t``) and ``sendmmsg`` on the pair's socket. Both check first that the pair and the
    DTLS state are still the ones this sender was made for.
    """

    def __init__(
        self,
        transport: RTCDtlsTransport,
        srtp: SrtpSession,
        nominated: dict[int, Any],
        pair: Any,
        udp: Any,
    ) -> None:
        self._transport, self._nominated, self._pair, self._udp = transport, nominated, pair, udp
        self._session = srtp  # keeps the srtp_t the C step uses alive
        self._protect = srtp_protector(srtp)
        self._sendto = udp.sendto
        self._address = pair.remote_addr
        self.errors = 0  # datagrams the socket refused outright (C step), as asyncio drops them
        self.write_unit: Callable[[list[bytes], bytes, bytes, int, list[Any]], int | None] | None
        self.write_unit = None
        sock = udp.get_extra_info("socket")
        packed = _C_SEND.socket_address(*self._address[:2]) if _C_SEND is not None else None
        if packed is not None and sock is not None:
            binding: Any = importlib.import_module("pylibsrtp._binding")
            ffi = binding.ffi
            self._c_args = (
                int(ffi.cast("uintptr_t", srtp._srtp[0])),
                int(ffi.cast("uintptr_t", ffi.addressof(binding.lib, "srtp_protect"))),
                sock.fileno(),
                packed,
            )
            self.write_unit = self._write_unit

    def current(self) -> bool:
        return (
            self._transport._state is DtlsState.CONNECTED and self._nominated.get(1) is self._pair
        )

    def __call__(self, data: bytes) -> bool:
        if not self.current():
            return False
        self._sendto(self._protect(data), self._address)
        return True

    def _write_unit(
        self, payloads: list[bytes], header: bytes, extension: bytes, sequence: int,
        history: list[Any],
    ) -> int | None:  # fmt: skip
        """The unit's payload octets, or None (nothing sent) when the pair has changed."""
        udp = self._udp
        if not self.current() or udp.is_closing() or udp.get_write_buffer_size():
            return None  # changed, or asyncio holds queued datagrams that must go first
        srtp, protect, fd, address = self._c_args
        octets, errors, unsent = _C_SEND.write_unit(
            payloads, header, extension, sequence, history, srtp, protect, fd, address
        )
        self.errors += errors
        if unsent:
            for data in unsent:  # the socket is full: asyncio queues them in order
                self._sendto(data, self._address)
        return int(octets)


@dataclass(frozen=True, slots=True)
class ReceiverParts:
    """The pieces of an ``RTCRtpReceiver`` that the relay's own receive path keeps feeding.

    Its statistics (for RTCP receiver reports and ``getStats``), its NACK generator, its
    remote bitrate estimator (REMB), its codecs and RTX map, and the active-source table that
    ``getSynchronizationSources`` reads; see ``streaming.rtp_receive``.
    """

    codecs: dict[int, RTCRtpCodecParameters]
    rtx_ssrc: dict[int, int]
    streams: dict[int, StreamStatistics]
    active_ssrc: dict[int, datetime]
    nack: NackGenerator | None
    estimator: RemoteBitrateEstimator | None


def receiver_parts(receiver: RTCRtpReceiver) -> ReceiverParts:
    prefix = "_RTCRtpReceiver__"
    return ReceiverParts(
        codecs=getattr(receiver, prefix + "codecs"),
        rtx_ssrc=getattr(receiver, prefix + "rtx_ssrc"),
        streams=getattr(receiver, prefix + "remote_streams"),
        active_ssrc=getattr(receiver, prefix + "active_ssrc"),
        nack=getattr(receiver, prefix + "nack_generator"),
        estimator=getattr(receiver, prefix + "remote_bitrate_estimator"),
    )


def receiver_enabled(receiver: RTCRtpReceiver) -> bool:
    return bool(receiver._enabled)


async def send_loss_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """The receiver's own PLI on lost picture data (through ``hook_loss``, if installed)."""
    await receiver._send_rtcp_pli(media_ssrc)


async def send_nack(receiver: RTCRtpReceiver, media_ssrc: int, lost: list[int]) -> None:
    await receiver._send_rtcp_nack(media_ssrc, lost)


def abs_send_time_id(transport: RTCDtlsTransport) -> int | None:
    """The negotiated id of the abs-send-time header extension on ``transport``, if any."""
    ids = getattr(transport._rtp_header_extensions_map, "_HeaderExtensionsMap__ids", None)
    value: int | None = getattr(ids, "abs_send_time", None)
    return value


def routed_receiver(transport: RTCDtlsTransport, ssrc: int) -> Any:
    """The receiver aiortc's router has bound ``ssrc`` to (None while it has not)."""
    return transport._rtp_router.ssrc_table.get(ssrc)


RtpDataHandler = Callable[[bytes, int], Awaitable[None]]


def hook_rtp_data(
    transport: RTCDtlsTransport, make: Callable[[RtpDataHandler], RtpDataHandler]
) -> None:
    """Put ``make(aiortc's own handler)`` where the transport hands every clear RTP packet.

    The transport calls it with the unprotected packet and its arrival time in ms; the
    returned handler may pass any packet it does not take on to aiortc's own.
    """
    original: RtpDataHandler = transport._handle_rtp_data
    transport._handle_rtp_data = make(original)  # type: ignore[method-assign, assignment]


ClearRtpHandler = Callable[[bytes, int], None]


def hook_srtp_datagrams(
    transport: RTCDtlsTransport, route: Callable[[int], ClearRtpHandler | None]
) -> bool:
    """Take SRTP datagrams of known SSRCs straight from the ICE pair's protocol.

    aioice hands every datagram to ``StunProtocol.datagram_received``, which parses it as STUN
    (an exception for every RTP packet), queues it for the connection's ``recvfrom`` task, and
    the DTLS transport's ``_recv_next`` task unprotects it. For an RTP (not RTCP) datagram
    whose SSRC ``route`` knows, this hook unprotects it at once with the transport's
    receive-side session and calls the handler with the clear packet and its arrival time in
    ms, as ``_recv_next`` would; everything else (STUN, DTLS, RTCP, unknown SSRCs) goes the
    usual way. False (nothing hooked) when the selected pair is not plain UDP or the
    transport is not connected. Uses ``StunProtocol.datagram_received`` on the nominated
    pair's protocol, ``RTCDtlsTransport._rx_srtp`` and its receive counters.
    """
    connection = getattr(transport.transport, "_connection", None)
    nominated: dict[int, Any] | None = getattr(connection, "_nominated", None)
    pair = nominated.get(1) if nominated else None
    protocol = getattr(pair, "protocol", None)
    if (
        type(protocol) is not StunProtocol
        or transport._state is not DtlsState.CONNECTED
        or getattr(protocol, "_hyflex_srtp_hook", False)
    ):
        return False
    original: Callable[[bytes, Any], None] = protocol.datagram_received
    connected, now_ms = DtlsState.CONNECTED, clock.current_ms

    def datagram_received(data: bytes, addr: Any) -> None:
        if len(data) >= 12 and 127 < data[0] < 192 and not 191 < data[1] < 224:
            handler = route(int.from_bytes(data[8:12], "big"))
            srtp = transport._rx_srtp
            if handler is not None and transport._state is connected and srtp is not None:
                transport._RTCDtlsTransport__rx_bytes += len(data)  # type: ignore[attr-defined]
                transport._RTCDtlsTransport__rx_packets += 1  # type: ignore[attr-defined]
                try:
                    clear = srtp.unprotect(data)
                except (SrtpError, ValueError):  # fails authentication, or over 1500 bytes
                    return  # dropped, as _recv_next drops it
                handler(clear, now_ms())
                return
        original(data, addr)

    protocol.datagram_received = datagram_received  # type: ignore[method-assign, assignment]
    protocol._hyflex_srtp_hook = True  # type: ignore[attr-defined]
    return True
