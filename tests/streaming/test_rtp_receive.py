"""The publish legs' receive path on a real aiortc receiver, packets fed by hand.

A real ``RTCRtpReceiver`` (its statistics, NACK generator and estimator are the ones the
relay feeds); the packets are built here so that order, loss, RTX and hostile bytes are
exact. The same path with real peers and real loss: test_relay_loss.py and the other relay
tests.
"""

from __future__ import annotations

import random
import struct
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from streaming import aiortc_private
from streaming.rtp_receive import LeanReceiver

VP8, RTX, OPUS = 96, 97, 111
MEDIA_SSRC, RTX_SSRC = 0x1111, 0x2222


def rtp(
    seq: int, ts: int, payload: bytes, *, pt: int = VP8, ssrc: int = MEDIA_SSRC,
    marker: bool = False,
) -> bytes:  # fmt: skip
    return struct.pack("!BBHLL", 0x80, (0x80 if marker else 0) | pt, seq, ts, ssrc) + payload


def vp8(data: bytes, start: bool) -> bytes:
    """A one-byte VP8 payload descriptor (S bit on the first packet, partition 0)."""
    return bytes([0x10 if start else 0x00]) + data


class Collected:
    def __init__(self) -> None:
        self.frames: list[tuple[bytes, int]] = []

    def on_frame(self, codec: Any, frame: Any) -> None:
        self.frames.append((frame.data, frame.timestamp))


@pytest.fixture
async def pc() -> AsyncIterator[RTCPeerConnection]:
    connection = RTCPeerConnection()
    yield connection
    await connection.close()


def lean_receiver(pc: RTCPeerConnection, kind: str) -> tuple[LeanReceiver, Collected]:
    receiver = pc.addTransceiver(kind, direction="recvonly").receiver
    parts = aiortc_private.receiver_parts(receiver)
    if kind == "video":
        parts.codecs[VP8] = RTCRtpCodecParameters("video/VP8", 90_000, payloadType=VP8)
        parts.codecs[RTX] = RTCRtpCodecParameters(
            "video/rtx", 90_000, payloadType=RTX, parameters={"apt": VP8}
        )
        parts.rtx_ssrc[RTX_SSRC] = MEDIA_SSRC
    else:
        parts.codecs[OPUS] = RTCRtpCodecParameters("audio/opus", 48_000, 2, payloadType=OPUS)
    collected = Collected()
    tap = aiortc_private.PacketTap(collected.on_frame, lambda: None)
    return LeanReceiver(receiver, kind, tap), collected


def feed(lean: LeanReceiver, data: bytes, now_ms: int = 0) -> int:
    """Hand one packet in; return how many RTCP sends it asked for (closed, not sent)."""
    sends: list[Coroutine[Any, Any, None]] = lean.handle(data, now_ms) or []
    for send in sends:
        send.close()
    return len(sends)


async def test_frames_are_handed_on_whole_at_their_last_packet(pc: RTCPeerConnection) -> None:
    lean, collected = lean_receiver(pc, "video")
    feed(lean, rtp(100, 9000, vp8(b"key-a", True)))
    assert collected.frames == []
    feed(lean, rtp(101, 9000, vp8(b"key-b", False), marker=True))
    assert collected.frames == [(b"key-akey-b", 0)]  # on the lesson clock: first frame at 0
    feed(lean, rtp(102, 12000, vp8(b"delta", True), marker=True))
    assert collected.frames[-1] == (b"delta", 3000)
    stats = aiortc_private.receiver_parts(lean.receiver).streams[MEDIA_SSRC]
    assert stats.packets_received == 3  # RTCP receiver reports see every packet


async def test_a_hole_is_nacked_and_an_rtx_resend_fills_it(pc: RTCPeerConnection) -> None:
    lean, collected = lean_receiver(pc, "video")
    feed(lean, rtp(10, 0, vp8(b"a", True), marker=True))
    # 11 is lost; 12 arrives: the NACK generator sees the gap and a NACK is sent
    assert feed(lean, rtp(12, 3000, vp8(b"c", True), marker=True)) == 1
    assert aiortc_private.receiver_parts(lean.receiver).nack is not None
    assert [data for data, _ in collected.frames] == [b"a"]
    # the resend: RTX payload type and SSRC, the original sequence number first
    resend = rtp(500, 1500, struct.pack("!H", 11) + vp8(b"b", True), pt=RTX, ssrc=RTX_SSRC,
                 marker=True)  # fmt: skip
    feed(lean, resend, now_ms=50)
    assert [data for data, _ in collected.frames] == [b"a", b"b", b"c"]


async def test_audio_goes_on_at_once_and_a_late_packet_is_dropped(pc: RTCPeerConnection) -> None:
    lean, collected = lean_receiver(pc, "audio")
    for seq in (5, 6, 8):
        feed(lean, rtp(seq, seq * 960, b"opus%d" % seq, pt=OPUS))
    feed(lean, rtp(7, 7 * 960, b"late", pt=OPUS))  # older than what went on: dropped
    assert [data for data, _ in collected.frames] == [b"opus5", b"opus6", b"opus8"]


async def test_hostile_packets_are_refused_quietly_and_the_stream_goes_on(
    pc: RTCPeerConnection,
) -> None:
    lean, collected = lean_receiver(pc, "video")
    rng = random.Random(14)
    hostile = [
        b"",
        b"\x80",
        bytes(11),
        bytes([0x8F, VP8]) + bytes(10),  # 15 CSRCs announced, none there
        bytes([0x90, VP8]) + bytes(10) + b"\xbe\xde\xff\xff",  # extension longer than packet
        bytes([0xA0, VP8]) + bytes(10) + b"\x00\xff",  # padding longer than the payload
        bytes([0xA0, VP8]) + bytes(10) + b"\x00",  # zero padding count
        rtp(1, 0, b"", pt=RTX, ssrc=RTX_SSRC),  # RTX without the original sequence
        rtp(2, 0, b"\x10", pt=99),  # unknown payload type
        rtp(3, 0, b"\x80"),  # VP8 descriptor announcing extensions it does not carry
    ]
    hostile += [bytes(rng.randrange(256) for _ in range(rng.randrange(40))) for _ in range(100)]
    for _ in range(400):  # version 2, our payload types and SSRCs, random flags and bytes
        ssrc = rng.choice((MEDIA_SSRC, RTX_SSRC))
        header = struct.pack(
            "!BBHLL", 0x80 | rng.randrange(64), rng.choice((VP8, RTX)) | rng.choice((0, 0x80)),
            rng.randrange(65536), rng.randrange(1 << 32), ssrc,
        )  # fmt: skip
        hostile.append(header + bytes(rng.randrange(256) for _ in range(rng.randrange(60))))
    for data in hostile:
        feed(lean, data)
    collected.frames.clear()
    feed(lean, rtp(40_000, 90_000, vp8(b"after", True), marker=True), now_ms=1000)
    assert [data for data, _ in collected.frames] == [b"after"]
