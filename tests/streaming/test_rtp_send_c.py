"""The relay's send step in C (streaming/_rtp_send.c) against the Python one it replaces.

Real libsrtp sessions (pylibsrtp's) and real UDP sockets on loopback: the datagrams the C step
sends must be byte for byte what the Python step (header, extension, payload, then
``Session.protect``) makes from the same keys, and the NACK history must hold the same clear
packets. Then hostile arguments, a socket that refuses everything, and a real aiortc
subscriber behind the relay whose lost packets are answered from the history the C step
wrote.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiortc.rtp import RTP_HISTORY_SIZE
from pylibsrtp import Policy, Session
from relay_test_peers import HEIGHT, WIDTH, start_publisher, start_subscriber
from test_relay_loss import FRAME_TOLERANCE

from streaming import aiortc_private
from streaming.relay_source import RelaySource
from streaming.room import MediaRoom

_rtp_send = pytest.importorskip("streaming._rtp_send")

KEY = bytes(range(30))
HEADER = struct.Struct("!BBHLL")
SSRC = 0x1234ABCD
EXTENSION = struct.pack("!HH", 0xBEDE, 1) + bytes([0x10, ord("a"), 0, 0])
MAX_CLEAR = 1356  # pylibsrtp's 1,500-byte buffer less libsrtp's largest trailer (144)


def test_the_c_send_step_is_built_and_in_use() -> None:
    """CI installs with a compiler: the relay must not quietly fall back to Python there."""
    if os.environ.get("HYFLEX_RELAY_SEND", "c").lower() == "python":
        pytest.skip("HYFLEX_RELAY_SEND=python chosen")
    assert aiortc_private.c_send_step_active(), "streaming/_rtp_send.c was not built"


def session() -> Session:
    return Session(
        Policy(
            key=KEY,
            ssrc_type=Policy.SSRC_ANY_OUTBOUND,
            srtp_profile=Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        )
    )


def addresses(session_c: Session) -> tuple[int, int]:
    import pylibsrtp._binding as binding

    ffi = binding.ffi
    return (
        int(ffi.cast("uintptr_t", session_c._srtp[0])),
        int(ffi.cast("uintptr_t", ffi.addressof(binding.lib, "srtp_protect"))),
    )


class Loopback:
    def __init__(self) -> None:
        self.receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.receiver.bind(("127.0.0.1", 0))
        self.receiver.settimeout(5)
        self.sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        host, port = self.receiver.getsockname()
        packed = _rtp_send.socket_address(host, port)
        assert packed is not None
        self.address = packed

    def receive(self, count: int) -> list[bytes]:
        return [self.receiver.recv(2048) for _ in range(count)]

    def close(self) -> None:
        self.receiver.close()
        self.sender.close()


@pytest.fixture
def loopback() -> Any:
    pair = Loopback()
    yield pair
    pair.close()


def python_step(
    protect: Callable[[bytes], bytes],
    payloads: list[bytes],
    sequence: int,
    timestamp: int,
    history: list[Any],
) -> list[bytes]:
    """RtpWriter.send_unit's Python path, packet by packet."""
    out = []
    for index, payload in enumerate(payloads):
        marker_pt = 0x80 | 96 if index == len(payloads) - 1 else 96
        data = HEADER.pack(0x90, marker_pt, sequence, timestamp, SSRC) + EXTENSION + payload
        history[sequence % RTP_HISTORY_SIZE] = (sequence, data, 12 + len(EXTENSION))
        out.append(protect(data))
        sequence = (sequence + 1) & 0xFFFF
    return out


