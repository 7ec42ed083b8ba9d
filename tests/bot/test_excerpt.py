"""A docs answer reads like a reply: the passage that answers, about 700
characters, whole sentences or a whole code block, then where to read on."""

from __future__ import annotations

import re

from bot.compose import Composer
from bot.excerpt import QUOTE_CHARS, excerpt
from knowledge.entries import Entry

SENTENCES = " ".join(f"Sentence number {n} explains one more detail of the setup." for n in range(30))
RELATIVE = re.compile(r"\]\((?!https?://)")


def section(answer: str, url: str | None = "https://docs.example.org/setup/#docker") -> Entry:
    return Entry(id="docs:docs/setup.md#docker", space="default", version=1, status="live",
                 questions=("Installation > Docker",), answer=answer, url=url,
                 section="docs/setup.md#Installation > Docker")


def test_a_long_passage_is_cut_at_a_sentence_within_the_limit() -> None:
    quote = excerpt(SENTENCES)
    assert len(quote) <= QUOTE_CHARS and quote.endswith("setup.")
    assert quote.startswith("Sentence number 0")


def test_a_code_block_is_kept_whole_or_cut_on_a_line_with_its_fence_closed() -> None:
    code = "\n".join(f"  line_{n}: value" for n in range(80))
    quote = excerpt(f"Add this to the compose file:\n\n```yaml\n{code}\n```\n\nThen restart.")
    assert quote.count("```") == 2 and quote.rstrip().endswith("```") and len(quote) <= QUOTE_CHARS
    short = excerpt("Run it:\n\n```shell\ndocker compose pull\ndocker compose up -d\n```\n\nDone.")
    assert "docker compose pull\ndocker compose up -d\n```" in short and short.endswith("Done.")


def test_images_are_dropped_and_links_stay_absolute() -> None:
    text = "See [the guide](https://docs.example.org/guide/) first. ![screenshot](https://docs.example.org/a.png)"
    quote = excerpt(text)
    assert "screenshot" not in quote and "[the guide](https://docs.example.org/guide/)" in quote


def test_the_answer_quotes_the_best_passage_then_links_the_section() -> None:
    composer = Composer()
    text = composer.docs_answer(section("First passage.\n\nSecond passage."), ["The passage that answers.",
                                                                               "Another one."])
    assert text == "The passage that answers.\n\nMore: https://docs.example.org/setup/#docker"
    assert not RELATIVE.search(text)
    unlinked = composer.docs_answer(section("Text.", url=None), ["Text."])
    assert unlinked.endswith("More: docs/setup.md#Installation > Docker")


def test_hard_wrapped_prose_reads_as_one_paragraph_but_lists_keep_their_lines() -> None:
    quote = excerpt("Extracting a new release on top of an existing\ninstallation only adds and\n"
                    "overwrites files.\n\n- first step\n  wrapped on\n- second step")
    assert quote.startswith("Extracting a new release on top of an existing installation only adds and "
                            "overwrites files.")
    assert "- first step wrapped on\n- second step" in quote


def test_a_fence_line_with_more_after_it_is_code_not_the_end_of_the_block() -> None:
    quote = excerpt("Write the fence like this:\n\n```\n```python\nprint('hi')\n```\n\nThat is the whole file.")
    assert "```\n```python\nprint('hi')\n```\n\nThat is the whole file." in quote
    assert quote.count("```") == 3 and quote.endswith("That is the whole file.")


def test_a_fence_the_passage_leaves_open_is_closed_in_the_quote() -> None:
    quote = excerpt("Start it:\n\n~~~shell\ndocker compose up -d")
    assert quote == "Start it:\n\n~~~shell\ndocker compose up -d\n~~~"
    code = "\n".join(f"line_{n} = {n}" for n in range(80))
    cut = excerpt(f"```python\n{code}")
    assert cut.startswith("```python\nline_0 = 0\n") and cut.endswith("\n```") and cut.count("```") == 2
    assert len(cut) <= QUOTE_CHARS


def test_a_nested_list_item_in_its_own_paragraph_keeps_its_indent() -> None:
    quote = excerpt("- Install the package.\n\n  - On Debian, use apt.\n\n- Start the service.")
    assert quote == "- Install the package.\n\n  - On Debian, use apt.\n\n- Start the service."


def test_a_cut_block_opened_with_four_backticks_is_closed_with_four() -> None:
    code = "\n".join(["````markdown", *(f"```python\nprint({n})\n```" for n in range(120)), "````"])
    quoted = excerpt(code)
    assert len(quoted) <= QUOTE_CHARS and quoted.startswith("````markdown")
    assert quoted.endswith("\n````"), "a ``` would not close a ```` block: the rest of the answer would be code"
