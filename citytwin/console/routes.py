"""HTTP routes of the operator console."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from fastapi.templating import Jinja2Templates

from citytwin.console.overview import load_overview
from citytwin.i18n import MESSAGES, Language, text
from twins.client import DittoClient
from twins.errors import DittoError, DittoUnauthorizedError

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


ClientFactory = Callable[[str, str], DittoClient]
"""Builds a Ditto client for an operator's user name and password."""

BASIC = HTTPBasic(realm="citytwin", auto_error=True)


def console_router(client_factory: ClientFactory, default_language: Language) -> APIRouter:
    """The console's pages, read from the twins with the operator's own credentials.

    The browser asks for the twin API's user name and password (HTTP basic); each twin's
    policy then decides what this operator sees.
    """
    router = APIRouter(tags=["console"])

    @router.get("/", response_class=HTMLResponse, summary="Province overview")
    async def overview(
        request: Request,
        credentials: Annotated[HTTPBasicCredentials, Depends(BASIC)],
        lang: Annotated[Literal["vi", "en"] | None, Query(description="vi or en")] = None,
    ) -> HTMLResponse:
        language: Language = lang or default_language

        def read() -> object:
            with client_factory(credentials.username, credentials.password) as client:
                return load_overview(client, language)

        error = None
        data = None
        try:
            data = await asyncio.to_thread(read)
        except DittoUnauthorizedError:
            raise HTTPException(
                status_code=401,
                detail=text("login_failed", language),
                headers={"WWW-Authenticate": 'Basic realm="citytwin"'},
            ) from None
        except DittoError as exc:
            error = str(exc)

        def t(key: str) -> str:
            return text(key, language) if key in MESSAGES else key

        return TEMPLATES.TemplateResponse(
            request,
            "overview.html",
            {
                "t": t,
                "lang": language,
                "other": "en" if language == "vi" else "vi",
                "data": data,
                "error": text("unavailable", language, error=error) if error else None,
            },
        )

    return router
