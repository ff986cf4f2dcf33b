"""`GET /api/v1/cases/{id}/archive`: the archive package of a closed case over HTTP,
for the holder at closure and the case's coordinator; refused for others as other
case reads are; each download in the access log."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date
from typing import Any

from lxml import etree

from stafettlogg.application import Stafettlogg
from stafettlogg.archive import schema
from tests.conftest import KARI

N = {"m": "urn:x-stafettlogg:arkivmelding:1"}


def closed(app: Stafettlogg) -> str:
    case = app.open_case(KARI, child_name="Arkiv Apisen", birth_date=date(2018, 2, 3),
                         national_id=None, concern="Trenger litt ekstra.")
    app.record_level0_step(KARI, case.id, step="beslutning", text="Vi deler med skolen.")
    app.register_consent(KARI, case.id, given_by="guardian", services=["hauge-skole"],
                         purpose="Overgang til skolen", valid_until=date(2026, 12, 31),
                         form="written")
    app.add_participant(KARI, case.id, service="hauge-skole")
    app.close_case(KARI, case.id, reason="concern-resolved")
    return str(case.id)


async def test_the_holder_downloads_the_zip_and_the_download_is_in_the_access_log(
    stafettlogg: Stafettlogg, as_user: Any,
) -> None:
    case_id = closed(stafettlogg)
    answer = await as_user("kari", "get", f"/api/v1/cases/{case_id}/archive")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="arkivpakke-{case_id}.zip"')
    with zipfile.ZipFile(io.BytesIO(answer.content)) as z:
        pdf, xml = z.read("stafettlogg.pdf"), etree.fromstring(z.read("arkivmelding.xml"))
    assert pdf.startswith(b"%PDF-")
    assert schema().validate(xml)
    assert xml.findtext(".//m:dokumentobjekt/m:sjekksum", namespaces=N) == hashlib.sha256(
        pdf).hexdigest()

    log = await as_user("kari", "get", f"/api/v1/cases/{case_id}/access-log")
    actions = [(line["user"], line["action"]) for line in log.json()["items"]]
    assert ("kari", "download-archive") in actions


async def test_others_are_refused_as_for_other_reads_and_nothing_is_logged(
    stafettlogg: Stafettlogg, as_user: Any,
) -> None:
    case_id = closed(stafettlogg)
    per = await as_user("per", "get", f"/api/v1/cases/{case_id}/archive")
    assert per.status_code == 403 and per.json()["code"] == "forbidden"
    ola = await as_user("ola", "get", f"/api/v1/cases/{case_id}/archive")
    assert ola.status_code == 404
    nobody = await as_user(None, "get", f"/api/v1/cases/{case_id}/archive")
    assert nobody.status_code == 401
    log = await as_user("kari", "get", f"/api/v1/cases/{case_id}/access-log")
    assert not [line for line in log.json()["items"] if line["action"] == "download-archive"]


async def test_an_open_case_answers_409_case_not_closed(
    stafettlogg: Stafettlogg, as_user: Any,
) -> None:
    case = stafettlogg.open_case(KARI, child_name="Fortsatt Åpen", birth_date=date(2019, 1, 1),
                                 national_id=None, concern="Vi undrer oss.")
    answer = await as_user("kari", "get", f"/api/v1/cases/{case.id}/archive")
    assert answer.status_code == 409
    assert answer.json()["code"] == "case-not-closed"
