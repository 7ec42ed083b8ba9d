"""Knowledge files that are broken, hostile or huge: one bad entry is named
and skipped while the rest imports; an alias bomb is refused in bounded
memory; a large file streams; nothing silently imports nothing."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from knowledge.files import KnowledgeFileError, iter_file, parse_json, parse_yaml, read_file
from knowledge.jsonstream import JsonStreamError, iter_array

ROOT = Path(__file__).resolve().parents[2]

GOOD_AND_BAD = """\
- id: first
  questions: ["How do I export my data?"]
  answer: "Settings → Data → Export."
- id: broken-status
  questions: ["Is there a dark mode?"]
  answer: "Yes."
  status: [live]
- id: third
  questions: ["Can I change my username?"]
  answer: "Yes, once a month."
  status: {live: true}
- id: fourth
  questions: ["Where are invoices?"]
  answer: "Billing → Invoices."
"""

BOMB = """\
- id: fine
  questions: ["How do I rotate my API key?"]
  answer: "Settings → API → Rotate."
- id: bomb
  questions: ["boom?"]
  answer: "boom"
  review_after:
    - &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
    - &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    - &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    - &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    - &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
    - &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
    - &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
    - &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
    - &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
- id: bomb-again
  questions: ["boom again?"]
  answer: "boom"
  review_after: [*i, *i]
- id: after
  questions: ["Where are invoices?"]
  answer: "Billing → Invoices."
"""


def test_a_malformed_status_is_skipped_by_name_and_the_rest_imports() -> None:
    parsed = parse_yaml(GOOD_AND_BAD, source="kb.yaml")
    assert [d.id for d in parsed.drafts] == ["first", "fourth"]
    reasons = [str(p) for p in parsed.problems]
    assert len(reasons) == 2
    assert reasons[0].startswith("kb.yaml item 2 (line 4): `status` must be one of live, pending, retired")
    assert "['live']" in reasons[0]
    assert reasons[1].startswith("kb.yaml item 3 (line 8): `status`")


MISSPELT = """\
- id: archive
  questions: ["How do I archive a notebook?"]
  answer: "Notebook menu → Archive."
  reviw_after: 2020-01-01
- id: refunds
  questions: ["Can I get a refund?"]
  answer: "Annual plans: in full within 14 days."
  tag: [policy]
- id: exported
  questions: ["Where are invoices?"]
  answer: "Billing → Invoices."
  tags: [billing]
  space: default
  review_after: 2027-03-01
  url: https://example.org/invoices
  section: "billing.md#Invoices"
  provenance: {platform: slack}
  version: 3
  status: live
  author: alice
  updated_at: "2026-03-01T10:00:00+00:00"
"""


def test_a_misspelt_field_skips_its_entry_by_name_instead_of_being_dropped_unseen() -> None:
    # `reviw_after` silently ignored would serve a stale answer for ever; `tag` would lose `policy`.
    parsed = parse_yaml(MISSPELT, source="kb.yaml")
    assert [d.id for d in parsed.drafts] == ["exported"], "every field `kb export` writes still imports"
    assert [str(p) for p in parsed.problems] == [
        "kb.yaml item 1 (line 1): unknown field `reviw_after` (did you mean `review_after`?)",
        "kb.yaml item 2 (line 5): unknown field `tag` (did you mean `tags`?)",
    ]


@pytest.mark.parametrize(("field", "meant"), [("reviewAfter", "review_after"), ("reviewafter", "review_after"),
                                             ("Review-After", "review_after"), ("urls", "url"), ("tag", "tags")])
def test_a_known_field_joined_or_cased_otherwise_is_named_not_dropped(field: str, meant: str) -> None:
    parsed = parse_yaml(f"- id: refunds\n  questions: [\"How do I get a refund?\"]\n  answer: Billing → Refund.\n"
                        f"  {field}: x\n", source="kb.yaml")
    assert [str(p) for p in parsed.problems] == [
        f"kb.yaml item 1 (line 1): unknown field `{field}` (did you mean `{meant}`?)"]


def test_a_field_of_another_tools_own_is_left_aside_and_the_entry_imports() -> None:
    parsed = parse_yaml("""\
- id: refunds
  questions: ["Can I get a refund?"]
  answer: "Annual plans: in full within 14 days."
  category: billing
  title: Refunds
  label: refund_request
  question_id: 7731
  uid: a7f3
  updated_by: dana
  author_id: 42
  section_id: billing-3
  answered: true
