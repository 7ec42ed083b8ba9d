"""Which past threads hold a member's question that staff answered, and what
the question and the answer are.

- **The question** is the member's opening message plus their own
  clarifications before the answer ("I'm on 2.3", "here's the error").
- **The answer** is what staff said that answered it: every substantive staff
  reply, but not social replies ("thanks!", "glad it helped"), redirects
  ("ha, see #off-topic") or questions back ("which version are you on?"),
  unless the member's "that worked" shows the question back was the fix.
  When the member marked staff replies with an accepting reaction (a check
  mark, a thumbs-up), those replies are the answer. When the member says an
  answer didn't work, it did not answer: what they add is a clarification,
  and the staff replies after it are the answer.
- **Skipped**: threads opened by staff or a bot, and threads with no staff
  answer. Bystanders' messages are neither question nor answer.

Mentions of staff keep their name; anyone else becomes "someone", and a
greeting by mention ("@dana, …") is dropped: a member's name is personal
data, and the next asker is someone else. Every text then goes through the
given ``redact`` (personal data and secrets never enter knowledge). The
wording rules are English; the thread structure works in any language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from knowledge.entries import PENDING, Draft
from knowledge.files import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS
from knowledge.threads.model import Directory, Post, Staff, Thread

Redact = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A thread that makes no entry, and why."""

    thread: str
    why: str


_MENTION = re.compile(r"<@([A-Za-z0-9_.-]+)>")
_LEADING_MENTIONS = re.compile(r"^\s*(?:(?:hi|hey|hello|thanks|ty)\s+)?(?:<@[A-Za-z0-9_.-]+>[\s,:;!.\-–—]*)+",
                               re.IGNORECASE)
_GREETING = re.compile(
    r"^\s*(?:hi|hey|hello|hiya|heya|yo|howdy|good (?:morning|afternoon|evening))"
    r"(?:\s+(?:all|everyone|everybody|team|there|folks|guys|friends|people|y'?all))?\s*[!,.:\-–—]+\s*",
    re.IGNORECASE)
_SHORTCODE = re.compile(r"(?<![\w:]):(?=[a-z0-9_+\-]*[a-z])[a-z0-9_+\-]{1,60}:(?!\w)")  # :tada:, not 10:30:45
_URL = re.compile(r"https?://\S+")
_CODE = re.compile(r"`")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_SENTENCES = re.compile(r"(?<=[.!?])\s+")

_SOCIAL = re.compile(
    r"\b(?:thanks?(?: (?:a lot|so much|again))?|thank you(?: so much)?|thx|ty|tysm|cheers|np|no problem|"
    r"no worries|you'?re welcome|welcome|glad(?: (?:it|that|to|i))?|happy to help|any ?time|great|awesome|"
    r"cool|nice|perfect|ok(?:ay)?|kk?|sure|yes|yep|yeah|yup|lol|ha(?:ha)*|he(?:he)*|wow|indeed|"
    r"will do|got it|sounds good|good luck|enjoy|have fun|helped|worked|it|that|this|me|you|all|"
    r"let me know(?: if (?:\w+ ){0,6}\w+)?|hope (?:this|that|it) helps?|(?:does|did) (?:this|that|it) help|"
    r"and|so|much|very|too|for|the|a|to|be|of|[:;]-?[)d(p])\b", re.IGNORECASE)
_REDIRECT = re.compile(r"\b(?:off-?topic|see|ask|try|take|post|head|move|over|belongs|better in|wrong channel)\b",
                       re.IGNORECASE)
_NEGATIVE = re.compile(
    r"\b(?:(?:did|does|do|is|was)(?:n'?t| not) (?:work|help|fix|solve)|not (?:working|fixed|solved)|"
    r"still (?:get|getting|see|seeing|broken|fail|failing|stuck|the same|happens|doesn'?t|not|no)|no luck|"
    r"same (?:error|issue|problem|thing)|tried that|already tried|nope|no dice|didn'?t change)\b",
    re.IGNORECASE)
_POSITIVE = re.compile(
    r"\b(?:thanks?|thank you|thx|ty|worked|works now|working now|fixed|solved|perfect|that did it|"
    r"got it|all good|sorted|resolved)\b", re.IGNORECASE)


def words(text: str) -> list[str]:
    return _WORD.findall(_SHORTCODE.sub(" ", _URL.sub(" ", text)).casefold())


def is_social(text: str) -> bool:
    """Thanks, cheers, emoji: a reply with nothing to teach."""
    found = words(text)
    if not found:
        return not _URL.search(text) and not _CODE.search(text)
    leftover = words(_SOCIAL.sub(" ", " ".join(found)))
    return len(found) <= 12 and len(leftover) <= 1 and not _URL.search(text)


