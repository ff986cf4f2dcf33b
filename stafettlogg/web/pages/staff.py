"""The pages for staff, mounted beside the API: sign-in (pages/auth.py), case work
(pages/cases.py), administration (pages/admin.py), the evaluators' statistics
(pages/statistics.py), the training register (pages/training.py), the staff survey
(pages/survey.py) and the family's
pages (pages/family.py), with what they share: the
signed-in `viewer`, the checked `form`,
the sessions and the OIDC client (kept in the app's state by `staff_state`)."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.di import Provide
from litestar.stores.file import FileStore

from stafettlogg.settings import Settings
from stafettlogg.web.oidc import OidcClient
from stafettlogg.web.pages import (
    admin, auth, cases, family, implementation_plan, implementation_results, notices,
    statistics, survey, training,
)
from stafettlogg.web.sessions import Sessions


def staff_state(settings: Settings, *, demo_sign_in: bool) -> dict[str, Any]:
    """What the staff pages keep in the app's state."""
    store = FileStore(settings.data_dir / "sessions", create_directories=True)
    return {
        "sessions": Sessions(store, idle_minutes=settings.session_idle_minutes,
                             secure=settings.secure_cookies),
        "oidc": OidcClient.for_staff(settings) if settings.oidc_issuer else None,
        "family_oidc": OidcClient.for_family(settings) if settings.family_oidc_issuer else None,
        "demo_sign_in": demo_sign_in,
    }


def staff_router() -> Router:
    return Router(
        path="/",
        route_handlers=[*auth.ROUTES, *cases.ROUTES, *admin.ROUTES, *statistics.ROUTES,
                        *family.ROUTES, *notices.ROUTES, *training.ROUTES,
                        *implementation_plan.ROUTES, *survey.ROUTES,
                        *implementation_results.ROUTES],
        dependencies={
            "viewer": Provide(auth.provide_viewer),
            "form": Provide(auth.provide_form),
            "family": Provide(family.provide_family),
        },
        exception_handlers={**auth.EXCEPTION_HANDLERS, **family.EXCEPTION_HANDLERS},
    )
