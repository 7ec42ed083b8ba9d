"""Default example phrasings and keyword cues for ``bot.trust.sensitive``.

Examples are what the embedding signal compares against; operators replace
or extend them through settings. Counter-examples are ordinary product
questions that look like sensitive ones ("how do I reset my password?"): a
message must be closer to a sensitive example than to every counter-example.
Cues are high-precision phrases that decide without any model.
"""

from __future__ import annotations

import re

DEFAULT_EXAMPLES: dict[str, tuple[str, ...]] = {
    "account_access": (
        "I'm locked out of my account",
        "my account was hacked",
        "someone got into my account and changed my password",
        "I lost my phone and can't get past two-factor authentication",
        "my 2FA device is gone and I don't have the backup codes",
        "someone logged into my account from another country",
        "I can't access my account anymore, the email on it was changed",
        "my account has been compromised",
        "there are logins I don't recognise on my account",
        "somebody took over our admin account",
        "I got a login alert that wasn't me",
        "my authenticator app was wiped and now I can't sign in",
        "our workspace owner left and nobody can access the admin account",
    ),
    "billing_dispute": (
        "I was charged twice this month",
        "I'm going to file a chargeback",
        "I want to dispute this charge",
        "you charged me after I cancelled",
        "there's a payment on my card I didn't authorise",
        "I was billed for seats we never used and I want it reversed",
        "my bank flagged your charge as fraud",
        "you keep billing me even though I deleted my account",
        "the invoice amount is wrong and I won't pay it",
        "I opened a dispute with my credit card company",
        "I got charged for a yearly plan I never agreed to",
        "why did you take money from my account without asking",
    ),
    "personal_data": (
        "please delete all my data",
        "I want to exercise my right to be forgotten under GDPR",
        "send me a copy of all the personal data you hold about me",
        "my home address is visible to other members",
        "the bot posted my phone number in a public channel",
        "remove my personal information from your system",
        "I want my account and every message I wrote erased",
        "this is a data subject access request",
        "why can other people see my email address",
        "my real name shows up in the public answers, please take it down",
        "what personal data do you store about me",
        "I don't consent to you storing my messages",
    ),
    "security_report": (
        "I found a security vulnerability in your app",
        "I think I found a bug that exposes other users' data",
        "there's an XSS in the web console",
        "your API lets me read other workspaces' messages",
        "I can bypass the login page",
        "I want to report a security issue responsibly",
        "your bot token is exposed in the page source",
        "I discovered an exploit in the Slack adapter",
        "is there a bug bounty program",
        "an SQL injection in the search box returns everyone's data",
        "I could see another customer's invoices by changing the id in the URL",
        "your server leaks API keys in error messages",
    ),
    "harassment": (
        "someone is harassing me in the community",
        "a member keeps sending me threatening messages",
        "I'm being stalked by another user",
        "somebody posted my home address to intimidate me",
        "a user threatened to hurt me",
        "people are bullying me in the help channel",
        "someone is impersonating me and insulting people",
        "I got doxxed in your Discord server",
        "another member keeps DMing me after I asked them to stop",
        "someone is posting hateful slurs at me",
        "I feel unsafe because of messages from this user",
        "a moderator is abusing me in private messages",
    ),
}

DEFAULT_COUNTER_EXAMPLES: tuple[str, ...] = (
    "how do I reset my password?",
    "how do I change my password",
    "how do I enable two-factor authentication",
    "where do I set up 2FA for staff",
    "how do I log in with SSO",
    "the login page is slow to load",
    "how do I update my billing address",
    "where can I download my invoices",
    "how do I change the card on file",
    "how do I cancel my subscription",
    "can I get a refund for my annual plan?",
    "what is your refund policy",
    "we bought the wrong plan, can we get our money back",
    "how long do refunds take to arrive",
    "what does the Team plan cost",
    "how do I export my data to CSV",
    "how do I delete a knowledge entry",
    "how do I remove a member from the staff channel",
    "how do I change my display name",
    "how do I hide the bot in a channel",
    "how do I report a bug in the importer",
    "the bot crashes when a thread is empty",
    "is there an API for creating entries",
    "how do I rotate the API key",
    "how do moderators move a thread to DMs",
    "how do I ban a spammer from the server",
    "how do I set up slow mode",
    "can the bot ignore messages from other bots",
)

