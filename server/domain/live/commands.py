"""Commands a participant sends to a live session: frozen dataclasses named for the action.

The acting user is never a field: it is the ``actor`` given to ``LiveAggregate.handle`` (checked
against the roster), so nobody can answer, vote or raise a hand for someone else.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- values shared by several commands -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer (or an answer key). Fill the one field that fits the item's kind:
    ``choices`` (option indexes, 0-based) for single/multiple, ``number`` for numeric,
    ``text`` for short text."""

    choices: tuple[int, ...] = ()
    number: float | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class PromptSpec:
    """What a poll or embedded question asks.

    ``kind``: "single" | "multiple" | "numeric" | "text". ``options`` only for the choice
    kinds; ``min_value``/``max_value``/``tolerance`` only for numeric; ``max_length`` only for
    text (defaults to the session limit). ``correct`` is optional (an answer key).
    """

    kind: str
    prompt: str
    options: tuple[str, ...] = ()
    correct: Answer | None = None
    min_value: float | None = None
    max_value: float | None = None
    tolerance: float = 0.0
    max_length: int | None = None


# --- session and presence ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartSession:
    """Teacher/admin: scheduled -> live. The lesson clock starts now."""


@dataclass(frozen=True, slots=True)
class EndSession:
    """Teacher/admin: live -> ended. Closes everything still open."""


@dataclass(frozen=True, slots=True)
class Join:
    """The actor is now connected (a no-op if already present)."""


@dataclass(frozen=True, slots=True)
class Leave:
    """The actor disconnected (a no-op if not present)."""


# --- polls ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenPoll:
    """Teacher/admin. ``anonymous``: leaders see counts only, never who answered what."""

    spec: PromptSpec
    anonymous: bool = False


@dataclass(frozen=True, slots=True)
class AnswerPoll:
    """Student. A later answer replaces the earlier one."""

    poll_id: int
    answer: Answer


@dataclass(frozen=True, slots=True)
class ClosePoll:
    poll_id: int


@dataclass(frozen=True, slots=True)
class RevealPoll:
    """Teacher/admin, on a closed poll: totals (and the key, if any) go to everyone."""

    poll_id: int


# --- embedded questions -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrepareQuestion:
    """Teacher/admin, before or during class: a question due at ``position`` seconds of the
    lesson clock."""

    spec: PromptSpec
    position: float


@dataclass(frozen=True, slots=True)
class LaunchQuestion:
    """Teacher/admin, live: create a question and show it at once."""

    spec: PromptSpec


@dataclass(frozen=True, slots=True)
class ShowQuestion:
    """Teacher/admin, live: show a prepared question now (records the lesson clock)."""

    question_id: int


@dataclass(frozen=True, slots=True)
class CloseQuestion:
    question_id: int


@dataclass(frozen=True, slots=True)
class AnswerQuestion:
    """Student. Live while the question is open; otherwise a catch-up answer (after the
    session, or while live by a student who was not present when it was shown). One answer
    per student: repeating the same answer is a no-op, a different one is a Conflict."""

    question_id: int
    answer: Answer


# --- Q&A --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QnaAsk:
    text: str


@dataclass(frozen=True, slots=True)
class QnaUpvote:
    """Once per person; a repeated upvote is an idempotent no-op."""

    qna_id: int


@dataclass(frozen=True, slots=True)
class QnaUnvote:
    """Withdraw one's upvote; a no-op without one."""

    qna_id: int


@dataclass(frozen=True, slots=True)
class QnaMarkAnswered:
    """Teacher/admin."""

    qna_id: int


@dataclass(frozen=True, slots=True)
class QnaHide:
    """Teacher/admin, or a facilitator for a question asked from their own site."""

    qna_id: int


# --- hand queue and stage ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RaiseHand:
    """Student raises their own hand (a no-op if already raised: keeps the place)."""


@dataclass(frozen=True, slots=True)
class LowerHand:
    """Student lowers their own hand (a no-op if not raised)."""


@dataclass(frozen=True, slots=True)
class RaiseSiteHand:
    """Facilitator raises a hand for their room (entry kind "site")."""


@dataclass(frozen=True, slots=True)
class LowerSiteHand:
    """Facilitator lowers their room's hand."""


@dataclass(frozen=True, slots=True)
class DismissHand:
    """Teacher/admin lowers one entry: give exactly one of ``user_id`` / ``site_id``."""

    user_id: int | None = None
    site_id: int | None = None