@pytest.mark.parametrize(
    ("sizes", "first_sequence"),
    [
        ([1100, 300, 20], 1000),
        ([160], 7),  # one Opus packet
        ([1150] * 70 + [40], 30000),  # a keyframe: more packets than one sendmmsg batch
        ([900, 900, 900, 900], 65534),  # the 16-bit sequence number wraps
    ],
    ids=["frame", "audio", "keyframe", "wrap"],
)
def test_the_c_step_sends_what_the_python_step_would(
    loopback: Loopback, sizes: list[int], first_sequence: int
) -> None:
    payloads = [bytes((i + j) % 251 for j in range(size)) for i, size in enumerate(sizes)]
    session_c, session_py = session(), session()
    srtp, protect = addresses(session_c)
    timestamp = 0xFFFFFF00
    history_c: list[Any] = [None] * RTP_HISTORY_SIZE
    header = HEADER.pack(0x90, 96, 0, timestamp, SSRC)
    for unit in range(3):  # the sessions' rollover counters and indexes must stay in step
        start = (first_sequence + unit * len(sizes)) & 0xFFFF
        octets, errors, unsent = _rtp_send.write_unit(
            payloads, header, EXTENSION, start, history_c, srtp, protect,
            loopback.sender.fileno(), loopback.address,
        )  # fmt: skip
        assert (octets, errors, unsent) == (sum(sizes), 0, None)
        history_py: list[Any] = [None] * RTP_HISTORY_SIZE
        expected = python_step(session_py.protect, payloads, start, timestamp, history_py)
        assert loopback.receive(len(payloads)) == expected
        for index in range(len(payloads)):
            slot = (start + index) & 0xFFFF
            assert history_c[slot % RTP_HISTORY_SIZE] == history_py[slot % RTP_HISTORY_SIZE]


def test_hostile_arguments_are_refused_with_clear_errors(loopback: Loopback) -> None:
    session_c = session()
    srtp, protect = addresses(session_c)
    history: list[Any] = [None] * RTP_HISTORY_SIZE
    header = HEADER.pack(0x80, 96, 0, 0, SSRC)
    fd, address = loopback.sender.fileno(), loopback.address

    def call(*changes: tuple[int, Any]) -> Any:
        args: list[Any] = [[b"x"], header, b"", 1, history, srtp, protect, fd, address]
        for index, value in changes:
            args[index] = value
        return _rtp_send.write_unit(*args)

    with pytest.raises(TypeError):
        _rtp_send.write_unit([b"x"], header)
    with pytest.raises(TypeError):
        call((0, (b"x",)))
    with pytest.raises(ValueError, match="bad header"):
        call((1, header[:11]))
    with pytest.raises(ValueError, match="bad header"):
        call((3, 70000))
    with pytest.raises(ValueError, match="bad header"):
        call((4, []))
    with pytest.raises(ValueError, match="bad header"):
        call((8, b"\x02\x00"))
    with pytest.raises(ValueError, match="bad header"):
        call((5, 0))
    # a bad payload, or one too long for pylibsrtp's buffer: refused before anything is
    # protected or sent, and the history is left as it was
    with pytest.raises(TypeError, match="payloads must be bytes"):
        call((0, [b"x" * 10, "not bytes"]), (3, 10))
    with pytest.raises(ValueError, match="too long"):
        call((0, [b"a" * 100, b"b" * (MAX_CLEAR - 11)]), (3, 20))
    assert history[10] is None and history[20] is None
    # the largest packet Python's step takes is taken here too, and nothing before it leaked
    assert call((0, [b"c" * (MAX_CLEAR - 12)]), (3, 30))[:2] == (MAX_CLEAR - 12, 0)
    (largest,) = loopback.receive(1)
    assert struct.unpack_from("!H", largest, 2)[0] == 30 and len(largest) == MAX_CLEAR + 10
    assert call((3, 31))[:2] == (1, 0)  # and the writer goes on afterwards
    assert struct.unpack_from("!H", loopback.receive(1)[0], 2)[0] == 31


def test_the_size_limit_is_the_python_steps() -> None:
    """pylibsrtp's protect refuses a clear packet over 1,356 bytes: so does the C step."""
    keys = session()
    protect = aiortc_private.srtp_protector(keys)
    assert len(protect(bytes(12) + b"p" * (MAX_CLEAR - 12))) == MAX_CLEAR + 10
    with pytest.raises(ValueError, match="too long"):
        protect(bytes(12) + b"p" * (MAX_CLEAR - 11))


