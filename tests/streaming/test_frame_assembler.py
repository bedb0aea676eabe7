"""The relay's frame assembler: frames handed on at their last packet, holes, give-up, wrap.

Pure rules with the clock passed in (no event loop, no peer); the whole receive path with
real aiortc peers is exercised by the other relay tests (forwarding, loss, recording).
"""

from __future__ import annotations

import random

import pytest

from streaming.frame_assembler import FrameAssembler, seq_after

Packet = tuple[int, int, bool, bool, bytes]  # seq, timestamp, marker, starts, payload


def frame_packets(first_seq: int, timestamp: int, parts: list[bytes]) -> list[Packet]:
    """One frame's packets: the first starts it, the last carries the marker."""
    last = len(parts) - 1
    return [
        ((first_seq + i) & 0xFFFF, timestamp, i == last, i == 0, part)
        for i, part in enumerate(parts)
    ]


def stream(first_seq: int, frames: int, per_frame: int = 3) -> list[Packet]:
    packets: list[Packet] = []
    for f in range(frames):
        parts = [f"f{f}p{p};".encode() for p in range(per_frame)]
        packets += frame_packets(first_seq + f * per_frame, 3000 * f, parts)
    return packets


def feed(assembler: FrameAssembler, packets: list[Packet], now_ms: int = 0) -> list[bytes]:
    out: list[bytes] = []
    for seq, ts, marker, starts, payload in packets:
        out += [f.data for f in assembler.add(seq, ts, marker, starts, payload, now_ms).frames]
    return out


def test_a_frame_is_handed_on_at_its_last_packet_not_at_the_next_frame() -> None:
    assembler = FrameAssembler()
    packets = stream(100, 2)
    results = [assembler.add(*p, now_ms=0) for p in packets]
    handed = [[f.data for f in r.frames] for r in results]
    assert handed == [[], [], [b"f0p0;f0p1;f0p2;"], [], [], [b"f1p0;f1p1;f1p2;"]]
    assert not any(r.lost for r in results)
    assert assembler.pending == 0


def test_packets_out_of_order_within_a_window_give_every_frame_once_in_order() -> None:
    rng = random.Random(7)
    packets = stream(65_500, 40)  # runs across the 16-bit wrap
    shuffled: list[Packet] = []
    for start in range(0, len(packets), 5):  # reorder inside windows of 5 packets
        window = packets[start : start + 5]
        rng.shuffle(window)
        shuffled += window
    out = feed(FrameAssembler(), shuffled)
    assert out == [b"".join(f"f{f}p{p};".encode() for p in range(3)) for f in range(40)]


def test_a_retransmission_in_time_fills_the_hole_and_releases_the_frames_behind_it() -> None:
    assembler = FrameAssembler(give_up_ms=400)
    packets = stream(10, 3)
    lost = packets.pop(1)  # frame 0, second packet
    assert feed(assembler, packets[:5], now_ms=0) == []  # frame 1 waits behind frame 0
    assert assembler.pending == 5
    out = [f.data for f in assembler.add(*lost, now_ms=300).frames]
    assert out == [b"f0p0;f0p1;f0p2;", b"f1p0;f1p1;f1p2;"]
    assert feed(assembler, packets[5:], now_ms=301) == [b"f2p0;f2p1;f2p2;"]
    assert assembler.losses == 0


def test_a_hole_older_than_the_give_up_time_drops_its_frame_and_reports_the_loss() -> None:
    assembler = FrameAssembler(give_up_ms=400)
    packets = stream(10, 4)
    del packets[1]  # never comes back
    assert feed(assembler, packets[:5], now_ms=0) == []  # frames 0 and 1 held
    result = assembler.add(*packets[5], now_ms=450)  # frame 2 starts, 450 ms later
    assert result.lost
    assert [f.data for f in result.frames] == [b"f1p0;f1p1;f1p2;"]
    assert feed(assembler, packets[6:], now_ms=460) == [b"f2p0;f2p1;f2p2;", b"f3p0;f3p1;f3p2;"]
    assert assembler.losses == 1
    # the given-up packet arriving late is ignored
    assert not assembler.add(11, 0, False, False, b"late", 470).frames


def test_too_many_packets_behind_a_hole_give_up_at_once() -> None:
    assembler = FrameAssembler(give_up_ms=10_000, max_pending=8)
    packets = stream(0, 5)
    del packets[1]  # frame 0's second packet
    results = [assembler.add(*p, now_ms=0) for p in packets]
    assert any(r.lost for r in results)
    handed = [f.data for r in results for f in r.frames]
    assert b"f0p0;f0p1;f0p2;" not in handed and handed[-1] == b"f4p0;f4p1;f4p2;"


def test_joining_mid_frame_waits_for_the_next_frame() -> None:
    packets = stream(500, 3)
    assert feed(FrameAssembler(), packets[1:]) == [b"f1p0;f1p1;f1p2;", b"f2p0;f2p1;f2p2;"]


def test_a_codec_frame_start_syncs_at_once() -> None:
    assert feed(FrameAssembler(), stream(500, 1)) == [b"f0p0;f0p1;f0p2;"]


def test_packets_before_the_first_frame_start_are_kept_until_it_comes() -> None:
    assembler = FrameAssembler(give_up_ms=100)
    first, start, last = stream(500, 1)[1], stream(500, 1)[0], stream(500, 1)[2]
    assert not assembler.add(*first, now_ms=0).frames  # mid-frame, not in sync yet
    assert not assembler.add(*start, now_ms=500).lost  # no give-up while out of sync
    assert [f.data for f in assembler.add(*last, now_ms=501).frames] == [b"f0p0;f0p1;f0p2;"]


def test_a_sender_without_marker_bits_has_frames_cut_at_the_timestamp_change() -> None:
    packets = [(s, ts, False, s % 2 == 0, b"x%d" % s) for s, ts in enumerate([0, 0, 90, 90, 180])]
    assert feed(FrameAssembler(), packets) == [b"x0x1", b"x2x3"]


def test_sequence_order_across_the_wrap() -> None:
    assert seq_after(0, 65_535) and seq_after(5, 65_530) and not seq_after(65_530, 5)
    assert not seq_after(7, 7)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        FrameAssembler(give_up_ms=0)
    with pytest.raises(ValueError):
        FrameAssembler(max_pending=40_000)
