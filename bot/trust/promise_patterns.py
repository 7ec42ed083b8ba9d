"""The phrase rules behind ``bot.trust.promises``, one sentence at a time.

A ``Rule`` fires when its cue occurs in a sentence, and (if it has one) its
voice too: the cue says what is promised ("refund", "by Friday"), the voice
says who promises it ("we'll", "you will receive", "the fix ships"). Keeping
the two apart is what lets "the old key keeps working for 24 hours" through
while "we'll keep it working for 24 hours" is caught.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    """Cue, optional voice that must co-occur, optional sentence disqualifier."""

    kind: str
    cue: re.Pattern[str]
    voice: re.Pattern[str] | None = None
    unless: re.Pattern[str] | None = None

    def match(self, sentence: str) -> tuple[int, int] | None:
        """Span from cue to voice in ``sentence``, or ``None`` when the rule does not fire."""
        cue = self.cue.search(sentence)
        if cue is None or (self.unless is not None and self.unless.search(sentence)):
            return None
        if self.voice is None:
            return cue.span()
        voice = self.voice.search(sentence)
        if voice is None:
            return None
        return min(cue.start(), voice.start()), max(cue.end(), voice.end())


def _p(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts), re.I)


_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)"
)
_COUNT = (
    r"(?:\d+(?:\s?[-–]\s?\d+)?|an?|one|two|three|four|five|six|seven|ten|twelve|fourteen"
    r"|thirty|twenty-four|forty-eight|a few|a couple of|several)"
)
_UNITS_LONG = r"(?:business |working |calendar )?(?:hours?|days?|weeks?|months?)"
# Calendar points and spans of hours or more: what a deadline is made of.
TIME_LONG = _p(
    rf"\b{_WEEKDAY}\b",
    rf"\b(?:in|by|before|until|from|early|mid|late)[ -]{_MONTH}\b",
    rf"\b(?:by|before|until|in|at|around) (?:the )?(?:end|start|beginning|middle) of (?:the )?"
    rf"(?:{_MONTH}|day|week|month|quarter|year|next \w+)\b",
    r"\b(?:over|on|during|by|before) the weekend\b|\bon the \d{1,2}(?:st|nd|rd|th)\b",
    rf"\b(?:first|second|third|last) (?:week|half) of (?:{_MONTH}|the month|next month)\b",
    rf"\b(?:by|before|until|on|in|from|after)?\s*{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b",
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b",
    r"\b(?:tomorrow|tonight|today|end of (?:the )?(?:day|week|month|quarter|year|business day))\b",
    r"\b(?:eod|eow|cob)\b",
    r"\b(?:this|next|the coming) (?:week|weekend|month|quarter|year|sprint|release)\b",
    rf"\b(?:within|in|for|over the next|under|inside of)\s+{_COUNT}\s+{_UNITS_LONG}\b",
    r"\b\d+(?:\s?[-–]\s?\d+)?\s+(?:business|working) days\b",
    r"\b(?:by|before|in|during|early|late|mid)[ -](?:Q[1-4]|H[12])\b|\bQ[1-4] \d{4}\b",
    r"\b(?:by|before|on|until)\s+\d{4}-\d{2}-\d{2}\b|\bby \d{1,2}(?::\d{2})?\s*(?:am|pm)\b",
)
# Minutes are how long software takes; only a person promising makes them a deadline.
TIME_SHORT = _p(rf"\b(?:within|in|for|over the next|under|inside of)\s+{_COUNT}\s+minutes?\b")
# Somebody speaking for the company, or something already decided for the member.
VOICE = _p(
    r"\b(?:we|i)(?:'ll|'ve|'d|'re|'m)?\b",
    r"\b(?:our|the) (?:team|billing team|support team|engineers?|developers?|staff)\b",
    r"\b(?:billing|support|someone|a colleague)\s+will\b",
    r"\byou(?:'ll| will| would| should| are going to)\s+(?:get|receive|be|see|hear|have)\b",
    r"\byou (?:are|'re) (?:entitled|eligible)\b",
    r"\byou (?:can|may|could) (?:get|receive|claim|have)\b",
    r"\b(?:is|has been|will be|was|are|have been|gets?) (?:issued|processed|refunded|approved"
    r"|credited|sent|initiated|applied|added|waived)\b",
    r"\b(?:will|'ll|should|is going to) (?:arrive|appear|show up|reach you|be back)\b",
    r"\b(?:your|the) (?:next )?(?:invoice|bill|account|statement|card)\b[^.!?]{0,30}\b(?:will|'ll)\b",
)
# A future-tense company voice: turns any time, even minutes, into a promise.
COMPANY_FUTURE = _p(
    r"\b(?:we|i)(?:'ll| will| shall| are going to| am going to|'m going to|'re going to"
    r"| plan to| aim to| expect to| intend to| hope to| should| can| could| must| have to)\b",
    r"\brequires? us to\b|\bwe(?: are|'re) (?:required|obliged) to\b",
    r"\b(?:we|i)(?:'re| are|'m| am) (?:shipping|releasing|rolling out|deploying|launching"
    r"|publishing|fixing|sending|processing)\b",
    r"\b(?:our|the) (?:team|engineers?|developers?|billing team|support team|staff)"
    r" (?:will|should|plans? to|is going to|intends? to|aims? to)\b",
    r"\b(?:someone|somebody|a colleague|billing|support)(?: from [\w ]{1,20})? will\b",
    r"\byou(?:'ll| will| should| can expect to)\s+(?:get|receive|hear|see|have)\b",
)
# Something delivered on a date: makes a calendar point or a span of hours a promise.
DATE_VOICE = _p(
    COMPANY_FUTURE.pattern,
    r"\b(?:fix|patch|hotfix|release|update|feature|refund|replacement|reply|response|answer"
    r"|credit|shipment|delivery|rollout|migration|integration|version \S+)\b[^.!?]{0,40}?"
    r"\b(?:will|'ll|should|is (?:scheduled|planned|expected|due|coming|going)"
    r"|are (?:scheduled|planned|expected|due|coming))\b",
    r"\b(?:lands|ships|goes out|rolls out|comes out|(?:will|should) (?:land|ship|go out|roll out|come out)"
    r"|(?:is|are) (?:scheduled|planned|expected|due)"
    r"|(?:will|should) be (?:released|available|ready|live|fixed|done|back|shipped|deployed|out"
    r"|resolved|restored|published))\b",
    r"\b(?:eta|expect(?:ed)?|scheduled|planned|due|target(?:ed|ing)?|deadline|promis(?:e|es|ed))\b",
)
HEDGE = _p(
    r"\b(?:can't|cannot|can not|won't|unable to|not able to|couldn't|not in a position to)\s+"
    r"(?:\w+\s+){0,2}?(?:promise|guarantee|commit|confirm|give (?:you )?(?:a|an|any) "
    r"(?:date|eta|timeline))",
)
_PROCEDURE = _p(
    r"\b(?:request|ask for|apply for|submit|file|open)(?:ing|s)? (?:a |the |your )?refund",
    r"\brefund (?:request form|form|page|tab|button|section|link)\b",
    r"\b(?:enter|apply|use|paste|add|type)(?:ing)? (?:the |a |your )?(?:coupon|discount|voucher|promo)",
)
_FIRST_PERSON = _p(r"\b(?:i|me|my|mine|we|us|our)\b")
_WANT = _p(
    r"\b(?:i|we)(?:'d| would)? (?:want|need|expect|demand|deserve|like)\b",
    r"\b(?:can|could|will|would) (?:i|we|you)\b",
    r"\bgive (?:me|us)\b",
    r"\bshould(?:n't)? (?:i|we)\b",
    r"\b(?:am i|are we) (?:entitled|eligible)\b",
    r"\bdo (?:i|we) get\b",
    r"\bowe (?:me|us)\b",
)

REPLY_RULES: tuple[Rule, ...] = (
    Rule("refund", _p(
        r"\b(?:refund(?:ed|s|ing)?|reimburs(?:e|ed|ement|ing)|money back|paid back)\b",
        r"\breturn(?:ed|ing)? (?:the |your )?(?:full )?(?:amount|payment|money|charge)\b",
        r"\brevers(?:e|ed|ing) (?:the |that |this )?(?:extra |duplicate |second )?(?:charge|payment)\b",
        r"\bgo(?:es)? back to your\b|\b(?:every cent|the money|your money|it all) back\b"),
         voice=VOICE, unless=_PROCEDURE),
    Rule("refund", _p(r"\b(?:full|partial|pro-?rated) refund\b|\brefund of [$€£]?\d|\brefund policy\b")),
    Rule("compensation", _p(
        r"\bfree months?\b|\bmonths? (?:for )?free\b|\bon the house\b|\bon us\b|\bgoodwill\b",
        r"\bas a (?:gesture|thank[- ]you)\b|\bservice credits?\b|\baccount credit\b",
        r"\bas an apology\b|\bto say sorry\b")),
    Rule("compensation", _p(
        r"\bcompensat\w*|\bdiscount\w*|\bvoucher\b|\bcoupon\b|\bwaive[sd]?\b",
        r"\bcredit(?:s|ed|ing)?\b(?!\s*cards?)",
        r"\b(?:\d+|one|two|three|six|twelve|an extra|a) (?:extra |additional |free )?(?:months?|weeks?)"
        r" (?:of \w+|free)\b",
        r"\bextend(?:ed)? your (?:trial|subscription|plan)\b|\bbonus\b|\b(?:bumped|upgraded) you\b"),
        voice=VOICE, unless=_p(_PROCEDURE.pattern, r"\b(?:uses?|costs?|consumes?) (?:one |\d+ )?credits?\b",
                               r"\bcredits? (?:per|each|quota|balance|remaining)\b")),
    Rule("date", TIME_LONG, voice=DATE_VOICE),
    Rule("date", TIME_SHORT, voice=COMPANY_FUTURE),
    Rule("price", _p(
        r"(?<![\w$])[$€£¥]\s?\d[\d,]*(?:\.\d{1,2})?(?!\w)",
        r"\b\d[\d,]*(?:\.\d{1,2})?\s?(?:usd|eur|gbp|chf|cad|aud|dollars?|euros?|pounds?|cents)\b",
        r"\b(?:usd|eur|gbp|chf)\s?\d[\d,]*(?:\.\d{1,2})?\b|\b\d[\d,.]*\s?€",
        r"\bfree of charge\b|\bat no (?:extra |additional )?(?:cost|charge)\b",
        r"\bno (?:extra |additional )?charge\b|\bfor free\b|\bhalf price\b|\bcosts? nothing\b",
        r"\bwithout (?:any )?(?:extra |additional )?(?:cost|charge)\b",
        r"\b(?:is|are|will be|stays?|remains?) (?:completely |totally |always )?free\b"
        r"(?!\s+(?:up|space|memory|disk|tier|plan|trial|version|edition|slots?|text|form)\b)"
        r"(?!\s+to\s+(?!use\b))",
        r"\b\d{1,3}\s?% (?:off|discount)\b|\bdiscount of \d")),
    Rule("legal", _p(
        r"\b(?:we|i)(?:'ll| will| can| do)? guarantee\b|\bguaranteed (?:refund|uptime|response"
        r"|availability|money|results?|by)\b|\bmoney-back guarantee\b|\b(?:our|the) guarantee\b",
        r"\b(?:we|i) promise\b|\bliab(?:le|ility)\b",
        # a warranty is promised when something comes with it or is covered by it, not when named
        r"\b(?:comes? with|includes?|including|backed by|covered (?:by|under)|under|offers?|provides?"
        r"|gives?|extends?|honou?rs?)\s+(?:a |an |our |the |its |your )?(?:full |limited |lifetime "
        r"|\d+[- ](?:year|yr|month|day)s?[- ]?|one[- ]year |two[- ]year )*warrant(?:y|ies)\b",
        r"\b(?:\d+|one|two|three|five|ten|lifetime)[- ](?:year|yr|month|day)s?[- ]warrant(?:y|ies)\b",
        r"\bwe warrant\b|\b(?:our|the) warranty (?:covers|includes|lasts|is valid|applies)\b",
        r"\b(?:you are|you're|you'd be|customers are|users are) (?:legally )?(?:entitled|eligible)\b",
        r"\byou have (?:the|a) (?:legal )?right to\b",
        r"\bright to (?:be forgotten|erasure|a refund|cancel|withdraw)\b",
        r"\blegally\b|\bby law\b|\bthe law (?:requires|says)\b|\blegal (?:obligation|requirement)\b",
        r"\b(?:gdpr|ccpa|dsgvo|hipaa|pci[- ]dss|consumer law)\s+(?:requires?|says|mandates"
        r"|gives you|obliges|allows)\b",
        r"\bunder (?:the )?(?:gdpr|ccpa|dsgvo|hipaa|law|article \d+)\b|\bart(?:icle|\.) \d+ (?:of the )?gdpr\b",
        r"\b(?:we are|we're) (?:legally )?(?:required|obliged|obligated|compliant|certified|bound)\b",
        r"\b(?:gdpr|ccpa|hipaa|soc ?2|iso ?27001|pci[- ]dss)[- ](?:compliant|certified)\b",
        r"\bcompliant with (?:the )?(?:gdpr|ccpa|hipaa|law)\b",
        r"\bour (?:refund |privacy |cancellation |data |retention )?(?:policy|terms(?: of service)?|sla)\b",
        r"\b(?:per|under|according to) (?:our|the) (?:refund |privacy |cancellation )?(?:policy|terms|sla)\b")),
)  # fmt: skip

ASK_RULES: tuple[Rule, ...] = (
    Rule("refund", _p(r"\brefund\w*|\bmoney (?:back|returned)\b|\breimburs\w*|\bchargeback",
                      r"\brevers(?:e|ed|al)\b|\bget (?:that|it|this|the money|my money|our money) back\b"),
         voice=_p(_FIRST_PERSON.pattern, r"\bplease\b|\bpossible\b|\b(?:can|could)\b|\?"),
         unless=_p(r"\brefund(?:ing)? (?:a|the|our|my) (?:customer|user|buyer)s?\b",
                   r"\brefunds? (?:api|endpoint|webhook|event|object)\b",
                   r"\b(?:was|were|has been|have been|got) (?:answered|resolved|processed|received"
                   r"|sorted|closed)\b")),
    Rule("compensation", _p(r"\bcompensat\w* (?:me|us)\b|\bmake (?:it|this|that) up to (?:me|us)\b",
                            r"\bmake (?:this|it|things) right\b",
                            r"\b(?:get|deserve|receive) (?:something|anything) (?:for|back)\b")),
    Rule("compensation", _p(r"\bcompensat\w*|\b(?:credit|discount|voucher|free months?)\b(?!\s*cards?)"),
         voice=_WANT),
    Rule("date", _p(
        r"\bwhen\b[^.!?]{0,50}?\b(?:fixed|resolved|released|available|ready|done|back|live|out"
        r"|shipped|ships?|lands?|arrives?|restored|supported|working|refunded|processed|coming"
        r"|launch\w*|happen|go(?:es)? out|comes? out|answered)\b"), voice=_p(r"\?|\bwhen (?:will|is|are)\b")),
    Rule("date", _p(
        r"\bwhen can (?:i|we) expect\b|\b(?:an? |any )?(?:eta|timeline|time ?frame|time estimate)\b",
        r"\bby when\b|\bhow soon\b|\brelease date\b|\bwhen are you (?:going|planning) to\b",
        r"\bhow long (?:until|till|before|will (?:it|this|that|i|we) (?:take|have to wait)"
        r"|do (?:i|we) (?:have to )?wait)\b",
        r"\b(?:is there|do you have) (?:a|any) (?:date|deadline|timeline|eta)\b",
        r"\b(?:expected|target|estimated|planned) (?:date|release date|time)\b",
        r"\bhow long (?:this|it|that) (?:will|would|is going to) take\b|\bmake it into\b")),
    Rule("date", TIME_LONG, voice=_p(r"\b(?:promise|guarantee|commit|confirm)\b",
                                     r"\b(?:can|will|could|would) (?:you|it|this|that)\b|\bgoing to\b")),
    Rule("price", _p(
        r"\bhow much (?:does|is|will|would|do|did|are)\b|\bwhat (?:does|will|would) (?:it|this|that) cost\b",
        r"\bwhat(?:'s| is| are) the (?:price|cost|pricing)\b|\bpric(?:e|es|ing) (?:for|of)\b",
        r"\bis (?:it|this|that|there) (?:a )?free\b|\b(?:any|a) cheaper\b",
        r"\b(?:would|will|does|did) (?:it|this|that) cost (?:me|us)\b|\bcosts? (?:extra|more)\b",
        r"\brun (?:me|us)\b|\bincluded in (?:the|my|our) \w+ plan\b")),
    Rule("price", _p(r"\b(?:price|prices|pricing|fees?|how much)\b"), voice=_p(r"\?")),
    Rule("legal", _p(
        r"\b(?:can|could|will|would) you (?:promise|guarantee|commit|assure|confirm in writing"
        r"|put (?:that|it) in writing)\b|\b(?:am i|are we) (?:legally )?(?:entitled|eligible)\b",
        r"\bmy (?:legal |consumer )?rights\b|\bis (?:it|this|that) (?:even )?legal\b",
        r"\b(?:lawyer|attorney|sue you|legal action|small claims|consumer protection)\b",
        r"\b(?:gdpr|ccpa|dsgvo)\b(?!\s+(?:mode|setting|toggle|option|export)s?\b)|\bterms of (?:service|use)\b|\byour (?:refund |privacy )?(?:policy|sla)\b",
        r"\bin writing\b|\b(?:hipaa|soc ?2|iso ?27001|pci[- ]dss|baa|dpa)\b|\bcompliant\b",
        r"\bdata processing agreement\b")),
)  # fmt: skip