def test_addresses_the_c_step_cannot_pack_keep_the_python_path() -> None:
    assert len(_rtp_send.socket_address("127.0.0.1", 5000) or b"") == 16
    assert len(_rtp_send.socket_address("::1", 5000) or b"") == 28
    assert _rtp_send.socket_address("fe80::1%eth0", 5000) is None
    assert _rtp_send.socket_address("not an address", 5000) is None
    with pytest.raises(ValueError):
        _rtp_send.socket_address("127.0.0.1", 70000)


def test_a_socket_that_refuses_every_datagram_drops_them_and_counts() -> None:
    """Not a socket at all (a pipe): every datagram fails on its own, nothing is raised."""
    read_end, write_end = os.pipe()
    try:
        keys = session()  # held: the C step is handed its srtp_t by address
        srtp, protect = addresses(keys)
        history: list[Any] = [None] * RTP_HISTORY_SIZE
        address = _rtp_send.socket_address("127.0.0.1", 9)
        assert address is not None
        octets, errors, unsent = _rtp_send.write_unit(
            [b"a" * 50, b"b" * 60], HEADER.pack(0x80, 96, 0, 0, SSRC), b"", 5, history,
            srtp, protect, write_end, address,
        )  # fmt: skip
        assert (octets, errors, unsent) == (110, 2, None)
        assert history[5][0] == 5 and history[6][0] == 6  # kept for a NACK all the same
    finally:
        os.close(read_end)
        os.close(write_end)


def source_of(room: MediaRoom, label: str) -> RelaySource:
    return next(s for s in room.hub.sources if s.key.label == label)


class ReceiveLoss:
    """Drops every ``every``-th packet of one SSRC as the subscriber peer receives it."""

    def __init__(self, transport: Any, ssrc: int, every: int) -> None:
        self.ssrc, self.every = ssrc, every
        self.seen = 0
        self.dropped: set[int] = set()
        self.armed = False
        self._handle: Callable[[bytes, int], Awaitable[None]] = transport._handle_rtp_data
        transport._handle_rtp_data = self._handle_rtp_data

    async def _handle_rtp_data(self, data: bytes, arrival_time_ms: int) -> None:
        (ssrc,) = struct.unpack_from("!L", data, 8)
        if self.armed and ssrc == self.ssrc:
            self.seen += 1
            if self.seen % self.every == 0:
                self.dropped.add(struct.unpack_from("!H", data, 2)[0])
                return
        await self._handle(data, arrival_time_ms)


async def test_packets_lost_after_the_c_step_are_resent_from_its_history(
    room: MediaRoom,
) -> None:
    if not aiortc_private.c_send_step_active():
        pytest.skip("the C send step is not in use here")
    publisher = await start_publisher(room, "teacher", labels=("camera",))
    viewer = await start_subscriber(room, "viewer", ["teacher"], labels=["camera"], stage=False)
    try:
        camera = viewer.slots["teacher/camera"]
        await camera.wait_frames(15, within=20)
        slot = next(
            s for s in room.subscribers["viewer"].slots.values() if s.name == "teacher/camera"
        )
        assert slot.writer is not None and slot.writer.sends_in_c
        receiver = next(
            t.receiver for t in viewer.pc.getTransceivers() if t.receiver.track.kind == "video"
        )
        loss = ReceiveLoss(receiver.transport, slot.sender._ssrc, every=7)
        source = source_of(room, "camera")
        keyframes_before = source.keyframe_requests
        relayed_before, decoded_before = source.units, camera.frames
        loss.armed = True
        for _ in range(40):  # bounded: about 10 packets a second are dropped
            if len(loss.dropped) >= 8:
                break
            await camera.wait_frames(camera.frames + 5, within=10)
        loss.armed = False
        relayed = source.units - relayed_before
        assert len(loss.dropped) >= 8, "too few packets dropped to tell"
        await camera.wait_frames(decoded_before + relayed - FRAME_TOLERANCE, within=5)
        assert slot.writer.retransmissions >= len(loss.dropped)
        assert source.keyframe_requests == keyframes_before  # RTX alone repaired it
        assert camera.sizes == {(WIDTH, HEIGHT)}
    finally:
        await viewer.close()
        await publisher.close()
