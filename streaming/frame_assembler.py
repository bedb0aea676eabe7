"""Frames from RTP packets on the relay's publish legs: pure rules, the clock passed in.

A video frame is the run of packets from the first one after the previous frame to the one
with the marker bit (or, from a sender that sets no marker, to the last packet before the
timestamp changes). ``FrameAssembler`` hands a frame on as soon as its last packet is in, so
the relay adds no frame of delay (aiortc's jitter buffer, built for its decoder, hands a frame
on only when the next frame's first packet arrives; for audio it holds four packets).

A missing packet holds the frames after it while a retransmission (NACK/RTX) may still fill
the hole. After ``give_up_ms`` without it, or once ``max_pending`` packets wait behind it, the
assembler gives up: the frames behind the hole are dropped, it waits for the next frame start
and reports the loss, so the relay asks for a keyframe and its subscribers wait for one.
"""

from __future__ import annotations

from dataclasses import dataclass

GIVE_UP_MS = 400  # a retransmission later than this is worth less than a keyframe
MAX_PENDING = 512  # packets held behind a hole (a 720p keyframe is about 40)
_HALF = 1 << 15


def seq_after(seq: int, other: int) -> bool:
    """``seq`` comes after ``other`` in RTP's 16-bit sequence space (wrap-around aware)."""
    return 0 < ((seq - other) & 0xFFFF) < _HALF


@dataclass(frozen=True, slots=True)
class Frame:
    timestamp: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Assembled:
    """What one packet completed: frames in order, and whether data was given up on."""

    frames: tuple[Frame, ...] = ()
    lost: bool = False


NOTHING = Assembled()


class FrameAssembler:
    """Reassembles one video stream (after RTX unwrapping) into frames, in sequence order."""

    def __init__(self, give_up_ms: int = GIVE_UP_MS, max_pending: int = MAX_PENDING) -> None:
        if give_up_ms <= 0 or not 0 < max_pending < _HALF:
            raise ValueError("give_up_ms must be positive and max_pending within 1..32767")
        self._give_up_ms = give_up_ms
        self._max_pending = max_pending
        # seq -> (timestamp, marker, starts a frame, depacketised payload)
        self._packets: dict[int, tuple[int, bool, bool, bytes]] = {}
        self._origin: int | None = None  # first seq of the next frame; None: not in sync
        self._blocked_at: int | None = None  # the origin while packets wait behind it
        self._blocked_since = 0
        self.frames = 0
        self.losses = 0

    @property
    def pending(self) -> int:
        """Packets held behind a hole."""
        return len(self._packets)

    def add(
        self,
        seq: int,
        timestamp: int,
        marker: bool,
        starts_frame: bool,
        payload: bytes,
        now_ms: int,
    ) -> Assembled:
        """Take one packet; ``starts_frame`` when the codec marks it as a frame's first."""
        origin = self._origin
        if origin is not None and ((seq - origin) & 0xFFFF) >= self._max_pending:
            if seq_after(seq, origin):  # too far ahead: give up what waits, then take it
                lost = self._give_up()
                after = self._feed(seq, (timestamp, marker, starts_frame, payload))
                return Assembled(lost + after, True)
            return NOTHING  # behind the origin: handed on already, or given up on
        frames = self._feed(seq, (timestamp, marker, starts_frame, payload))
        if not self._packets or self._origin is None:
            self._blocked_at = None
        elif self._origin != self._blocked_at:
            self._blocked_at, self._blocked_since = self._origin, now_ms
        elif now_ms - self._blocked_since >= self._give_up_ms:
            return Assembled(frames + self._give_up(), True)
        return Assembled(frames) if frames else NOTHING

    def _feed(self, seq: int, entry: tuple[int, bool, bool, bytes]) -> tuple[Frame, ...]:
        origin = self._origin
        if origin is None:
            # out of sync: keep what comes (a reordered frame start may follow) and start at
            # a frame start, or right after a frame's end
            packets = self._packets
            if len(packets) >= self._max_pending:
                packets.clear()
            packets[seq] = entry
            if entry[2]:
                origin = seq
            elif entry[1]:
                origin = (seq + 1) & 0xFFFF
            else:
                return ()
            self._origin = origin
            for held in [s for s in packets if s != origin and not seq_after(s, origin)]:
                del packets[held]
            return self._drain()
        if seq != origin and not seq_after(seq, origin):
            return ()  # late retransmission of a frame handed on already
        self._packets[seq] = entry
        return self._drain()

    def _drain(self) -> tuple[Frame, ...]:
        """Hand on every complete frame from the origin while the packets are contiguous."""
        packets = self._packets
        origin = self._origin
        assert origin is not None
        frames: list[Frame] = []
        seq = origin
        parts: list[bytes] = []
        frame_ts: int | None = None
        while (entry := packets.get(seq)) is not None:
            timestamp, marker, _, payload = entry
            if frame_ts is not None and timestamp != frame_ts:
                # no marker on the previous packet: the timestamp change ends that frame
                frames.append(self._take(origin, seq, frame_ts, parts))
                origin, parts = seq, []
            frame_ts = timestamp
            parts.append(payload)
            seq = (seq + 1) & 0xFFFF
            if marker:
                frames.append(self._take(origin, seq, timestamp, parts))
                origin, parts, frame_ts = seq, [], None
        self._origin = origin
        return tuple(frames)

    def _take(self, first: int, end: int, timestamp: int, parts: list[bytes]) -> Frame:
        seq = first
        while seq != end:
            del self._packets[seq]
            seq = (seq + 1) & 0xFFFF
        self.frames += 1
        return Frame(timestamp, b"".join(parts))

    def _give_up(self) -> tuple[Frame, ...]:
        """Drop the frame at the hole and resynchronise on the packets held after it."""
        self.losses += 1
        hole = self._origin or 0
        while hole in self._packets:  # the broken frame's packets before the hole
            del self._packets[hole]
            hole = (hole + 1) & 0xFFFF
        held = sorted(self._packets.items(), key=lambda item: (item[0] - hole) & 0xFFFF)
        self._packets.clear()
        self._origin = self._blocked_at = None
        frames: list[Frame] = []
        for seq, entry in held:  # out of sync: from the next frame start or frame end
            frames.extend(self._feed(seq, entry))
        return tuple(frames)
