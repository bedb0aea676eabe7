"""The relay relies on private aiortc names; fail loudly and clearly if they change."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiortc import RTCPeerConnection
from pylibsrtp import Error as SrtpError
from pylibsrtp import Policy, Session

from streaming import aiortc_private


def test_aiortc_private_names_the_relay_relies_on_still_exist() -> None:
    problems = aiortc_private.check_private_api()
    assert not problems, (
        "aiortc changed under the encoded relay (streaming/aiortc_private.py); "
        "re-verify the receive tap, PLI and keyframe hooks before upgrading:\n- "
        + "\n- ".join(problems)
    )


async def test_a_real_receiver_and_sender_expose_the_hooked_attributes() -> None:
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video", direction="recvonly")
        receiver, sender = transceiver.receiver, transceiver.sender
        assert hasattr(receiver, aiortc_private.DECODER_QUEUE_ATTR), (
            f"RTCRtpReceiver has no {aiortc_private.DECODER_QUEUE_ATTR}: the relay cannot tap "
            "encoded frames"
        )
        assert getattr(receiver, "_RTCRtpReceiver__decoder_thread", "missing") is None, (
            "RTCRtpReceiver._RTCRtpReceiver__decoder_thread changed"
        )
        assert hasattr(receiver, "_RTCRtpReceiver__rtcp_ssrc"), "REMB needs __rtcp_ssrc"
        assert callable(getattr(receiver, "_send_rtcp_pli", None)), "PLI hook gone"
        assert callable(getattr(sender, "_send_keyframe", None)), "sender keyframe hook gone"
        # packetize once (streaming/rtp_fanout.py) sends RTP around the sender
        assert callable(getattr(sender, "_retransmit", None)), "NACK hook gone"
        assert isinstance(sender._ssrc, int) and isinstance(sender._rtx_ssrc, int)
        for name in (
            "_RTCRtpSender__ntp_timestamp",
            "_RTCRtpSender__rtp_timestamp",
            "_RTCRtpSender__packet_count",
            "_RTCRtpSender__octet_count",
        ):
            assert getattr(sender, name, None) == 0, f"RTCRtpSender.{name} changed"
        aiortc_private.set_sender_counters(sender, 1, 2, 3, 4)
        report = await sender.getStats()
        outbound = next(s for s in report.values() if s.type == "outbound-rtp")
        assert (outbound.packetsSent, outbound.bytesSent) == (3, 4), "getStats counters moved"
        # the relay's own receive path (streaming/rtp_receive.py) feeds these
        parts = aiortc_private.receiver_parts(receiver)
        assert parts.codecs == {} and parts.rtx_ssrc == {} and parts.streams == {}
        assert parts.active_ssrc == {}
        assert parts.nack is not None and parts.estimator is not None, "video feedback moved"
        assert aiortc_private.receiver_enabled(receiver)
        assert aiortc_private.routed_receiver(receiver.transport, 1234) is None
        tap = aiortc_private.PacketTap(lambda codec, frame: None, lambda: None)
        aiortc_private.install_tap(receiver, tap)
        assert getattr(receiver, aiortc_private.DECODER_QUEUE_ATTR) is tap
    finally:
        await pc.close()


def _srtp_pair() -> tuple[Session, Session, Session]:
    key = bytes(range(30))  # master key (16) + salt (14) of AES_CM_128_HMAC_SHA1_80
    sessions = []
    for direction in (Policy.SSRC_ANY_OUTBOUND, Policy.SSRC_ANY_OUTBOUND, Policy.SSRC_ANY_INBOUND):
        policy = Policy(
            key=key, ssrc_type=direction, srtp_profile=Policy.SRTP_PROFILE_AES128_CM_SHA1_80
        )
        sessions.append(Session(policy))
    return sessions[0], sessions[1], sessions[2]


def test_the_bound_srtp_protect_gives_pylibsrtp_bytes_and_errors() -> None:
    reference, bound, receiver = _srtp_pair()
    protect = aiortc_private.srtp_protector(bound)
    for sequence in range(40):
        payload = bytes([sequence]) * (20 + sequence * 30)
        packet = bytes([0x80, 96]) + sequence.to_bytes(2, "big") + bytes(4) + b"\x01\x02\x03\x04"
        packet += payload
        expected = reference.protect(packet)
        assert protect(packet) == expected
        assert receiver.unprotect(expected) == packet
    with pytest.raises(ValueError, match="too long"):
        protect(bytes(1500))
    replay = bytes([0x80, 96, 0, 5]) + bytes(8) + b"again"
    protect(replay)
    with pytest.raises(SrtpError):  # the same sequence number twice is refused, as pylibsrtp does
        protect(replay)


def test_the_bound_srtp_unprotect_gives_pylibsrtp_bytes_and_errors() -> None:
    sender, _, reference = _srtp_pair()
    _, _, bound = _srtp_pair()
    unprotect = aiortc_private.srtp_unprotector(bound)
    protected = []
    for sequence in range(40):
        packet = bytes([0x80, 96]) + sequence.to_bytes(2, "big") + bytes(4) + b"\x01\x02\x03\x04"
        packet += bytes([sequence]) * (20 + sequence * 30)
        protected.append(sender.protect(packet))
        assert unprotect(protected[-1]) == reference.unprotect(protected[-1]) == packet
    with pytest.raises(SrtpError):  # a replayed packet is refused, as pylibsrtp does
        unprotect(protected[3])
    tampered = bytearray(sender.protect(bytes([0x80, 96, 0, 99]) + bytes(8) + b"payload"))
    tampered[14] ^= 0xFF
    with pytest.raises(SrtpError):  # and so is one that fails authentication
        unprotect(bytes(tampered))


def test_fast_unprotect_wraps_the_transport_session_once() -> None:
    _, _, session = _srtp_pair()
    transport = SimpleNamespace(_rx_srtp=session)
    aiortc_private.use_fast_unprotect(transport)  # type: ignore[arg-type]
    wrapped = transport._rx_srtp
    assert wrapped is not session and wrapped.unprotect_rtcp == session.unprotect_rtcp
    aiortc_private.use_fast_unprotect(transport)  # type: ignore[arg-type]
    assert transport._rx_srtp is wrapped


@pytest.mark.parametrize("mime", ["video/VP8", "audio/opus"])
def test_packetize_without_an_av_packet_gives_what_pack_gives(mime: str) -> None:
    """The relay's packetizer skips the av.Packet that ``pack`` only reads bytes from."""
    import fractions
    import random

    import av
    from aiortc.codecs import get_encoder
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    clock = 90_000 if mime.startswith("video") else 48_000
    codec = RTCRtpCodecParameters(mime, clock, 2 if clock == 48_000 else None, payloadType=96)
    ours, aiortcs = get_encoder(codec), get_encoder(codec)
    if hasattr(ours, "picture_id"):  # VP8 starts at a random picture id: the same one here
        ours.picture_id = aiortcs.picture_id = (1 << 15) - 5  # and wraps during the test
    rng = random.Random(7)
    for index in range(40):  # small and multi-packet frames; picture ids must keep in step
        size = rng.choice((3, 200, 1200, 1300, 5000, 40_000))
        data = bytes(rng.randrange(256) for _ in range(size))
        packet = av.Packet(data)
        packet.pts = index * 3000
        packet.time_base = fractions.Fraction(1, clock)
        assert aiortc_private.packetize(ours, data) == aiortcs.pack(packet)[0]