_CUE_SOURCES: dict[str, tuple[str, ...]] = {
    "account_access": (
        r"\b(?:locked|shut|kicked) out of (?:my|our|the) (?:\w+ )?account\b",
        r"\b(?:account|admin|login|profile)\w* (?:was|got|has been|have been|is) (?:hacked|compromised"
        r"|stolen|hijacked|taken over|broken into)\b",
        r"\b(?:hacked|compromised|hijacked|stole|stolen|took over|taken over) (?:my|our) (?:\w+ )?account\b",
        r"\bsomeone (?:\w+ )?(?:got into|accessed|logged into|broke into|is using|changed the email on)"
        r" (?:my|our) (?:\w+ )?account\b",
        r"\b(?:lost|broke|wiped|reset|replaced) (?:my|our) (?:phone|authenticator|2fa|two[- ]factor|"
        r"backup codes|security key)\b[^.!?]{0,60}\b(?:can't|cannot|unable|no way)\b",
        r"\bunauthori[sz]ed (?:login|access|sign[- ]?in)s?\b|\blogins? (?:that )?(?:i|we) don't recogni[sz]e\b",
        r"\bhacked\b(?!\s+(?:together|up|around|on)\b)|\baccount takeover\b",
        r"\bsomeone (?:is |has been |was )?(?:logging|logged|signing|signed) in(?:to)? (?:my|our)\b",
        r"\blog ?in\w*\b[^.!?]{0,40}\b(?:wasn't me|not me|don't recogni[sz]e)\b",
        r"\bdevices? (?:i|we) (?:don't|do not) (?:own|recogni[sz]e)\b",
        r"\b(?:password|email|2fa|owner)\b[^.!?]{0,20}\b(?:reset|changed)\b[^.!?]{0,20}"
        r"\bwithout (?:me|my|us|our|asking)\b",
        r"\b(?:stolen|lost) (?:phone|authenticator|security key)\b|\b(?:phone|authenticator)\b[^.!?]{0,40}"
        r"\b(?:got )?stolen\b",
    ),
    "billing_dispute": (
        r"\bcharge ?backs?\b",
        r"\b(?:charged|billed) (?:me |us )?(?:twice|two times|double|again after|after (?:i|we) cancel)",
        r"\bdouble[- ](?:charged|billed)\b",
        r"\bdispute (?:the|a|this|that|your) (?:charge|payment|invoice|transaction)\b",
        r"\b(?:opened|filed|open|file|start) a dispute\b",
        r"\b(?:unauthori[sz]ed|fraudulent) (?:charge|payment|transaction|debit)s?\b",
        r"\bdid(?:n't| not) authori[sz]e (?:this|the|that|your|a) (?:charge|payment)\b",
        r"\bstill (?:being )?(?:charged|billed)\b|\b(?:i'm|i am|we're|we are) being (?:charged|billed)\b",
        r"\b(?:took|charged|billed|debited)\b[^.!?]{0,40}\btwice\b",
        r"\brevers(?:e|al of) (?:this|the|that|your) (?:payment|charge)\b|\brefuse to pay\b",
        r"\b(?:nobody|no one)\b[^.!?]{0,30}\b(?:approved|authori[sz]ed)\b|\bfraudulent\b",
        r"\bdispute\b[^.!?]{0,30}\b(?:invoice|charge|payment|bank|card)\b",
        r"\bauto-?renew\w*\b[^.!?]{0,40}\b(?:turned off|disabled|cancel\w*)\b",
    ),
    "personal_data": (
        r"\bdelete (?:all )?(?:of )?my (?:personal )?(?:data|information|info)\b",
        r"\bright to (?:be forgotten|erasure|access)\b|\b(?:data subject|subject) access request\b",
        r"\bdsar\b|\berase (?:all )?(?:of )?my (?:personal |private |user |entire )?(?:data|information|info"
        r"|account|profile|details|records|email address|phone number)\b",
        r"\bmy (?:home )?(?:address|phone number|real name|email address|personal (?:data|info\w*))"
        r"\b[^.!?]{0,30}\b(?:visible|shown|exposed|public|leaked|posted|displayed)\b",
        r"\b(?:remove|take down) my (?:personal )?(?:data|information|info|address|phone number)\b",
        r"\bwhat (?:personal )?data do you (?:have|hold|store|keep) (?:on|about) me\b",
        r"\berase everything\b|\bforget me\b|\bwithdraw (?:my )?consent\b|\bgdpr article\b",
        r"\b(?:data|information) you (?:hold|have|keep|store) (?:on|about) me\b",
        r"\bwhat do you (?:keep|store|hold|know) about me\b|\bscrub my\b",
        r"\bdelete my (?:account|profile)\b[^.!?]{0,40}\b(?:messages|history|data)\b",
        r"\bmy (?:real )?(?:name|phone number|address|email)\b[^.!?]{0,40}\b(?:public|everyone|appears"
        r"|visible|quoted)\b",
    ),
    "security_report": (
        r"\b(?:security )?vulnerabilit(?:y|ies)\b|\bexploit(?:able|ed)?\b",
        r"\bsecurity (?:issue|hole|flaw|bug|problem|report)\b|\bresponsible disclosure\b|\bbug bounty\b",
        r"\b(?:xss|csrf|ssrf|idor|rce|sql injection|remote code execution|privilege escalation)\b",
        r"\bbypass(?:ed|ing)? (?:the )?(?:auth\w*|login|2fa|two[- ]factor|permissions?)\b",
        r"\b(?:see|read|access|view) (?:other|another) (?:users?'?|customers?'?|people's|workspaces?'?)"
        r" (?:data|messages|accounts?|invoices|files)\b",
        r"\bcve-\d{4}-\d+\b|\b(?:leaks?|leaking|exposes?|exposing) (?:\w+ )?(?:tokens?|api keys?|passwords"
        r"|credentials|user data|personal data|emails)\b",
        r"\bproof of concept\b|\bbount(?:y|ies)\b|\badmin endpoints?\b|\bopen (?:s3 )?bucket\b",
        r"\b(?:doesn't|does not|isn't|is not|aren't|not) (?:escape|escaped|sanitize[sd]?|validated?|checked)\b",
        r"\b(?:another|other) (?:company|customer|user|workspace|server|member)(?:'s|s'|s)\b[^.!?]{0,20}"
        r"\b(?:data|dms|messages|threads|exports|invoices)\b",
        r"\bleak(?:s|ed|ing)? (?:other|another|private|customers?'?|users?'?|members?'?|the|your) (?:\w+ )?"
        r"(?:data|dms|messages|tokens?|keys?|passwords?|emails?|secrets?|threads)\b",
        r"\bprints? (?:the )?(?:full )?(?:database )?(?:connection string|password|secret|token)\b",
    ),
    "harassment": (
        r"\bharass\w*\b|\bstalk(?:s|ed|ing|er)\b|\bdox+(?:ed|ing)?\b|\bbull(?:y|ying|ied)\b",
        r"\bthreat(?:en\w*|s)\b[^.!?]{0,40}\b(?:me|us|my|kill|hurt)\b|\bdeath threats?\b",
        r"\b(?:won't|will not|doesn't|does not) (?:leave me alone|stop (?:messaging|dming|contacting) me)\b",
        r"\b(?:abusive|threatening|creepy|hateful|sexual) (?:messages|dms|comments|remarks)\b",
        r"\bimpersonat\w* me\b|\bposted my (?:home )?(?:address|phone number|photos?|pictures?)\b",
        # "I'm afraid" alone is politeness ("I'm afraid my luggage is lost", "afraid to open the file"):
        # feeling unsafe, fear of someone or for oneself, or of coming back is the cue
        r"\b(?:feel|feeling|felt|am|i'm|im) (?:\w+ )?unsafe\b|\b(?:feel|feeling|felt) (?:\w+ )?(?:scared|afraid"
        r"|frightened|terrified|threatened)\b",
        r"\b(?:afraid|scared|frightened|terrified|fear) for my (?:life|safety|family|kids|children)\b",
        r"\b(?:am|i'm|im) (?:\w+ )?(?:scared|afraid|frightened|terrified) (?:of (?:him|her|them|my ex\w*)\b|of what "
        r"(?:he|she|they)\b|of (?:this|that|one|a|another|some) (?:\w+ )?(?:member|user|person|guy|moderator|mod"
        r"|admin)s?\b|to (?:come|go) back\b)|\bcome after me\b",
        r"\bblocked (?:him|her|them)\b|\bmock(?:s|ed|ing)? me\b|\binsult\w*\b|\bracist\b|\bslurs?\b",
        r"\b(?:hurt|kill|attack) me\b|\bknows? where i live\b",
        # "find me" is a threat after a will or an intent ("he'd find me anywhere"), a request when
        # what to find follows ("can you find me the docs", "it will find me all open tasks")
        r"(?:\b(?:will|would|can|could|gonna|going to|coming to|come to|tr(?:y|ies|ied|ying) to|wants? to"
        r"|threaten\w* to)|'ll|'d) find me\b(?!\s+(?:a|an|the|some|any|all|one|more|this|that|these|those|my|your"
        r"|our|their|how|what|where|which|who|\d+)\b)|\bfind me\b(?=\s*(?:$|[.!?]|and (?:hurt|kill|beat|make)"
        r"|anywhere|wherever|eventually|one day|someday))",
        r"\bkeeps? (?:messaging|dming|contacting|following|tagging) me\b",
    ),
}
CUES: dict[str, re.Pattern[str]] = {
    category: re.compile("|".join(parts), re.I) for category, parts in _CUE_SOURCES.items()
}
