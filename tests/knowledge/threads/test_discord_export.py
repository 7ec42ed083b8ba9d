"""DiscordChatExporter JSON exports read into pending question/answer drafts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.threads.importer import read_export
from knowledge.threads.source import ExportError, export_kind
from tests.knowledge.threads.conftest import DISCORD, DISCORD_STAFF, redacted

HELP_FILE = "Tidepool - Support - help [1100000000000000001].json"
THREAD_FILE = "Tidepool - help - Upload stuck at 99% [1400000000000000001].json"


def read(path: Path = DISCORD, **options: object):  # type: ignore[no-untyped-def]
    return read_export(path, staff=DISCORD_STAFF, redact=redacted, **options)  # type: ignore[arg-type]


def drafts(path: Path = DISCORD) -> dict[str, object]:
    return {d.id: d for d in read(path).drafts}  # type: ignore[misc]


def test_a_reply_chain_accepted_with_a_check_mark_becomes_a_draft() -> None:
    calendar = drafts()["discord-1100000000000000001-1500000000000000002"]
    assert calendar.questions == ("how do I connect my Outlook calendar?",  # type: ignore[attr-defined]
                                  "how do I connect my Outlook calendar? I'm on the web app")
    assert calendar.answer == ("Go to Settings → Integrations → Calendar and choose Microsoft. "  # type: ignore[attr-defined]
                               "Events sync every 15 minutes.")
    assert calendar.provenance == {  # type: ignore[attr-defined]
        "platform": "discord", "channel": "#help", "channel_id": "1100000000000000001",
        "thread": "1500000000000000002", "date": "2024-05-02", "answered_by": "Dana", "export": HELP_FILE,
        "link": "https://discord.com/channels/1000000000000000001/1100000000000000001/1500000000000000002"}


def test_a_thread_opened_from_a_message_uses_that_message_and_the_thread_name() -> None:
    upload = drafts()["discord-1400000000000000001-1400000000000000001"]
    assert upload.questions[0] == "Upload stuck at 99%"  # type: ignore[attr-defined]
    assert "Is there a size limit?" in upload.questions  # type: ignore[attr-defined]
    assert upload.answer.startswith("Yes: uploads are capped at 2 GB per file")  # type: ignore[attr-defined]
    # Mo is staff by role; the link opens the starter in #help.
    assert upload.provenance["answered_by"] == "Mo"  # type: ignore[attr-defined]
    assert upload.provenance["link"].endswith("/1100000000000000001/1400000000000000001")  # type: ignore[attr-defined]


def test_a_forum_post_keeps_its_clarification_not_the_question_back() -> None:
    guests = drafts()["discord-1700000000000000001-1700000000000000001"]
    assert guests.questions[0] == "Can guests comment on boards?"  # type: ignore[attr-defined]
    assert guests.questions[-1].endswith("Is that expected? Guest (view only)")  # type: ignore[attr-defined]
    assert guests.answer.startswith("View-only guests can't comment.")  # type: ignore[attr-defined]
    assert guests.provenance["channel"] == "#questions"  # type: ignore[attr-defined]


def test_a_deleted_users_question_is_kept_with_mentions_and_personal_data_removed() -> None:
    invoice = drafts()["discord-1100000000000000001-1500000000000000008"]
    assert invoice.questions[-1].endswith("mail me at [email]")  # type: ignore[attr-defined]
    # Raw <@id> mentions (--markdown false): the greeting goes, a member becomes "someone".
    assert invoice.answer == ("yes: add it under Billing → Company details and every invoice after that "  # type: ignore[attr-defined]
                              "shows it. someone asked the same last month.")


def test_private_threads_bots_and_unanswered_questions_make_no_entry() -> None:
    reading = read()
    assert len(reading.drafts) == 4
    assert reading.passed_over.counts == {
        "private threads and direct conversations not read": 1,
        "system messages (joins, pins, thread notices …)": 3,
        "replies to messages not in the export": 1,
        "threads with no staff answer": 1,
        "threads opened by a bot": 1,
        "threads with no question text (only a file, or deleted)": 1,
    }
    assert not any("refund" in q for d in reading.drafts for q in d.questions)


def test_nothing_personal_or_platform_specific_reaches_a_draft() -> None:
    everything = "\n".join(t for d in read().drafts for t in (*d.questions, d.answer))
    for leak in ("gone@example.net", "<@", "<:tidepool:", "@ann", "annlee", "Bob", "@Dana", "Deleted User"):
        assert leak not in everything, leak


def test_one_file_reads_alone_and_a_thread_without_its_parent_says_why(tmp_path: Path) -> None:
    assert export_kind(DISCORD / HELP_FILE) == "discord"
    alone = read(DISCORD / HELP_FILE)
    assert [d.id for d in alone.drafts] == ["discord-1100000000000000001-1500000000000000002",
                                             "discord-1100000000000000001-1500000000000000008"]
    thread_only = read(DISCORD / THREAD_FILE)
    assert thread_only.drafts == [] and thread_only.passed_over.counts[
        "threads whose opening message is in a channel not in this import (export the parent channel too)"] == 1


def test_a_message_with_a_missing_author_id_names_its_json_path(discord_copy: Path) -> None:
    path = discord_copy / HELP_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["messages"][2]["author"]["id"]
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ExportError, match=r"^Tidepool - Support - help \[1100000000000000001\]\.json line \d+, "
                                          r"messages\[2\]\.author\.id: must be a text, found nothing"):
        read(discord_copy)


def test_a_truncated_file_names_its_line(discord_copy: Path) -> None:
    path = discord_copy / THREAD_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ExportError, match=r"Upload stuck at 99% \[1400000000000000001\]\.json line \d+: .*not valid JSON"):
        read(discord_copy)


def test_a_knowledge_json_list_is_no_discord_export(tmp_path: Path) -> None:
    faq = tmp_path / "faq.json"
    faq.write_text('[{"questions": ["q?"], "answer": "a"}]', encoding="utf-8")
    assert export_kind(faq) is None and export_kind(DISCORD) == "discord"


def test_channels_can_be_chosen_threads_by_their_parent() -> None:
    reading = read(channels=["#questions"])
    assert [d.id for d in reading.drafts] == ["discord-1700000000000000001-1700000000000000001"]
    assert {d.provenance["channel"] for d in read(channels=["help"]).drafts} == {"#help"}  # type: ignore[index]
    with pytest.raises(ExportError, match=r"no channel named general \(it has help, questions\)"):
        read(channels=["general"])
