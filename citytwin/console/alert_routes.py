"""The console's alert inbox and KPI scorecard pages.

    GET /alerts            the inbox: alerts by urgency, filters, live (server-sent events
                           from /api/alerts/stream), acknowledge/resolve for operators,
                           each alert's history and snapshot
    GET /kpis              the scorecard of a scope and period: lights and trend arrows
    GET /console/{name}.js the pages' code

The pages are shells: their script reads and acts through the alerts and KPI API
(``citytwin.api``) with the browser's login, so the console does exactly what another
system may do with the same role, and the role only decides which buttons are shown —
the API refuses what the role may not do whatever the page shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.security import HTTPBasicCredentials
from fastapi.templating import Jinja2Templates
from pydantic import AwareDatetime

from analytics.alerts.model import AlertState, RuleType, Severity
from analytics.kpis.windows import Window
from citytwin.api.access import BASIC
from citytwin.auth import Authenticator, Principal, Role
from citytwin.i18n import MESSAGES, Language, text

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATIC = Path(__file__).parent / "static"
CHALLENGE = {"WWW-Authenticate": 'Basic realm="citytwin"'}
SCRIPTS = frozenset({"alerts", "kpis"})

PAGE_LABELS = (
    "alerts_title", "kpis_title", "alerts_live", "alerts_offline", "alerts_none",
    "alerts_acknowledge", "alerts_resolve", "alerts_false_alarm", "alerts_history",
    "alerts_evidence", "alerts_close", "alerts_refused", "alerts_assignee", "alerts_note",
    "alerts_add_note", "alerts_assign", "kpi_none",
    "kpi_unavailable",
)  # fmt: skip
"""Labels the scripts need besides the vocabularies (states, severities, …)."""


def _vocabulary(language: Language) -> dict[str, str]:
    words = list(PAGE_LABELS)
    words += [f"state_{state}" for state in AlertState]
    words += [f"severity_{severity.label}" for severity in Severity]
    words += [f"rule_{rule}" for rule in RuleType]
    words += [key for key in MESSAGES if key.startswith(("action_", "light_", "trend_"))]
    words += [f"window_{window.value}" for window in Window]
    return {key: MESSAGES[key][language] for key in words}  # placeholders filled by the script


def console_alerts_router(authenticator: Authenticator, default_language: Language) -> APIRouter:
    router = APIRouter(tags=["console"])

    def login(credentials: HTTPBasicCredentials | None, language: Language) -> Principal:
        principal = None
        if credentials is not None:
            principal = authenticator.by_password(credentials.username, credentials.password)
        if principal is None:
            raise HTTPException(401, text("login_failed", language), headers=CHALLENGE)
        return principal

    def render(request: Request, template: str, language: Language, principal: Principal,
               page: dict[str, object]) -> HTMLResponse:  # fmt: skip
        def t(key: str) -> str:
            return text(key, language) if key in MESSAGES else key

        config = {
            "lang": language,
            "user": principal.name,
            "role": str(principal.role),
            "canAct": principal.may(Role.OPERATOR),
            "labels": _vocabulary(language),
            **page,
        }
        return TEMPLATES.TemplateResponse(
            request,
            template,
            {
                "t": t,
                "lang": language,
                "switch": "?"
                + urlencode({**request.query_params, "lang": "en" if language == "vi" else "vi"}),
                "signed_in": text(
                    "alerts_signed_in",
                    language,
                    name=principal.name,
                    role=text(f"role_{principal.role}", language),
                ),
                # "<" escaped: no value may end the <script> it is embedded in
                "page": json.dumps(config, ensure_ascii=False).replace("<", "\\u003c"),
                "states": list(AlertState),
                "severities": [severity.label for severity in reversed(Severity)],
                "rule_types": list(RuleType),
                "windows": [window.value for window in Window],
            },
        )

    @router.get("/alerts", response_class=HTMLResponse, summary="Alert inbox")
    async def alerts_page(
        request: Request,
        credentials: Annotated[HTTPBasicCredentials | None, Depends(BASIC)],
        lang: Annotated[Literal["vi", "en"] | None, Query(description="vi or en")] = None,
    ) -> HTMLResponse:
        language: Language = lang or default_language
        principal = login(credentials, language)
        return render(request, "alerts.html", language, principal, {})

    @router.get("/kpis", response_class=HTMLResponse, summary="KPI scorecard")
    async def kpis_page(
        request: Request,
        credentials: Annotated[HTTPBasicCredentials | None, Depends(BASIC)],
        lang: Annotated[Literal["vi", "en"] | None, Query(description="vi or en")] = None,
        scope: Annotated[str, Query(max_length=300)] = "province",
        window: Annotated[Window, Query()] = Window.DAY,
        at: Annotated[
            AwareDatetime | None, Query(description="a moment in the period (default: now)")
        ] = None,
    ) -> HTMLResponse:
        language: Language = lang or default_language
        principal = login(credentials, language)
        chosen: dict[str, object] = {"scope": scope, "window": window.value}
        chosen |= {"at": at.isoformat()} if at is not None else {}
        return render(request, "kpis.html", language, principal, chosen)

    @router.get("/console/{name}.js", include_in_schema=False)
    async def script(name: str) -> FileResponse:
        if name not in SCRIPTS:
            raise HTTPException(404, f"no script {name!r}")
        return FileResponse(STATIC / f"{name}.js", media_type="text/javascript")

    return router
