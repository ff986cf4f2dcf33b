"""After an erasure the API shows the child's sealed fields as erased: the log's texts
and the case's child read `[slettet]`, the erasure is the log's last step (with its
reason and no personal data), and nothing of the child is in any answer."""

from __future__ import annotations

from stafettlogg.application import SHREDDED
from tests.conftest import ADMIN, KARI

NAME, CONCERN, NOTE = "Ingrid Solheim Aasen", "Ingrid virker stille og lei seg.", "Løst i mai."
REASON = "Krav om sletting, journalpost 2026/1234"


async def test_the_log_endpoint_shows_the_sealed_fields_as_erased(stafettlogg, as_user):
    case = stafettlogg.open_case(KARI, child_name=NAME, concern=CONCERN,
                                 national_id="02013299997")
    stafettlogg.record_level0_step(KARI, case.id, step="beslutning", text="Vi avslutter.")
    stafettlogg.close_case(KARI, case.id, reason="concern-resolved", note=NOTE)
    before = await as_user("kari", "get", f"/api/v1/cases/{case.id}/log")
    assert before.status_code == 200
    assert CONCERN in before.text

    stafettlogg.erase_child_data(ADMIN, case.id, reason=REASON)

    log = await as_user("kari", "get", f"/api/v1/cases/{case.id}/log")
    assert log.status_code == 200
    entries = log.json()["entries"]
    assert {e["text"] for e in entries if e["text"] is not None} == {SHREDDED}
    assert entries[-1]["kind"] == "child-data-erased"
    assert entries[-1]["details"] == {"reason": "request", "archive_years": None,
                                      "note": REASON}
    read = await as_user("kari", "get", f"/api/v1/cases/{case.id}")
    assert read.status_code == 200
    assert SHREDDED in read.text
    for answer in (log, read):
        for secret in (NAME, "Ingrid", CONCERN, NOTE, "02013299997"):
            assert secret not in answer.text, secret
