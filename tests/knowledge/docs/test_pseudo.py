"""The rows a docs folder makes of itself to adapt the encoder: every text
stands for its own section, in a fixed order, and only live docs sections
give any."""

from __future__ import annotations

from knowledge.docs.pseudo import pseudo_queries, section_texts
from knowledge.entries import LIVE, RETIRED, Entry


def section(entry_id: str, path: str, answer: str, *, status: str = LIVE, docs: bool = True) -> Entry:
    return Entry(id=entry_id, space="default", version=1, status=status, questions=(path,), answer=answer,
                 section=f"docs/page.md#{path}" if docs else None)


def test_a_section_stands_for_itself_by_its_heading_path_heading_and_passages() -> None:
    texts = section_texts("Installing > Docker",
                          "Pull the image first. Then start it with docker compose up -d and open port 8080.")
    assert texts == [
        "Installing > Docker",
        "Docker",
        "Pull the image first. Then start it with docker compose up -d and open port 8080.",
        "Then start it with docker compose up -d and open port 8080.",
    ]


def test_a_top_heading_and_a_short_passage_add_no_repeats_or_fragments() -> None:
    assert section_texts("Troubleshooting", "See below.") == ["Troubleshooting"]


def test_only_live_docs_sections_give_rows_in_the_order_of_their_ids() -> None:
    entries = [
        section("docs:b", "Guide > Updating", "Pull the new image and restart the container to update."),
        section("faq-refund", "How do I get a refund?", "Write to billing within 30 days.", docs=False),
        section("docs:c", "Guide > Old", "This section was removed from the docs long ago.", status=RETIRED),
        section("docs:a", "Guide > Backups", "Copy the data folder somewhere safe every night."),
    ]
    rows = pseudo_queries(entries)
    assert [e for _, e in rows] == ["docs:a"] * 3 + ["docs:b"] * 3
    assert rows[0] == ("Guide > Backups", "docs:a")
    assert pseudo_queries(list(reversed(entries))) == rows
