"""A Slack workspace export read into pending question/answer drafts."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from knowledge.threads.importer import read_export
from knowledge.threads.slack import plain_text
from knowledge.threads.source import ExportError
from tests.knowledge.threads.conftest import SLACK, SLACK_STAFF, redacted

URL = "https://tidepool.slack.com"


def read(path: Path = SLACK, **options: object):  # type: ignore[no-untyped-def]
    return read_export(path, staff=SLACK_STAFF, redact=redacted, workspace_url=URL, **options)  # type: ignore[arg-type]


def test_threads_staff_answered_become_pending_drafts_with_provenance() -> None:
    reading = read()
    assert reading.kind == "slack" and reading.staff_seen
    by_id = {d.id: d for d in reading.drafts}
    assert sorted(by_id) == ["slack-C0GENERAL1-1714644000000100", "slack-C0HELP0001-1714640400000100",
                             "slack-C0HELP0001-1714665600000100", "slack-C0HELP0001-1714689600000100"]
    export = by_id["slack-C0HELP0001-1714640400000100"]
    assert export.status == "pending"
    # The question sentence first (the entry's title), then the whole question with the clarification.
    assert export.questions == (
        "How do I export my boards to CSV?",
        "How do I export my boards to CSV? I looked in the File menu & there's no export option "
        "I'm on the desktop app, 3.2 on Windows. My account is [email] if that helps")
    # The edited answer as it reads now; the greeting mention, the thanks and "glad it helped" are gone.
    assert export.answer == ("On desktop it's under *Settings → Data → Export boards*; pick CSV and the boards "
                             "you want. The web app has the same under your avatar menu.")
    assert export.provenance == {
        "platform": "slack", "channel": "#help", "channel_id": "C0HELP0001", "thread": "1714640400.000100",
        "date": "2024-05-02", "answered_by": "Dana", "export": "slack_export",
        "link": "https://tidepool.slack.com/archives/C0HELP0001/p1714640400000100"}


def test_a_question_back_and_a_later_day_file_make_one_thread() -> None:
    limits = {d.id: d for d in read().drafts}["slack-C0HELP0001-1714689600000100"]
    # Mo's "Which plan are you on?" is not the answer; Bob's "Team plan" clarifies the question.
    assert limits.questions[1].endswith("Team plan. Token is in env as SLACK_BOT_TOKEN=[slack token]")
    assert limits.answer.startswith("On Team the API allows 100 requests a minute per token.")
    assert limits.answer.endswith("See rate limits (https://docs.tidepool.example/api/limits).")
    assert limits.provenance["answered_by"] == "mo"  # type: ignore[index]


def test_when_an_answer_did_not_work_the_one_that_did_is_the_answer() -> None:
    calendar = {d.id: d for d in read().drafts}["slack-C0HELP0001-1714665600000100"]
    assert "Still getting the same error" in calendar.questions[-1]
    assert calendar.answer.startswith("A 403 means Google withdrew our access.")
    assert "signing out and in again" not in calendar.answer
    # A member named in the answer is "someone"; staff keep their name.
    assert "As someone found last week" in calendar.answer and "Ask @mo if it persists." in calendar.answer


def test_what_holds_no_staff_answer_is_passed_over_and_counted() -> None:
    assert read().passed_over.counts == {
        "threads with no staff answer": 2,  # only members replied; staff only joked about #off-topic
        "threads opened by staff, not a member's question": 1,
        "threads opened by a bot": 1,
        "threads whose opening message was deleted": 1,
        "threads whose opening message is not in the export (earlier than its dates)": 1,
        "system messages (joins, pins, thread notices …)": 1,
    }


def test_personal_data_secrets_and_member_names_never_reach_a_draft() -> None:
    texts = [t for d in read().drafts for t in (*d.questions, d.answer)]
    everything = "\n".join(texts)
    for leak in ("ann.lee@example.com", "xoxb-", "QnR4bGxTaGFyZWRTZWNyZXQx", "<@", "<!here>", "@here",
                 "Ann", "ann.lee", "Bob", "bobm", "carl", "&amp;"):
        assert leak not in everything, leak


def test_a_zipped_export_reads_the_same(tmp_path: Path) -> None:
    archive = tmp_path / "Tidepool Slack export May 1 2024 - May 3 2024.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for file in SLACK.rglob("*.json"):
            out.write(file, f"Tidepool Slack export/{file.relative_to(SLACK).as_posix()}")
    from_zip, from_folder = read(archive), read()
    assert [d.answer for d in from_zip.drafts] == [d.answer for d in from_folder.drafts]
    assert from_zip.drafts[0].provenance["export"] == archive.name  # type: ignore[index]


def test_channels_can_be_chosen_and_a_wrong_name_is_refused() -> None:
    assert all(d.provenance["channel"] == "#help" for d in read(channels=["#help"]).drafts)  # type: ignore[index]
    with pytest.raises(ExportError, match=r"no channel named helpdesk \(it has general, help, off-topic\)"):
        read(channels=["helpdesk"])


def test_without_a_workspace_url_there_is_no_link() -> None:
    reading = read_export(SLACK, staff=SLACK_STAFF, redact=redacted)
    assert all("link" not in d.provenance for d in reading.drafts)  # type: ignore[operator]


def test_broken_json_names_the_file_and_the_line(slack_copy: Path) -> None:
    day = slack_copy / "help" / "2024-05-03.json"
    lines = day.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].rstrip(",")  # a missing comma on line 6
    day.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ExportError, match=r"^help/2024-05-03\.json line 7: Expecting ',' delimiter"):
        read(slack_copy)


def test_a_field_of_the_wrong_type_names_its_json_path(slack_copy: Path) -> None:
    day = slack_copy / "help" / "2024-05-02.json"
    messages = json.loads(day.read_text(encoding="utf-8"))
    messages[3]["thread_ts"] = 1714640400.0001
    day.write_text(json.dumps(messages, indent=4), encoding="utf-8")
    with pytest.raises(ExportError, match=r"^help/2024-05-02\.json line \d+, \[3\]\.thread_ts: must be a Slack "
                                          r"timestamp, found float"):
        read(slack_copy)


def test_a_folder_without_the_export_files_is_named(tmp_path: Path) -> None:
    shutil.copytree(SLACK / "help", tmp_path / "help")
    (tmp_path / "users.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ExportError, match="not a Slack export"):
        read(tmp_path)


def test_slack_markup_reads_as_plain_text() -> None:
    text = ("<@U0STAFF001|dana> see <#C0HELP0001|help>, <https://x.example/a?b=1&amp;c=2|the guide> and "
            "<https://x.example/raw>; mail <mailto:help@x.example|help@x.example> <!here> <!subteam^S01|@support> "
            "&lt;tag&gt; on <!date^1714640400^{date}|May 2nd>")
    assert plain_text(text) == ("<@U0STAFF001> see #help, the guide (https://x.example/a?b=1&c=2) and "
                                "https://x.example/raw; mail help@x.example  @support <tag> on May 2nd")
