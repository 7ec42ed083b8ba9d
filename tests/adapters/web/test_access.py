"""Who may use the console: no login on loopback only, tokens stored hashed,
roles, CSRF on every change, and a refused change changes nothing."""

from __future__ import annotations

import json

from adapters.web.access import hash_token, is_loopback
from adapters.web.console import ConsoleConfig
from storage.eventlog import EventLog
from tests.adapters.web.conftest import Browser, account, head_of

PAGES = ("/scorecard", "/knowledge", "/knowledge/review", "/knowledge/import", "/cases", "/chat")


def test_only_a_loopback_bind_goes_without_login() -> None:
    assert not ConsoleConfig(host="127.0.0.1").needs_login
    assert not ConsoleConfig(host="::1").needs_login
    assert not ConsoleConfig(host="localhost").needs_login
    assert ConsoleConfig(host="0.0.0.0").needs_login
    assert ConsoleConfig(host="192.168.1.20").needs_login
    assert ConsoleConfig(host="0.0.0.0").secure, "off loopback the session cookie is Secure"
    assert is_loopback("127.0.0.2") and not is_loopback("example.org")


async def test_on_loopback_every_page_opens_without_login(local: Browser) -> None:
    for path in PAGES:
        page = await local.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert "local operator" in page.text
    headers = (await local.get("/scorecard")).headers
    assert headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in headers["content-security-policy"]


async def test_off_loopback_pages_ask_for_a_login_first(guarded: Browser) -> None:
    for path in PAGES:
        page = await guarded.get(path)
        assert page.status_code == 303 and page.headers["location"].startswith("/login"), path


async def test_the_admin_token_is_printed_once_and_only_its_hash_is_stored(guarded: Browser) -> None:
    token = guarded.admin_token
    assert len(token) >= 40
    stored = await guarded.console.overview.kept("web-accounts")
    assert stored["admin"]["token_sha256"] == hash_token(token)
    assert token not in json.dumps(stored)
    answer = await guarded.login(token)
    assert answer.status_code == 303 and answer.headers["location"] == "/scorecard"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    page = await guarded.get("/scorecard")
    assert page.status_code == 200 and "admin · admin" in page.text


async def test_a_wrong_token_is_refused_with_a_clear_message(guarded: Browser) -> None:
    answer = await guarded.login("not-a-token")
    assert answer.status_code == 401
    assert "That token is not valid" in answer.text
    assert (await guarded.get("/scorecard")).status_code == 303


async def test_a_change_without_the_csrf_token_changes_nothing(local: Browser) -> None:
    log = EventLog(local.console.core.db)
    before = await head_of(log)
    answer = await local.post("/chat/ask", {"text": "How do I rotate my API key?"}, csrf=False)
    assert answer.status_code == 403
    assert "security token (CSRF)" in answer.text
    wrong = await local.client.post("/chat/ask", data={"text": "hello", "csrf": "forged"})
    assert wrong.status_code == 403
    assert await head_of(log) == before, "nothing reached the core"


async def test_a_viewer_looks_but_cannot_change_anything(guarded: Browser) -> None:
    token = await account(guarded, "vera", "viewer")
    await guarded.login(token)
    assert (await guarded.get("/cases")).status_code == 200
    log = EventLog(guarded.console.core.db)
    before = await head_of(log)
    answer = await guarded.post("/chat/ask", {"text": "How do I rotate my API key?"})
    assert answer.status_code == 403 and "read-only" in answer.text
    upload = await guarded.post("/knowledge/import", files={"file": ("faq.yaml", b"- questions: [a]\n  answer: b\n")})
    assert upload.status_code == 403
    assert await head_of(log) == before
    chat = await guarded.get("/chat")
    assert "Send to #help" not in chat.text, "a viewer is not offered a form they cannot use"


async def test_only_the_admin_manages_accounts_and_a_removed_account_loses_its_session(guarded: Browser) -> None:
    await guarded.login(guarded.admin_token)
    made = await guarded.post("/users", {"name": "sofia", "role": "staff"})
    assert made.status_code == 303
    shown = await guarded.get("/users")
    token = shown.text.split('<code class="token">')[1].split("</code>")[0]
    assert "sofia" in shown.text and token not in (await guarded.get("/users")).text, "the token is shown once"
    bad = await guarded.post("/users", {"name": "x y", "role": "staff"})
    assert bad.status_code == 400 and "letters, digits" in bad.text
    await guarded.post("/logout", {})
    await guarded.login(token)
    page = await guarded.get("/chat")
    assert "sofia · staff" in page.text
    assert (await guarded.get("/users")).status_code == 403
    await guarded.console.accounts.remove("sofia", by="test")
    assert (await guarded.get("/chat")).status_code == 303, "removed: the session ends at once"