@dataclass(frozen=True, slots=True)
class ClearHands:
    """Teacher/admin empties the queue."""


@dataclass(frozen=True, slots=True)
class BringOnStage:
    """Teacher/admin: a present user, or a site's room; exactly one of the two."""

    user_id: int | None = None
    site_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReturnFromStage:
    """Teacher/admin for anyone; a user for themself; a facilitator for their site."""

    user_id: int | None = None
    site_id: int | None = None


# --- reactions and quiet yes/no checks --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendReaction:
    reaction: str


@dataclass(frozen=True, slots=True)
class OpenCheck:
    """Teacher/admin opens a quiet yes/no prompt ("Can you all see the slide?")."""

    prompt: str


@dataclass(frozen=True, slots=True)
class AnswerCheck:
    """Student; a later answer replaces the earlier one."""

    check_id: int
    yes: bool


@dataclass(frozen=True, slots=True)
class CloseCheck:
    check_id: int


# --- slides -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShowSlide:
    """Teacher/admin: present page ``page`` (1-based) of the lesson's deck ``deck_id``
    (uploaded over HTTP). Showing the page already shown is a no-op."""

    deck_id: int
    page: int


@dataclass(frozen=True, slots=True)
class HideSlides:
    """Teacher/admin: stop presenting (a no-op when nothing is shown)."""


# --- chat ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendChat:
    """``to``: "everyone", "site" (the sender's own site) or "teacher" (private)."""

    text: str
    to: str = "everyone"


@dataclass(frozen=True, slots=True)
class DeleteChat:
    """Teacher/admin; a facilitator for messages sent from their site."""

    chat_id: int


@dataclass(frozen=True, slots=True)
class SetChat:
    """Turn chat on or off: for the lesson (teacher/admin, ``site_id`` None) or one site
    (teacher/admin, or that site's facilitator; a facilitator's None means their site)."""

    enabled: bool
    site_id: int | None = None


@dataclass(frozen=True, slots=True)
class MuteChat:
    """Mute (or unmute) one student's chat: teacher/admin, or the facilitator of their site."""

    user_id: int
    muted: bool = True


# --- moderation -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AskToMute:
    """Teacher/admin: ask one person to mute (their page mutes its microphone)."""

    user_id: int


@dataclass(frozen=True, slots=True)
class RemoveParticipant:
    """Teacher/admin: remove one person from the lesson; their sockets close and their link is
    refused for this lesson until ``AllowBack``."""

    user_id: int


@dataclass(frozen=True, slots=True)
class AllowBack:
    """Teacher/admin: let a removed person back in."""

    user_id: int


# --- recording ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartRecording:
    """Teacher/admin, live: start recording (everyone sees the indicator; students a notice)."""


@dataclass(frozen=True, slots=True)
class StopRecording:
    """Teacher/admin: stop recording (the end of the lesson stops it too)."""


# --- captions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GrantCaptioner:
    """Teacher/admin: let a staff member or a student type live captions."""

    user_id: int


@dataclass(frozen=True, slots=True)
class RevokeCaptioner:
    """Teacher/admin: take the captioner role back."""

    user_id: int


@dataclass(frozen=True, slots=True)
class AddCaption:
    """A captioner (or the teacher): one caption line; ``position`` is its start on the lesson
    clock (default: now; a little earlier is allowed)."""

    text: str
    position: float | None = None


Command = (
    StartSession | EndSession | Join | Leave
    | OpenPoll | AnswerPoll | ClosePoll | RevealPoll
    | PrepareQuestion | LaunchQuestion | ShowQuestion | CloseQuestion | AnswerQuestion
    | QnaAsk | QnaUpvote | QnaUnvote | QnaMarkAnswered | QnaHide
    | RaiseHand | LowerHand | RaiseSiteHand | LowerSiteHand | DismissHand | ClearHands
    | BringOnStage | ReturnFromStage
    | SendReaction | OpenCheck | AnswerCheck | CloseCheck
    | ShowSlide | HideSlides
    | SendChat | DeleteChat | SetChat | MuteChat
    | AskToMute | RemoveParticipant | AllowBack
    | StartRecording | StopRecording
    | GrantCaptioner | RevokeCaptioner | AddCaption
)  # fmt: skip