""", source="kb.yaml")
    assert [d.id for d in parsed.drafts] == ["refunds"] and not parsed.problems, "names built from ours are not typos"


def test_an_alias_bomb_is_refused_item_by_item_in_bounded_memory() -> None:
    # Run in a child with a hard memory cap: an expanding bomb dies there, not here.
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
        sys.path.insert(0, {str(ROOT)!r})
        from knowledge.files import parse_yaml
        parsed = parse_yaml(sys.stdin.read(), source="bomb.yaml")
        print([d.id for d in parsed.drafts])
        for p in parsed.problems:
            print(p)
    """)
    done = subprocess.run([sys.executable, "-c", code], input=BOMB, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "['fine', 'after']"
    assert lines[1].startswith("bomb.yaml item 2 (line 4): is too large once its aliases are expanded")
    assert lines[2].startswith("bomb.yaml item 3 (line 17): is too large once its aliases are expanded")
    assert len(lines) == 3


def test_too_many_aliases_in_one_entry_are_refused() -> None:
    many = ", ".join(["*q"] * 150)
    text = f'- id: a\n  questions: [&q "How?"]\n  answer: "So."\n- id: b\n  questions: [{many}]\n  answer: "x"\n'
    parsed = parse_yaml(text, source="kb.yaml")
    assert [d.id for d in parsed.drafts] == ["a"]
    assert "more than 100 aliases" in str(parsed.problems[0])


def test_a_recursive_alias_is_named_not_followed() -> None:
    parsed = parse_yaml('- id: loop\n  questions: &x ["q", *x]\n  answer: "a"\n', source="kb.yaml")
    assert parsed.drafts == () and "refers to itself" in str(parsed.problems[0])


def test_a_syntax_error_anywhere_imports_nothing_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "kb.yaml"
    path.write_text(GOOD_AND_BAD + "- id: [unclosed\n  answer: x\n", encoding="utf-8")
    with pytest.raises(KnowledgeFileError, match=r"kb.yaml: not valid YAML \(line 1[67], column \d+:"):
        next(iter_file(path))


def test_a_markdown_file_without_headings_says_why_nothing_was_imported(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("Just some prose.\n\nNo headings at all, only paragraphs.\n", encoding="utf-8")
    parsed = read_file(path)
    assert parsed.drafts == ()
    assert [str(p) for p in parsed.problems] == [
        "notes.md: no headings, so nothing to import: each heading (#, ##, …) and the text under it "
        "becomes an entry"]


_MEASURE = textwrap.dedent("""
    import resource, sys
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from knowledge.files import iter_file
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seen = []
    count = sum(1 for found in iter_file(Path(sys.argv[2]), progress=lambda d, t: seen.append((d, t)))
                if not hasattr(found, "why"))
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    ordered = all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    print(count, round(grew), len(seen), seen[-1][0] == seen[-1][1] == Path(sys.argv[2]).stat().st_size, ordered)
""")


def test_a_large_file_streams_in_bounded_memory_with_progress(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for n in range(250_000):
            out.write(json.dumps({"id": f"e{n}", "questions": [f"How do I do thing {n}?"],
                                  "answer": f"Like this: step {n}, then save.", "tags": ["bulk"]}) + "\n")
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(ROOT), str(path)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    count, grew_mb, updates, reached_the_end, ordered = done.stdout.split()
    assert int(count) == 250_000
    # Read whole, the file's text and 250,000 drafts take ~170 MB; streamed,
    # only the ids seen (to name an id used twice) grow with the file.
    assert int(grew_mb) < 90, f"memory grew by {grew_mb} MB"
    assert int(updates) > 100 and reached_the_end == "True" and ordered == "True"


def test_a_large_yaml_file_streams_too(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("w", encoding="utf-8") as out:
        for n in range(6_000):
            out.write(f'- id: y{n}\n  questions: ["How do I do thing {n}?"]\n  answer: "Step {n}."\n')
    # Measured in a process of its own: in the suite's, other tests' threads allocate too.
    probe = textwrap.dedent(f"""
        import tracemalloc
        from pathlib import Path
        from knowledge.files import iter_file
        tracemalloc.start()
        ids = [d.id for d in iter_file(Path({str(path)!r}))]
        print(len(ids), ids[-1], tracemalloc.get_traced_memory()[1])
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    count, last, peak = done.stdout.split()
    assert int(count) == 6_000 and last == "y5999"
    # yaml.safe_load of the same file peaks above 10 MB; one item at a time stays small.
    assert int(peak) < 3_000_000, f"peak {int(peak) / 1e6:.1f} MB"


def test_json_lists_stream_and_name_the_line_of_a_bad_entry() -> None:
    text = '[\n  {"questions": ["a?"], "answer": "A"},\n  {"questions": ["b?"], "answer": "", "id": "b"},\n  7\n]\n'
    parsed = parse_json(text, source="kb.json")
    assert [d.answer for d in parsed.drafts] == ["A"]
    assert [str(p) for p in parsed.problems] == [
        "kb.json item 2 (line 3): `answer` is missing or empty",
        "kb.json item 3 (line 4): an entry must be a mapping with `questions` and `answer`"]
    with pytest.raises(KnowledgeFileError, match=r"kb.json: not valid JSON \(line 3: Expecting"):
        parse_json('[\n {"questions": ["a?"], "answer": "A"},\n {"questions": ]\n]', source="kb.json")


def test_the_json_reader_keeps_values_that_cross_its_read_window(monkeypatch: pytest.MonkeyPatch) -> None:
    import knowledge.jsonstream as jsonstream

    monkeypatch.setattr(jsonstream, "CHUNK", 5)
    text = '[12345678, "a long string that crosses windows", {"k": [1, 2, 3]}, -0.5e3, true]'
    assert [v for _, v in iter_array(io.StringIO(text))] == [
        12345678, "a long string that crosses windows", {"k": [1, 2, 3]}, -500.0, True]
    with pytest.raises(JsonStreamError, match="line 2"):
        list(iter_array(io.StringIO('[1,\n 2 3]')))
