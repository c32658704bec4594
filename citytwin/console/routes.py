"""HTTP routes of the operator console."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from citytwin.console.overview import load_overview
from citytwin.i18n import MESSAGES, Language, text
from twins.client import DittoClient
from twins.errors import DittoError

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def console_router(
    client_factory: Callable[[], DittoClient], default_language: Language
) -> APIRouter:
    """The console's pages; ``client_factory`` gives a Ditto client per request."""
    router = APIRouter(tags=["console"])

    @router.get("/", response_class=HTMLResponse, summary="Province overview")
    async def overview(
        request: Request,
        lang: Annotated[Literal["vi", "en"] | None, Query(description="vi or en")] = None,
    ) -> HTMLResponse:
        language: Language = lang or default_language

        def read() -> object:
            with client_factory() as client:
                return load_overview(client, language)

        error = None
        data = None
        try:
            data = await asyncio.to_thread(read)
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
