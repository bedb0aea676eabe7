"""SDP checks and codec pinning for both legs of the relay, with typed refusals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.sdp import SessionDescription

from server.domain.errors import BadInput, NotPermitted
from streaming.media_packets import TrackLabel

MAX_SDP_BYTES = 64 * 1024
MAX_AUDIO_TRACKS = 1
MAX_VIDEO_TRACKS = 2  # camera + screen
H264_CONSTRAINED_BASELINE = "42e01f"


class VideoCodec(StrEnum):
    VP8 = "VP8"
    H264 = "H264"  # constrained baseline, packetization-mode 1


def codec_preferences(kind: str, video_codec: VideoCodec) -> list[RTCRtpCodecCapability]:
    """The single codec (plus RTX for video) a leg may negotiate for ``kind``."""
    chosen: list[RTCRtpCodecCapability] = []
    for cap in RTCRtpSender.getCapabilities(kind).codecs:
        name = cap.mimeType.split("/", 1)[1].lower()
        if (kind, name) in (("audio", "opus"), ("video", "rtx")):
            chosen.append(cap)
        elif kind == "video" and name == video_codec.value.lower():
            profile = str(cap.parameters.get("profile-level-id", "")).lower()
            if video_codec is VideoCodec.VP8 or profile == H264_CONSTRAINED_BASELINE:
                chosen.append(cap)
    return chosen


def offers_codec(media_codecs: Iterable[object], kind: str, video_codec: VideoCodec) -> bool:
    for codec in media_codecs:
        mime = str(getattr(codec, "mimeType", "")).lower()
        if kind == "audio" and mime == "audio/opus":
            return True
        if kind == "video" and mime == f"video/{video_codec.value.lower()}":
            if video_codec is VideoCodec.VP8:
                return True
            params = getattr(codec, "parameters", {})
            profile = str(params.get("profile-level-id", "42e01f")).lower()
            if profile[:2] == "42" and str(params.get("packetization-mode", "0")) == "1":
                return True
    return False


def parse_sdp(sdp: str, what: str) -> SessionDescription:
    """Parse untrusted SDP; anything odd becomes :class:`BadInput`."""
    if not isinstance(sdp, str) or not sdp.strip():
        raise BadInput(f"{what}: SDP is empty")
    if len(sdp.encode("utf-8", "replace")) > MAX_SDP_BYTES:
        raise BadInput(f"{what}: SDP is larger than {MAX_SDP_BYTES} bytes")
    if not sdp.lstrip().startswith("v=0"):
        raise BadInput(f"{what}: SDP must start with v=0")
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises many kinds of errors
        raise BadInput(f"{what}: malformed SDP ({type(exc).__name__})") from exc
    if not description.media:
        raise BadInput(f"{what}: SDP has no media sections")
    for media in description.media:
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise BadInput(f"{what}: ICE credentials missing")
        if media.dtls is None or not media.dtls.fingerprints:
            raise BadInput(f"{what}: DTLS fingerprint missing")
    return description


@dataclass(frozen=True, slots=True)
class PlannedTrack:
    mid: str
    kind: str
    label: TrackLabel


def plan_publication(
    description: SessionDescription,
    allowed: frozenset[TrackLabel],
    track_labels: Mapping[str, str] | None,
    video_codec: VideoCodec,
) -> list[PlannedTrack]:
    """Label each offered m-line and refuse what the publisher may not or cannot send.

    Default labels: the audio m-line is the microphone, the first video m-line the camera,
    the second the screen. ``track_labels`` (mid -> label) overrides them.
    """
    planned: list[PlannedTrack] = []
    counts = {"audio": 0, "video": 0}
    for media in description.media:
        if media.kind not in ("audio", "video"):
            raise BadInput(f"publish offer: {media.kind!r} sections are not accepted")
        counts[media.kind] += 1
        if counts["audio"] > MAX_AUDIO_TRACKS or counts["video"] > MAX_VIDEO_TRACKS:
            raise BadInput(
                f"publish offer: too many tracks (at most {MAX_AUDIO_TRACKS} audio "
                f"and {MAX_VIDEO_TRACKS} video)"
            )
        mid = media.rtp.muxId
        if not mid:
            raise BadInput("publish offer: every media section needs a mid")
        if media.direction not in ("sendonly", "sendrecv"):
            raise BadInput(f"publish offer: media {mid} does not send")
        if not offers_codec(media.rtp.codecs, media.kind, video_codec):
            wanted = "opus" if media.kind == "audio" else video_codec.value
            raise BadInput(f"publish offer: media {mid} does not offer {wanted}")
        label = _label_for(media.kind, counts[media.kind], mid, track_labels)
        if label.kind != media.kind:
            raise BadInput(f"publish offer: label {label} does not fit {media.kind} media {mid}")
        if any(p.label == label for p in planned):
            raise BadInput(f"publish offer: label {label} used twice")
        if label not in allowed:
            raise NotPermitted(f"not allowed to publish {label}")
        planned.append(PlannedTrack(mid=mid, kind=media.kind, label=label))
    return planned


def _label_for(
    kind: str, ordinal: int, mid: str, track_labels: Mapping[str, str] | None
) -> TrackLabel:
    if track_labels and mid in track_labels:
        try:
            return TrackLabel(track_labels[mid])
        except ValueError:
            raise BadInput(f"unknown track label {track_labels[mid]!r}") from None
    if kind == "audio":
        return TrackLabel.MICROPHONE
    return TrackLabel.CAMERA if ordinal == 1 else TrackLabel.SCREEN


def parse_labels(values: Iterable[str]) -> frozenset[TrackLabel]:
    labels: set[TrackLabel] = set()
    for value in values:
        try:
            labels.add(TrackLabel(value))
        except ValueError:
            raise BadInput(f"unknown track label {value!r}") from None
    return frozenset(labels)
