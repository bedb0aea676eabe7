"""HyFlex Live media: an encoded pass-through selective-forwarding relay on aiortc.

Nothing here decodes or re-encodes: publishers' encoded frames are taken from aiortc's
receivers before its decoder and handed to each subscriber's sender as ``av.Packet``s, which
aiortc only packetises. See ``streaming.room.MediaRoom`` for the public API.
"""

from streaming.media_packets import TrackLabel
from streaming.media_stats import PublishedTrackStats, RoomStats, SubscribedTrackStats
from streaming.negotiation import VideoCodec
from streaming.recording import LessonRecorder, RecordingSummary
from streaming.room import LiveCounts, MediaRoom
from streaming.subscriber import SubscriberMode

__all__ = [
    "LessonRecorder",
    "LiveCounts",
    "MediaRoom",
    "PublishedTrackStats",
    "RecordingSummary",
    "RoomStats",
    "SubscribedTrackStats",
    "SubscriberMode",
    "TrackLabel",
    "VideoCodec",
]
