"""Benchmark: a student's downstream in audio + slides, audio included.

One server (this process, loopback, SQLite, the demo consortium). The teacher publishes over
the real websocket with aiortc: Opus audio (pink noise, a worst case for a speech codec, at
``--audio-kbps``, 20 ms packets) and VP8 camera video (640x480, about 0.5 Mbps) so that the
relay has video it must *not* forward. A remote student subscribes with a real aiortc peer in
``audio_slides`` mode and fetches each page the teacher shows as the ``small`` image over HTTP
(once per page), as the web client does. The teacher uploads a generated 10-page deck (text,
a chart and a photo-like picture per page) and changes page once a minute.

Counted, for the student, over the whole measured window (real time, not sped up):
- media: every datagram the student's ICE transport hands to DTLS/SRTP (SRTP audio, RTCP,
  DTLS), plus 28 bytes of IPv4 + UDP header each; STUN consent checks are not counted (one
  small packet every few seconds);
- websocket: every frame received (payload + 2-4 bytes of framing) plus 40 bytes of TCP/IP
  header per frame;
- HTTP: each image response's body and headers, plus 40 bytes of TCP/IP per 1448-byte segment.

    .venv/bin/python bench/slides_downstream.py              # 3 minutes (about 3.5 min)
    .venv/bin/python bench/slides_downstream.py --minutes 5 --audio-kbps 40

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import random
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import httpx
import uvicorn
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from PIL import Image, ImageDraw, ImageFilter
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._media_content import OPUS_CLOCK, EncodedLoopTrack, encode_video
from server.app import create_app
from server.db.migrate import upgrade
from server.demo import seed_demo
from server.domain.roles import Role
from server.services import slides
from server.settings import Settings
from streaming.loopback import use_loopback_only

TCP_IP = 40
UDP_IP = 28
MSS = 1448
WORDS = [
    *("force", "motion", "energy", "mass", "velocity", "friction", "gravity", "newton", "law"),
    *("inertia", "vector", "speed", "acceleration", "momentum", "balance", "push", "pull"),
    *("weight", "air", "resistance", "surface", "example"),
]


def encode_audio(kbps: int, seconds: float = 4.0) -> list[bytes]:
    source = av.open("anoisesrc=color=pink:amplitude=0.08:sample_rate=48000", format="lavfi")
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate = OPUS_CLOCK
    encoder.layout = "mono"
    encoder.format = "s16"
    encoder.bit_rate = kbps * 1000
    encoder.options = {"application": "voip", "frame_duration": "20"}
    resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_CLOCK)
    out: list[bytes] = []
    for frame in source.decode(audio=0):
        for resampled in resampler.resample(frame):
            out.extend(bytes(p) for p in encoder.encode(resampled))
        if len(out) >= seconds * 50:
            break
    source.close()
    return out[: int(seconds * 50)]


def lecture_deck(pages: int, seed: int = 7) -> bytes:
    """Slides like a teacher's: a title, bullets, a bar chart and a photo-like picture."""
    rng = random.Random(seed)
    images = []
    for n in range(1, pages + 1):
        img = Image.new("RGB", (1280, 720), "white")
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, 0, 1280, 90), fill=(30, 70, 140))
        draw.text(
            (40, 20), f"{n}. " + " ".join(rng.sample(WORDS, 4)).title(), fill="white", font_size=44
        )
        for line in range(6):
            text = "- " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 9)))
            draw.text((50, 130 + line * 62), text, fill=(20, 20, 20), font_size=30)
        for bar in range(5):
            h = rng.randint(40, 220)
            draw.rectangle(
                (60 + bar * 80, 690 - h, 110 + bar * 80, 690), fill=(200, 90 + bar * 30, 40)
            )
        noise = (
            Image.effect_noise((420, 300), 60).convert("RGB").filter(ImageFilter.GaussianBlur(3))
        )
        sky = Image.linear_gradient("L").resize((420, 300)).convert("RGB")
        photo = Image.blend(sky, noise, 0.5)
        img.paste(photo, (820, 380))
        images.append(img)
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=96)
    return out.getvalue()


