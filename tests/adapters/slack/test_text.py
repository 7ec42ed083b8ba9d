"""Slack markup in, escaped text out, composite ids and thread links."""

from __future__ import annotations

from adapters.slack import ids
from adapters.slack.text import chunks, escape, link, to_plain


def test_markup_becomes_the_words_a_person_reads() -> None:
    text = ("<@UBOT> hi <@U1> and <@U2|bob>, see <#C1|general> and <https://x.example/a?b=1&amp;c=2|the docs> "
            "or <https://y.example> or <mailto:a@b.example|a@b.example> &lt;code&gt; <!here> "
            "<!subteam^S1|@support> <!date^1392734382^{date}|Feb 18>")

    plain = to_plain(text, names={"U1": "Ann"}, drop_user="UBOT")

    assert plain == ("hi @Ann and @bob, see #general and the docs (https://x.example/a?b=1&c=2) "
                     "or https://y.example or a@b.example <code> @here @support Feb 18")


def test_escaping_leaves_nothing_live() -> None:
    out = escape("<!channel> @here <!subteam^S1|@team> <https://evil.example|click> & <@U1>")

    assert "<" not in out
    assert ">" not in out
    assert "&amp;" in out
    assert "&lt;@U1&gt;" in out
    assert "@here" not in out
    assert "@\u200bhere" in out


def test_links_we_build_are_links_only_for_http_urls() -> None:
    assert link("https://docs.example/a?b=1&c=2", "Keys <and> |pipes|") == \
        "<https://docs.example/a?b=1&amp;c=2|Keys &lt;and&gt; ¦pipes¦>"
    assert link("javascript:alert(1)", "x") == "x"
    assert link(None, "plain") == "plain"


def test_long_text_is_cut_into_sections_without_splitting_an_entity() -> None:
    text = "a" * 2998 + "&amp;" + "b" * 10 + "\nshort line"

    pieces = chunks(text, 3000)

    assert all(len(p) <= 3000 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    assert pieces[0].endswith("a")
    assert pieces[1].startswith("&amp;")


def test_composite_ids_round_trip() -> None:
    assert ids.split(ids.ref("C123", "1700000000.000100")) == ("C123", "1700000000.000100")
    assert ids.split("card:C1:1.2") is None
    assert ids.split("dm:U1") is None
    assert ids.split(None) is None
    assert ids.thread_of("C1", "2.0", "1.0") == "C1:1.0"
    assert ids.thread_of("C1", "1.0", "1.0") is None
    assert ids.thread_of("C1", "1.0", None) is None


def test_a_thread_link_names_the_thread_root() -> None:
    root = "https://acme.slack.com/archives/C0123/p1700000000000100"
    reply = "https://acme.slack.com/archives/C0123/p1700000050000200?thread_ts=1700000000.000100&cid=C0123"

    assert ids.thread_from_link(root) == "C0123:1700000000.000100"
    assert ids.thread_from_link(f"<{reply}>") == "C0123:1700000000.000100"
    assert ids.thread_from_link("no link here") is None
