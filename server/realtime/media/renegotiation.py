"""Subscriptions and the one case that renegotiates.

A subscription names *publishers*, not tracks, and has a slot for each of their labels from
the start, plus two stage slots: a publisher that comes, goes or republishes is rebound inside
the relay with no renegotiation. Only a publisher the subscriber has no slot for (a site whose
facilitator joined the roster later) makes the server replace the subscription and push
``media.subscribe.offer`` with ``renegotiation: true``; the client answers as usual."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.domain.media import policy
from server.domain.roles import Actor
from streaming import MediaRoom

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Subscription:
    actor: Actor
    asked: list[str] | None
    mode: str


async def offer(room: MediaRoom, pid: str, publishers: list[str], mode: str) -> str:
    labels = {label for p in publishers for label in policy.labels_for(p)}
    return await room.subscribe(pid, publishers, labels=labels, mode=mode, stage=True)


def offer_data(room: MediaRoom, pid: str, sdp: str, mode: str, again: bool) -> dict[str, Any]:
    slots = room.subscription_slots(pid)
    return {"sdp": sdp, "slots": slots, "mode": mode, "renegotiation": again}


async def renegotiate_missing(
    room: MediaRoom,
    subs: dict[str, Subscription],
    site_ids: list[int],
    lock: Callable[[str], asyncio.Lock],
    send: Callable[[Actor, dict[str, Any]], None],
    publisher: str,
) -> None:
    """Subscribers who should receive ``publisher`` but have no slot for it get a new offer
    (``send``: to that subscriber only)."""
    subscribers = room.subscribers  # a copy: read once
    for pid, sub in list(subs.items()):
        if sub.asked is not None or pid not in subscribers:
            continue
        try:
            wanted = policy.choose_publishers(sub.actor, site_ids, None)
            if publisher not in wanted:
                continue
            async with lock(pid):
                # the subscription may have changed or closed while we waited
                if subs.get(pid) is not sub or pid not in room.subscribers:
                    continue
                slots = room.subscription_slots(pid)
                if any(s.startswith(f"{publisher}/") for s in slots):
                    continue
                sdp = await offer(room, pid, wanted, sub.mode)
            send(sub.actor, offer_data(room, pid, sdp, sub.mode, True))
        except Exception:
            log.exception("media %s: re-offer to %s failed", room.session_id, pid)
