"""What a thread's question and answer are, told as small conversations."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from knowledge.entries import Draft
from knowledge.threads.model import Person, Post, Staff, Thread
from knowledge.threads.qa import Skipped, is_redirect, is_social, to_draft

MEMBER = Person("U1", "ann", aliases=("Ann Lee",))
OTHER = Person("U2", "bob")
DANA = Person("S1", "Dana", roles=("Support",))
MO = Person("S2", "Mo", aliases=("mokhan",))
BOT = Person("B1", "helperbot", bot=True)
PEOPLE = {p.id: p for p in (MEMBER, OTHER, DANA, MO, BOT)}
STAFF = Staff.named(["S1", "@MoKhan"])


def thread(*turns: tuple[Person, str] | tuple[Person, str, set[str]]) -> Thread:
    start = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
    ids = itertools.count(1)
    posts = tuple(Post(id=str(next(ids)), author=t[0], at=start + timedelta(minutes=n), text=t[1],
                       accepted_by=frozenset(t[2]) if len(t) == 3 else frozenset())  # type: ignore[misc]
                  for n, t in enumerate(turns))
    return Thread(platform="slack", channel_id="C1", channel="#help", posts=posts)


def entry(t: Thread) -> Draft:
    found = to_draft(t, staff=STAFF, people=PEOPLE, redact=lambda s: s)
    assert isinstance(found, Draft), found
    return found


def skipped(t: Thread) -> str:
    found = to_draft(t, staff=STAFF, people=PEOPLE, redact=lambda s: s)
    assert isinstance(found, Skipped), found
    return found.why


def test_staff_are_named_by_id_name_or_role_and_a_bot_never_is() -> None:
    assert DANA in STAFF and MO in STAFF  # by id; by user name, any case, "@" ignored
    assert MEMBER not in STAFF and OTHER not in STAFF
    assert DANA in Staff.named(roles=["support"]) and MO not in Staff.named(roles=["support"])
    assert Person("B9", "Dana", bot=True) not in Staff.named(["Dana"])
    assert not Staff() and Staff.named(["x"])


def test_the_replies_the_member_marked_are_the_answer() -> None:
    found = entry(thread((MEMBER, "How do I change my avatar?"),
                         (MO, "You can upload one in Profile → Picture, PNG or JPG."),
                         (DANA, "Or drag an image onto your avatar in the sidebar.", {"U1"}),
                         (MEMBER, "the drag one worked")))
    assert found.answer == "Or drag an image onto your avatar in the sidebar."
    assert found.provenance["answered_by"] == "Dana"  # type: ignore[index]


def test_a_question_back_that_fixed_it_is_the_answer() -> None:
    found = entry(thread((MEMBER, "Sync is stuck on my phone"),
                         (DANA, "Have you tried turning background refresh on for the app?"),
                         (MEMBER, "that was it, thanks!")))
    assert found.answer == "Have you tried turning background refresh on for the app?"


def test_a_new_question_after_the_answer_ends_the_thread() -> None:
    found = entry(thread((MEMBER, "How do I archive a board?"),
                         (DANA, "Board menu → Archive. Archived boards stay searchable."),
                         (MEMBER, "ok and how do I delete one for good?"),
                         (DANA, "Archive it first, then delete it from Archived boards.")))
    assert found.answer == "Board menu → Archive. Archived boards stay searchable."
    assert found.questions == ("How do I archive a board?",)


def test_bystanders_bots_and_social_replies_are_neither_question_nor_answer() -> None:
    found = entry(thread((MEMBER, "Hi all, where do I find my invoices?"),
                         (OTHER, "same question, also where are receipts"),
                         (BOT, "I've passed this to the team."),
                         (DANA, "<@U1> Billing → Invoices; each has a PDF."),
                         (DANA, "hope that helps :slightly_smiling_face:"),
                         (MEMBER, "thanks!")))
    assert found.questions == ("where do I find my invoices?",)
    assert found.answer == "Billing → Invoices; each has a PDF."


def test_threads_with_no_member_question_or_no_staff_answer_are_skipped() -> None:
    assert skipped(thread((DANA, "We ship 3.3 today"), (MEMBER, "nice"))) == "opened by staff, not a member's question"
    assert skipped(thread((BOT, "Reminder"), (DANA, "Thanks"))) == "opened by a bot"
    assert skipped(thread((MEMBER, "Anyone watching the match?"), (DANA, "ha, that one is for #off-topic"),
                          (DANA, "lol"))) == "with no staff answer"
    assert skipped(thread((MEMBER, "<@S1>"), (DANA, "Yes?"))) == "with no question text (only a file, or deleted)"


def test_a_redirect_or_thanks_teaches_nothing_but_a_link_does() -> None:
    assert is_social("Thanks so much!! 🙏") and is_social("let me know if that helps")
    assert is_redirect("Ha, see #off-topic") and not is_redirect("See https://docs.example.com/#limits")
    assert not is_social("https://docs.example.com/billing") and not is_social("Try `--force`")
