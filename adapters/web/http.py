"""What every page handler shares: who is asking, the CSRF check, rendering,
and turning bad input into a clear page that changed nothing."""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from adapters.web.access import LOCAL_OPERATOR, User
from adapters.web.commands import VIEWER_REFUSED

logger = logging.getLogger(__name__)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.autoescape = True

Handler = Callable[..., Awaitable[Response]]


class Refused(Exception):
    """Bad input or a forbidden change: shown as a page with ``message``; nothing changed."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def console_of(request: Request) -> Any:
    return request.app.state.console


async def current_user(request: Request) -> User | None:
    console = console_of(request)
    if not console.config.needs_login:
        return LOCAL_OPERATOR
    name = request.session.get("user")
    if not name:
        return None
    user: User | None = await console.accounts.get(name)  # removed accounts lose their sessions at once
    if user is None:
        request.session.clear()
    return user


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches the session's."""
    form = await request.form(max_part_size=25 * 1024 * 1024)
    sent = str(form.get("csrf") or request.headers.get("x-csrf-token") or "")
    expected = str(request.session.get("csrf") or "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        logger.warning("web: %s %s refused: missing or wrong CSRF token", request.method, request.url.path)
        raise Refused("This form has no valid security token (CSRF), so nothing was changed. "
                      "Reload the page and try again.", 403)
    return form


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    console = console_of(request)
    context.setdefault("user", getattr(request.state, "user", None))
    context.setdefault("csrf", csrf_token(request))
    context.setdefault("needs_login", console.config.needs_login)
    context.setdefault("flash", request.session.pop("flash", None))
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def refused_page(request: Request, refused: Refused) -> Response:
    if request.headers.get("hx-request"):
        return render(request, "_flash.html", refused.status, flash={"ok": False, "text": refused.message})
    return render(request, "refused.html", refused.status, message=refused.message,
                  back=request.headers.get("referer") or "/")


def flash(request: Request, text: str, *, ok: bool = True) -> None:
    request.session["flash"] = {"ok": ok, "text": text}


def page(handler: Handler) -> Handler:
    """A page anyone logged in may read (viewers included)."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        user = await current_user(request)
        if user is None:
            if request.headers.get("hx-request"):
                return Response(status_code=401, headers={"HX-Redirect": "/login"})
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        request.state.user = user
        try:
            return await handler(request, user)
        except Refused as refused:
            return refused_page(request, refused)

    return wrapper


def change(*roles: str) -> Callable[[Handler], Handler]:
    """A post that changes something: CSRF checked first, then the role
    (viewers never; ``roles`` when given). The handler gets the form."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: Request) -> Response:
            user = await current_user(request)
            if user is None:
                return Response("Log in first.", status_code=401, headers={"HX-Redirect": "/login"})
            request.state.user = user
            try:
                form = await checked_form(request)
                if not user.can_change:
                    logger.info("web: viewer %s tried %s: refused", user.name, request.url.path)
                    raise Refused(VIEWER_REFUSED, 403)
                if roles and user.role not in roles:
                    raise Refused(f"A {user.role} cannot do this; nothing was changed.", 403)
                return await handler(request, user, form)
            except Refused as refused:
                return refused_page(request, refused)

        return wrapper

    return wrap
