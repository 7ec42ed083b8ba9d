"""One splitter for a section's text: paragraphs, lists and whole code fences.
Passages keep code with the sentence that introduces it; a quote keeps them
apart, as written, with every fence closed."""

from __future__ import annotations

from knowledge.docs.passages import blocks

TEXT = ("Pull the image first.\n\nAdd this to the compose file:\n\n```yaml\nservices:\n\n  web: {}\n```\n\n"
        "  - then restart it.")


def test_a_passage_block_keeps_code_with_the_sentence_that_introduces_it() -> None:
    assert blocks(TEXT) == ["Pull the image first.",
                            "Add this to the compose file:\n```yaml\nservices:\n\n  web: {}\n```",
                            "- then restart it."]


def test_a_quote_keeps_the_introduction_apart_and_each_block_as_written() -> None:
    assert blocks(TEXT, join_intros=False, quoting=True) == [
        "Pull the image first.", "Add this to the compose file:", "```yaml\nservices:\n\n  web: {}\n```",
        "  - then restart it."]


def test_only_a_bare_fence_at_least_as_long_closes_a_code_block() -> None:
    text = "````\n```python\n```\nprint(1)\n````\nAfter."
    assert blocks(text) == ["````\n```python\n```\nprint(1)\n````", "After."]
    assert blocks("```\n```python\nprint(1)\n```\nAfter.") == ["```\n```python\nprint(1)\n```", "After."]


def test_a_fence_left_open_is_closed_for_a_quote_but_a_passage_keeps_the_text_it_was_given() -> None:
    assert blocks("Run:\n\n~~~\nmake") == ["Run:\n~~~\nmake"]
    assert blocks("Run:\n\n~~~\nmake", join_intros=False, quoting=True) == ["Run:", "~~~\nmake\n~~~"]