class Ws:
    """A participant's websocket that counts what it receives and answers requests by id."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.bytes = 0
        self.frames = 0
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.on_frame: list[Any] = []
        self.counter = 0
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, token: str) -> Ws:
        raw = await connect(url, max_size=2**22)
        await raw.send(json.dumps({"type": "hello", "data": {"token": token}}))
        return cls(raw)

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for message in self.ws:
                size = len(message)
                self.bytes += size + (2 if size < 126 else 4) + TCP_IP
                self.frames += 1
                frame = json.loads(message)
                waiter = self.waiters.get(str(frame.get("id")))
                if waiter and not waiter.done() and frame.get("type") != "ack":
                    waiter.set_result(frame)
                for fn in self.on_frame:
                    fn(frame)

    async def request(self, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        """Send; the first non-ack frame with this id (a reply or an error)."""
        self.counter += 1
        mid = f"b{self.counter}-{time.monotonic_ns()}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[mid] = future
        await self.ws.send(json.dumps({"type": type_, "id": mid, "data": data}))
        async with asyncio.timeout(20):
            return await future

    async def send(self, type_: str, data: dict[str, Any]) -> None:
        self.counter += 1
        await self.ws.send(json.dumps({"type": type_, "id": f"s{self.counter}", "data": data}))

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


def config() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


async def run(minutes: float, audio_kbps: int, change_s: float) -> dict[str, Any]:
    use_loopback_only()
    tmp = Path(tempfile.mkdtemp(prefix="hyflex-slides-bench-"))
    settings = Settings(
        data_dir=tmp,
        database_url=f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
        secret_key="bench-secret-key-0123456789-0123456789",
    )
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    app = create_app(settings)
    demo = await seed_demo(app.state.services.sessions)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    # the socket listens already: requests wait in its backlog until uvicorn has started
    base, sid = f"http://127.0.0.1:{port}", demo.session.id or 0
    signer = app.state.services.signer

    def token(user_id: int | None, role: Role) -> str:
        return str(
            signer.issue(
                user_id=user_id or 0, role=role, typ="access", now=time.time(), ttl_seconds=7200
            )
        )

    teacher_token = token(demo.teacher.id, Role.TEACHER)
    student_token = token(demo.students[32].id, Role.STUDENT)  # at home, no site
    http = httpx.AsyncClient(base_url=base, timeout=60)
    deck_pdf = lecture_deck(10)
    resp = await http.post(
        f"/api/sessions/{sid}/slides",
        headers={"Authorization": f"Bearer {teacher_token}"},
        files={"file": ("Forces.pdf", deck_pdf, "application/pdf")},
    )
    resp.raise_for_status()
    deck = resp.json()
    await slides.wait_rendered(deck["deck_id"])

    ws_url = f"ws://127.0.0.1:{port}/ws/sessions/{sid}"
    teacher = await Ws.open(ws_url, teacher_token)
    student = await Ws.open(ws_url, student_token)
    # the teacher publishes audio and camera video
    pub = RTCPeerConnection(config())
    pub.addTransceiver(EncodedLoopTrack("audio", encode_audio(audio_kbps)), direction="sendonly")
    pub.addTransceiver(EncodedLoopTrack("video", encode_video("480p")), direction="sendonly")
    await pub.setLocalDescription(await pub.createOffer())
    answer = await teacher.request("media.publish", {"sdp": pub.localDescription.sdp})
    assert answer["type"] == "media.publish.answer", answer
    await pub.setRemoteDescription(RTCSessionDescription(answer["data"]["sdp"], "answer"))

    # the student subscribes in audio + slides and counts what reaches its ICE transport
    media = {"bytes": 0, "packets": 0}
    tracks: dict[str, int] = {}
    audio_flowing = asyncio.Event()
    sub = RTCPeerConnection(config())

    @sub.on("track")
    def on_track(track: Any) -> None:
        async def drain() -> None:
            with contextlib.suppress(Exception):
                while True:
                    await track.recv()
                    tracks[track.kind] = tracks.get(track.kind, 0) + 1
                    if tracks.get("audio", 0) >= 50:
                        audio_flowing.set()

        asyncio.get_running_loop().create_task(drain())

    offer = await student.request("media.subscribe", {"mode": "audio_slides"})
    assert offer["type"] == "media.subscribe.offer", offer
    await sub.setRemoteDescription(RTCSessionDescription(offer["data"]["sdp"], "offer"))
    ice = sub.getTransceivers()[0].receiver.transport.transport
    original = ice._recv

    async def counting_recv() -> bytes:
        data: bytes = await original()
        media["bytes"] += len(data) + UDP_IP
        media["packets"] += 1
        return data

    ice._recv = counting_recv
    await sub.setLocalDescription(await sub.createAnswer())
    await student.send("media.subscribe.answer", {"sdp": sub.localDescription.sdp})
    async with asyncio.timeout(30):
        await audio_flowing.wait()  # a second of audio arrived: the window starts

    # HTTP: each shown page's small image, once
    images = {"bytes": 0, "fetches": 0, "sizes": []}
    fetched: set[int] = set()
    pending: list[asyncio.Task[None]] = []

    async def fetch(page: int) -> None:
        url = deck["page_url"].format(page=page, size="small")
        r = await http.get(url, headers={"Authorization": f"Bearer {student_token}"})
        r.raise_for_status()
        head = sum(len(k) + len(v) + 4 for k, v in r.headers.raw) + 17
        total = len(r.content) + head
        images["bytes"] += total + TCP_IP * math.ceil(total / MSS)
        images["fetches"] += 1
        images["sizes"].append(len(r.content))

    def on_student_frame(frame: dict[str, Any]) -> None:
        if frame.get("type") == "slides.shown" and frame["data"]["page"] not in fetched:
            fetched.add(frame["data"]["page"])
            pending.append(asyncio.get_running_loop().create_task(fetch(frame["data"]["page"])))

    student.on_frame.append(on_student_frame)
    start = {"media": media["bytes"], "ws": student.bytes, "audio": tracks.get("audio", 0)}
    began = time.monotonic()
    window = minutes * 60
    page = 0
    while (elapsed := time.monotonic() - began) < window:
        if elapsed >= page * change_s:
            page += 1
            await teacher.send(
                "slides.show", {"deck_id": deck["deck_id"], "page": (page - 1) % 10 + 1}
            )
        await asyncio.sleep(min(1.0, window - elapsed))
    seconds = time.monotonic() - began
    await asyncio.gather(*pending)
    media_bytes = media["bytes"] - start["media"]
    ws_bytes = student.bytes - start["ws"]
    kbps = {
        "media": media_bytes * 8 / seconds / 1000,
        "websocket": ws_bytes * 8 / seconds / 1000,
        "images": images["bytes"] * 8 / seconds / 1000,
    }
    kbps["total"] = sum(kbps.values())
    result = {
        "minutes": round(seconds / 60, 2),
        "audio_kbps_target": audio_kbps,
        "page_changes": page,
        "kbps": {k: round(v, 2) for k, v in kbps.items()},
        "media_packets": media["packets"],
        "audio_frames": tracks.get("audio", 0) - start["audio"],
        "video_frames": tracks.get("video", 0),
        "small_image_bytes": images["sizes"],
        "deck_pdf_bytes": len(deck_pdf),
    }
    await sub.close()
    await pub.close()
    await student.close()
    await teacher.close()
    await http.aclose()
    server.should_exit = True
    await serving
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--audio-kbps", type=int, default=32, help="teacher's Opus target")
    parser.add_argument("--change-seconds", type=float, default=60.0, help="a page change every")
    args = parser.parse_args()
    result = asyncio.run(run(args.minutes, args.audio_kbps, args.change_seconds))
    k = result["kbps"]
    print(
        f"audio+slides downstream over {result['minutes']} min, {result['page_changes']} pages: "
        f"total {k['total']} kbps (media {k['media']}, websocket {k['websocket']}, "
        f"images {k['images']}); video frames received: {result['video_frames']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
