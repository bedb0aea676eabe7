"""Encoded media units as the relay moves them: keyframe detection and av.Packet building."""

from __future__ import annotations

import fractions
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import av

VIDEO_CLOCK = 90_000
OPUS_CLOCK = 48_000

H264_IDR = 5
H264_SPS = 7
H264_PPS = 8


class TrackLabel(StrEnum):
    """What a published track carries; the label decides its kind and how it is relayed."""

    CAMERA = "camera"
    MICROPHONE = "microphone"
    SCREEN = "screen"

    @property
    def kind(self) -> str:
        return "audio" if self is TrackLabel.MICROPHONE else "video"


@dataclass(slots=True)
class MediaUnit:
    """One encoded frame (video) or packet (audio) with its receive-side timing."""

    data: bytes
    pts: int  # in 1/clock_rate, starting near 0 per publisher track
    clock_rate: int
    keyframe: bool
    arrival: float  # time.monotonic() when the relay got it
    payloads: list[bytes] | None = None  # RTP payloads, made once for every subscriber

    def to_packet(self, pts: int) -> av.Packet[Any]:
        packet = av.Packet(self.data)
        packet.pts = pts
        packet.dts = pts
        packet.time_base = fractions.Fraction(1, self.clock_rate)
        return packet


def vp8_is_keyframe(data: bytes) -> bool:
    """VP8 frame tag: bit 0 of the first byte is 0 for a key frame (RFC 6386 9.1)."""
    return len(data) > 0 and data[0] & 1 == 0


def vp8_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe header, or None if not a keyframe."""
    if not vp8_is_keyframe(data) or len(data) < 10 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return width, height


def h264_nal_types(data: bytes) -> set[int]:
    """NAL unit types in an Annex-B buffer (aiortc's depayloader emits 4-byte start codes)."""
    types: set[int] = set()
    pos = data.find(b"\x00\x00\x01")
    while pos != -1 and pos + 3 < len(data):
        types.add(data[pos + 3] & 0x1F)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    return types


def h264_is_keyframe(data: bytes) -> bool:
    """An IDR slice with SPS and PPS in the same access unit: decodable on its own."""
    types = h264_nal_types(data)
    return {H264_IDR, H264_SPS, H264_PPS} <= types


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether a subscriber may start decoding at this unit. Audio: every packet."""
    name = codec_name.lower()
    if name == "vp8":
        return vp8_is_keyframe(data)
    if name == "h264":
        return h264_is_keyframe(data)
    return True
