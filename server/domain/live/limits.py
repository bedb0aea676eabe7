"""Size and rate limits of a live session, with defaults (all in one place)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_REACTIONS = frozenset({"thumbs_up", "thumbs_down", "clap", "heart", "laugh", "surprised"})


@dataclass(frozen=True, slots=True)
class Limits:
    """Every bound the live session enforces. Pass your own to ``LiveAggregate(limits=...)``."""

    min_options: int = 2
    max_options: int = 10
    max_option_length: int = 200
    max_prompt_length: int = 500
    max_text_answer_length: int = 280
    """Upper bound for a short-text answer (a poll may set a smaller one)."""
    max_polls: int = 200
    max_questions: int = 200
    max_checks: int = 200
    max_qna_items: int = 1000
    max_qna_per_user: int = 50
    max_qna_text_length: int = 500
    max_on_stage: int = 4
    max_text_groups: int = 20
    """How many distinct short-text answers a results view lists (most frequent first)."""
    max_abs_number: float = 1e12
    """Numeric answers and bounds must lie within +/- this."""
    max_position_seconds: float = 24 * 3600.0
    """Latest lesson-clock position of a prepared embedded question."""
    max_deck_id: int = 2**31 - 1
    max_slide_pages: int = 10_000
    """Highest page number ``slides.show`` accepts (the upload's own page limit is lower)."""
    max_slide_changes: int = 20_000
    """Page changes kept per lesson (one every 5 s for over a day); more are refused."""
    reactions: frozenset[str] = field(default=DEFAULT_REACTIONS)
    reaction_cooldown_seconds: float = 1.0
    """A participant's next reaction within this many seconds is refused (Conflict)."""
    max_chat_length: int = 500
    max_chat_messages: int = 20_000
    chat_rate_per_second: float = 0.5
    """A person's chat bucket refills one message every two seconds..."""
    chat_burst: int = 5
    """...and holds at most this many (a short burst is fine, a flood is refused)."""
    chat_recent: int = 200
    """How many of the latest messages a (re)joining page gets in its snapshot."""
    max_name_length: int = 80
    max_caption_length: int = 300
    max_captions: int = 20_000
    caption_rate_per_second: float = 2.0
    caption_burst: int = 10
    max_caption_backdate_seconds: float = 30.0
    """How far back a captioner may place a caption's start (typing lags the speaker)."""
    captions_recent: int = 20
    """How many of the latest captions a (re)joining page gets in its snapshot."""
