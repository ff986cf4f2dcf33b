"""Filters and tests the case pages' templates use to turn view models into the
options of a form: (value, text) pairs, with Norwegian names instead of ids."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jinja2 import Environment

from stafettlogg.web.pages import words
from stafettlogg.web.pages.templating import dato


def service_option(service_id: str, names: Any) -> tuple[str, str]:
    return service_id, names.service(service_id)


def person_option(member: Any, names: Any) -> tuple[str, str]:
    return member.id, f"{member.name} ({names.service(member.service)})"


def people_group(group: tuple[str, Iterable[Any]], names: Any) -> tuple[str, list[tuple[str, str]]]:
    """A `groupby("service")` group as an <optgroup>: the service's name, its people."""
    service_id, members = group
    return names.service(service_id), [(m.id, m.name) for m in members]


def step_option(item: tuple[str, tuple[str, str]]) -> tuple[str, str]:
    code, (label, guidance) = item
    return code, f"{label}: {guidance}"


def action_option(action: Any, names: Any) -> tuple[str, str]:
    return str(action.id), (f"{names.service(action.responsible_service)}, "
                            f"evalueres innen {dato(action.evaluate_by)}")


def consent_option(consent: Any, names: Any) -> tuple[str, str]:
    services = ", ".join(names.service(s) for s in consent.services)
    return str(consent.id), f"{services} (til {dato(consent.valid_until)})"


def entry_option(entry: Any) -> tuple[str, str]:
    """An earlier entry of the log, as the choice of what a correction corrects."""
    text = entry.text or ""
    short = text if len(text) <= 50 else text[:49].rstrip() + "…"
    kind = words.LOG_KINDS.get(entry.kind, entry.kind)
    return str(entry.details["entry_id"]), f"{dato(entry.at)}, {kind.lower()}: {short}"


def guardian_option(guardian: Any) -> tuple[str, str]:
    relation = words.GUARDIAN_RELATIONS.get(guardian.relation, guardian.relation).lower()
    return str(guardian.id), f"{guardian.name} ({relation})"


def register(env: Environment) -> None:
    for fn in (service_option, person_option, people_group, step_option, action_option,
               consent_option, entry_option, guardian_option):
        env.filters[fn.__name__] = fn
    env.tests["contains"] = lambda container, item: item in container
