"""The console's ASGI application: routes, sessions, security headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.web.http import render
from adapters.web.pages import access, cases, chat, knowledge, review, scorecard

STATIC = Path(__file__).parent / "static"

HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                 b"script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Every response: no framing, no inline script, no sniffing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def home(request: Request) -> Response:
    return RedirectResponse("/scorecard", status_code=303)


async def not_found(request: Request, exc: Exception) -> Response:
    request.state.user = None
    return render(request, "refused.html", 404, message=f"There is no page at {request.url.path}.", back="/")


def build_app(console: Any) -> Starlette:
    routes = [
        Route("/", home),
        Route("/login", access.login_page, methods=["GET"]),
        Route("/login", access.login_post, methods=["POST"]),
        Route("/logout", access.logout, methods=["POST"]),
        Route("/users", access.users_page, methods=["GET"]),
        Route("/users", access.users_create, methods=["POST"]),
        Route("/users/{name}/remove", access.users_remove, methods=["POST"]),
        Route("/scorecard", scorecard.scorecard_page),
        Route("/scorecard/charts", scorecard.charts_fragment),
        Route("/knowledge", knowledge.knowledge_page),
        Route("/knowledge/review", review.review_page, methods=["GET"]),
        Route("/knowledge/review", review.review_post, methods=["POST"]),
        Route("/knowledge/import", knowledge.import_page, methods=["GET"]),
        Route("/knowledge/import", knowledge.import_upload, methods=["POST"]),
        Route("/knowledge/import/{job}", knowledge.import_job),
        Route("/knowledge/{entry_id:path}", knowledge.entry_page),
        Route("/cases", cases.cases_page),
        Route("/cases/{space}/{key:path}/export", cases.case_export),
        Route("/cases/{space}/{key:path}/claim", cases.case_claim, methods=["POST"]),
        Route("/cases/{space}/{key:path}/send", cases.case_send, methods=["POST"]),
        Route("/cases/{space}/{key:path}", cases.case_page),
        Route("/chat", chat.chat_page),
        Route("/chat/ask", chat.chat_ask, methods=["POST"]),
        Route("/chat/feedback", chat.chat_feedback, methods=["POST"]),
        Route("/chat/staff", chat.chat_staff, methods=["POST"]),
        Route("/chat/card", chat.chat_card_button, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    config = console.config
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=console.session_secret, session_cookie="journeybot_console",
                   max_age=12 * 3600, same_site="lax", https_only=config.secure),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})
    app.state.console = console
    return app
