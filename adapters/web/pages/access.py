"""Logging in and out, and the admin's accounts page."""

from __future__ import annotations

import logging

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from adapters.web.access import ROLES, AccessError, User
from adapters.web.http import Refused, change, checked_form, console_of, csrf_token, flash, page, render

logger = logging.getLogger(__name__)


def _next(value: str | None) -> str:
    """Only a path on this site: never send someone elsewhere after login."""
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


async def login_page(request: Request) -> Response:
    console = console_of(request)
    if not console.config.needs_login:
        return RedirectResponse("/", status_code=303)
    csrf_token(request)
    return render(request, "login.html", next=_next(request.query_params.get("next")), user=None)


async def login_post(request: Request) -> Response:
    console = console_of(request)
    if not console.config.needs_login:
        return RedirectResponse("/", status_code=303)
    try:
        form = await checked_form(request)
    except Refused as refused:
        return render(request, "login.html", refused.status, next="/", user=None, error=refused.message)
    user = await console.accounts.login(str(form.get("token") or ""))
    if user is None:
        logger.warning("web: a login with an unknown token was refused")
        return render(request, "login.html", 401, next=_next(str(form.get("next") or "")), user=None,
                      error="That token is not valid. Check it, or ask the admin for a new one.")
    request.session.clear()  # a fresh session (and CSRF token) on login
    request.session["user"] = user.name
    csrf_token(request)
    logger.info("web: %s logged in", user.name)
    return RedirectResponse(_next(str(form.get("next") or "")), status_code=303)


async def logout(request: Request) -> Response:
    try:
        await checked_form(request)
    except Refused as refused:
        return render(request, "refused.html", refused.status, message=refused.message, back="/", user=None)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@page
async def users_page(request: Request, user: User) -> Response:
    if not user.is_admin:
        raise Refused("Only the admin manages accounts.", 403)
    console = console_of(request)
    token = request.session.pop("new_token", None)
    return render(request, "users.html", accounts=await console.accounts.all(), roles=ROLES[1:],
                  new_token=token)


@change("admin")
async def users_create(request: Request, user: User, form: FormData) -> Response:
    console = console_of(request)
    name = str(form.get("name") or "")
    try:
        token = await console.accounts.create(name, str(form.get("role") or ""), by=user.name)
    except AccessError as exc:
        raise Refused(str(exc)) from exc
    request.session["new_token"] = {"name": name.strip(), "token": token}
    return RedirectResponse("/users", status_code=303)


@change("admin")
async def users_remove(request: Request, user: User, form: FormData) -> Response:
    console = console_of(request)
    name = request.path_params["name"]
    try:
        await console.accounts.remove(name, by=user.name)
    except AccessError as exc:
        raise Refused(str(exc), 404 if "no account" in str(exc) else 400) from exc
    flash(request, f"Removed {name}; their sessions end now.")
    return RedirectResponse("/users", status_code=303)
