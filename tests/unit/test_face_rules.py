"""Issue 16's pure rules: what the calendar shows per display choice, how an Outlook answer is read, how a round's
work is named in "last synced via", and texts said once and cut at a word."""

from __future__ import annotations

import dataclasses

import pytest

from calsync.core.connection import RECONNECT_FIX, reason_without_fix
from calsync.core.entry import BUSY_TITLE, Display, render
from calsync.core.model import RsvpStatus
from calsync.core.plan import AdoptCalendarAnswer, Create, MarkInSync, RecordRemote, SetTombstone, Update
from calsync.core.validation import shorten
from calsync.providers.microsoft.entries import FROM_SHOW_AS, SHOW_AS, answer_of, entry_body
from calsync.sync.entry_jobs import sync_via
from tests.sync.factories import ctx, event

A = RsvpStatus.ACCEPTED


def rendered(display: Display) -> object:
    content = render(event(), A, dataclasses.replace(ctx(), display=display))
    assert content is not None
    return content


def test_full_details_is_the_default_and_shows_everything() -> None:
    """Full details: the title, the description with the event page's link, the place."""
    content = rendered(Display.FULL)
    assert content == render(event(), A, ctx())
    assert (content.title, content.location) == ("Launch party", "Hall A")  # type: ignore[attr-defined]
    assert content.description.startswith("Bring friends") and "Event page: " in content.description  # type: ignore[attr-defined]


def test_title_and_time_only_drops_description_and_place() -> None:
    """Title and time only: the title stays; no description, no place; the times are unchanged."""
    full, short = rendered(Display.FULL), rendered(Display.TITLE_TIME)
    assert (short.title, short.description, short.location) == ("Launch party", "", "")  # type: ignore[attr-defined]
    assert (short.start, short.end, short.response) == (full.start, full.end, full.response)  # type: ignore[attr-defined]


def test_busy_only_says_busy_and_nothing_else() -> None:
    """Busy only: the title "Busy", no description or place; the answer and times still written."""
    busy = rendered(Display.BUSY)
    assert (busy.title, busy.description, busy.location) == (BUSY_TITLE, "", "")  # type: ignore[attr-defined]
    assert busy.response is A and busy.start == rendered(Display.FULL).start  # type: ignore[attr-defined]


def test_each_choice_changes_the_fingerprint() -> None:
    """The engine updates existing entries because a new choice renders to a new fingerprint."""
    prints = {rendered(d).fingerprint() for d in Display}  # type: ignore[attr-defined]
    assert len(prints) == len(Display)


def test_outlook_free_means_maybe_not_no() -> None:
    """Show as Free is read as tentative ("I may drop in"), Busy as accepted; nothing is read as declined."""
    assert answer_of({"showAs": "free"}) is RsvpStatus.TENTATIVE
    assert answer_of({"showAs": "busy"}) is RsvpStatus.ACCEPTED
    assert answer_of({"showAs": "tentative"}) is RsvpStatus.TENTATIVE
    assert RsvpStatus.DECLINED not in FROM_SHOW_AS.values()
    assert SHOW_AS == {RsvpStatus.ACCEPTED: "busy", RsvpStatus.TENTATIVE: "tentative"}


@pytest.mark.parametrize("display", list(Display))
def test_outlook_entry_body_says_how_to_answer(display: Display) -> None:
    """Every Outlook entry's body says how to answer there, and where to decline, whatever it shows."""
    content = render(event(), A, dataclasses.replace(ctx(), display=display))
    assert content is not None
    body = entry_body(content)["body"]["content"]
    assert "Show as Busy = going, Tentative or Free = maybe" in body
    assert f"Not going? Decline on the event page: {content.link}" in body


def test_sync_via_names_the_round_work() -> None:
    """A write is a push, a change read from the calendar a poll, either in a full reconcile a resync; recording
    an echo or a version is nothing to report."""
    content = render(event(), A, ctx())
    assert content is not None
    write = Update("p1", "primary", content, None)
    assert sync_via([write, MarkInSync(1)], full=False) == "push"
    assert sync_via([Create(content, "primary", 0), MarkInSync(1)], full=True) == "resync"
    assert sync_via([AdoptCalendarAnswer(A, 1), RecordRemote("e", A), MarkInSync(2)], full=False) == "poll"
    assert sync_via([SetTombstone(), MarkInSync(1)], full=False) == "poll"
    assert sync_via([RecordRemote("e2", A), MarkInSync(1)], full=False) is None
    assert sync_via([RecordRemote("e2", A), MarkInSync(1)], full=True) is None


def test_reason_without_fix_says_the_fix_nowhere() -> None:
    """The engine appends the reconnect fix to a reason; pages that say the fix themselves get the reason only."""
    assert reason_without_fix(f"Google says the access was revoked. {RECONNECT_FIX}") == (
        "Google says the access was revoked."
    )
    assert reason_without_fix("the token expired") == "the token expired."
    assert reason_without_fix(None) == "Your calendar connection stopped working."
    assert reason_without_fix(RECONNECT_FIX) == "Your calendar connection stopped working."


def test_shorten_cuts_at_a_word() -> None:
    """A long provider error is cut at a word with "…", never mid-word; short text is left alone."""
    text = "the TokensValidFrom date (before which tokens are not valid) for this user is later than the grant"
    cut = shorten(text, 60)
    assert len(cut) <= 60 and cut.endswith("…")
    assert cut[:-1].split()[-1] in text.split()
    assert shorten("short", 60) == "short"
    assert shorten("x" * 100, 10) == "x" * 9 + "…"