def is_redirect(text: str) -> bool:
    """"That's one for #off-topic": a pointer elsewhere, not an answer."""
    found = words(text)
    return ("#" in text and len(found) <= 14 and bool(_REDIRECT.search(text))
            and not _URL.search(text) and not _CODE.search(text))


def is_question_back(text: str) -> bool:
    """Staff asking the member something ("which version are you on?")."""
    return (text.rstrip().endswith("?") and len(words(text)) <= 30
            and not _URL.search(text) and not _CODE.search(text))


def render(text: str, *, staff: Staff, people: Directory) -> str:
    """Mentions as names (staff) or "someone" (anyone else), greetings by
    mention dropped, whitespace tidied."""
    text = _LEADING_MENTIONS.sub("", text)

    def name(match: re.Match[str]) -> str:
        person = people.get(match.group(1))
        return f"@{person.name}" if person is not None and person in staff else "someone"

    text = _MENTION.sub(name, text)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _sentence_questions(text: str) -> str:
    asked = [s.strip() for s in _SENTENCES.split(" ".join(text.split())) if s.strip().endswith("?")]
    return " ".join(asked)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 2]
    space = cut.rfind(" ", int(limit * 0.7))
    return (cut[:space] if space > 0 else cut).rstrip() + " …"


def to_draft(thread: Thread, *, staff: Staff, people: Directory, redact: Redact,
             space: str = "default") -> Draft | Skipped:
    """A pending question/answer entry from ``thread``, or why there is none."""
    root, replies = thread.posts[0], thread.posts[1:]
    if root.author.bot:
        return Skipped(thread.key, "opened by a bot")
    if root.author in staff:
        return Skipped(thread.key, "opened by staff, not a member's question")

    def text_of(post: Post) -> str:
        return render(post.text, staff=staff, people=people)

    opening = _GREETING.sub("", _SHORTCODE.sub("", text_of(root))).strip()
    if not words(opening):
        return Skipped(thread.key, "with no question text (only a file, or deleted)")
    asker = root.author.id
    question, answers, answerers = _walk(opening, replies, asker, staff, text_of)
    if not answers:
        return Skipped(thread.key, "with no staff answer")

    full = redact(_clip(" ".join(question), MAX_QUESTION_CHARS))
    forms = [redact(_clip(thread.title, MAX_QUESTION_CHARS)) if thread.title and len(words(thread.title)) >= 2
             else "", redact(_clip(_sentence_questions(opening), MAX_QUESTION_CHARS)), full]
    answer = redact("\n\n".join(answers))
    if len(answer) > MAX_ANSWER_CHARS:
        return Skipped(thread.key, f"with an answer longer than {MAX_ANSWER_CHARS:,} characters")
    provenance = {"platform": thread.platform, "channel": thread.channel, "channel_id": thread.channel_id,
                  "thread": root.id, "date": thread.opened.date().isoformat(),
                  "answered_by": ", ".join(dict.fromkeys(answerers))}
    if thread.link:
        provenance["link"] = thread.link
    if thread.source:
        provenance["export"] = thread.source
    return Draft(questions=tuple(dict.fromkeys(f for f in forms if f)), answer=answer, id=thread.key,
                 space=space, status=PENDING, provenance=provenance)


def _walk(opening: str, replies: tuple[Post, ...], asker: str, staff: Staff,
          text_of: Callable[[Post], str]) -> tuple[list[str], list[str], list[str]]:
    """(question parts, answer parts, who answered) of one thread."""
    accepted = [p for p in replies if p.author in staff and asker in p.accepted_by]
    if accepted:  # the member said which replies answered
        first = accepted[0].at
        question = [opening] + [t for p in replies if p.author.id == asker and p.at < first
                                and (t := text_of(p)) and not is_social(t)]
        chosen = [(p, t) for p in accepted if (t := text_of(p)) and not is_social(t)]
        return question, [t for _, t in chosen], [p.author.name for p, _ in chosen]

    question = [opening]
    answers: list[tuple[Post, str]] = []
    tentative: list[tuple[Post, str]] = []
    for post in replies:
        if post.author.bot:
            continue
        text = text_of(post)
        if post.author.id == asker:
            if answers:
                if _NEGATIVE.search(text):  # what came before did not answer it
                    answers.clear()
                    question.append(_SHORTCODE.sub("", text).strip())
                    continue
                break  # thanks, or a new question: the answer stands
            if tentative and _POSITIVE.search(text) and not _NEGATIVE.search(text):
                answers = tentative  # "that was it, thanks": the question back was the fix
                break
            tentative = []
            if text and not is_social(text):
                question.append(_SHORTCODE.sub("", text).strip())
        elif post.author in staff:
            if not text or is_social(text) or is_redirect(text):
                continue
            if is_question_back(text):
                if not answers:
                    tentative.append((post, text))
                continue
            answers.append((post, text))
    return question, [t for _, t in answers], [p.author.name for p, _ in answers]
