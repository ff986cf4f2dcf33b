"""The archive package of a closed case (stafettlogg/archive/): the PDF/A and the
arkivmelding of a case with a little of everything, read as an archive would read
them; who may take it; the line in the access log. Through the application, on both
backends."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from lxml import etree
from pypdf import PdfReader

from domain import errors
from domain.values import Actor
from stafettlogg.application import Stafettlogg
from stafettlogg.archive import NAMESPACE, package_of, schema
from stafettlogg.settings import Settings
from stafettlogg.web.pages import words
from tests.conftest import ADMIN, KARI, PER, T0, register_services
from tests.test_cli import run_cli

KIM = Actor(user="kim", service="hs-lyngdal", roles=frozenset({"worker", "coordinator"}),
            municipalities=frozenset({"4225"}))
PIA = Actor(user="pia", service="ppt-lister", roles=frozenset({"worker"}),
            municipalities=frozenset({"4225", "4227"}))
HANNE = Actor(user="hanne", service="hs-lyngdal", roles=frozenset({"worker"}),
              municipalities=frozenset({"4225"}))
OLA = Actor(user="ola", service="kvinesdal-skole", roles=frozenset({"worker"}),
            municipalities=frozenset({"4227"}))
N = {"m": "urn:x-stafettlogg:arkivmelding:1"}
SECRET_ENTRY = "Ida fortalte om krangling hjemme."


def closed_case(app: Stafettlogg) -> UUID:
    """Ida (13) in kindergarten... at school: consent, two services, an entry kept from
    the guardians, a coordinator, a meeting, an action and its evaluation, closed."""
    case = app.open_case(KARI, child_name="Ida Arkivsen", birth_date=date(2012, 6, 1),
                         national_id=None, concern="Ida trekker seg unna de andre.")
    c = case.id
    app.record_guardian(KARI, c, name="Guri Arkivsen", relation="mother")
    app.record_level0_step(KARI, c, step="vurdering", text="Observert over to uker.")
    app.record_level0_step(KARI, c, step="beslutning", text="Vi går videre til nivå 2.")
    app.register_consent(KARI, c, given_by="guardian", services=["hauge-skole", "hs-lyngdal"],
                         purpose="Samarbeid med skolen og helsestasjonen",
                         valid_until=date(2026, 12, 31), form="written")
    app.add_participant(KARI, c, service="hauge-skole")
    app.add_participant(KARI, c, service="hs-lyngdal")
    app.change_level(KARI, c, level=2, reason="To tjenester trengs.")
    secret = app.add_entry(KARI, c, kind="conversation", text=SECRET_ENTRY).result
    app.withhold_entry(KARI, c, secret, reason="Ida ba om det.")
    app.add_entry(KARI, c, kind="positive", text="Ida lo i friminuttet.")
    app.appoint_coordinator(KIM, c, user="kim", service="hs-lyngdal")
    app.hold_meeting(KARI, c, held_on=date(2026, 3, 2), services=["hauge-skole"],
                     minutes="Vi avtalte en fast voksen.")
    action = app.agree_action(KARI, c, description="Fast voksen i friminuttene",
                              responsible_service="hauge-skole",
                              evaluate_by=date(2026, 4, 1)).result
    app.evaluate_action(KARI, c, action, outcome="completed", text="Det hjalp.")
    app.read_case_view(PER, c)
    app.close_case(KARI, c, reason="concern-resolved", note="Bekymringen er løst.")
    return c


def unpacked(app: Stafettlogg, actor: Actor, case_id: UUID) -> dict[str, bytes]:
    package = package_of(app, app.archive_record(actor, case_id))
    with zipfile.ZipFile(io.BytesIO(package.to_zip())) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_the_package_holds_a_tagged_pdf_a_naming_every_step_and_a_valid_arkivmelding(
    app: Stafettlogg,
) -> None:
    case_id = closed_case(app)
    files = unpacked(app, KARI, case_id)
    assert sorted(files) == ["arkivmelding.xml", "arkivmelding.xsd", "stafettlogg.pdf"]

    pdf = PdfReader(io.BytesIO(files["stafettlogg.pdf"]))
    root = pdf.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert b"pdfaid:part" in files["stafettlogg.pdf"] or "/Metadata" in root
    metadata = root["/Metadata"].get_object().get_data().decode()
    assert re.search(r'pdfaid:part(>|=")2', metadata) and re.search(
        r'pdfaid:conformance(>|=")A', metadata)
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pdf.pages))
    log = app.case_log(case_id)
    assert len(log) >= 14
    for step in log:
        assert f"Steg {step.seq}: {words.LOG_KINDS[step.kind]}" in text, step.kind
    for written in ("Ida Arkivsen", "Guri Arkivsen", SECRET_ENTRY, "Det hjalp.",
                    "Samarbeid med skolen og helsestasjonen", "Bekymringen er løst.",
                    "Samtykker", "Tilgangsloggen", "avsluttet saken", "leste saken"):
        assert written in text, written

    xml = etree.fromstring(files["arkivmelding.xml"])
    assert schema().validate(xml), schema().error_log
    # The schema in the package is the one the XML satisfies.
    shipped = etree.XMLSchema(etree.fromstring(files["arkivmelding.xsd"]))
    assert shipped.validate(xml)
    assert xml.tag == f"{{{NAMESPACE}}}arkivmelding"
    obj = xml.find("m:saksmappe/m:journalpost/m:dokumentbeskrivelse/m:dokumentobjekt", N)
    assert obj.findtext("m:referanseDokumentfil", namespaces=N) == "stafettlogg.pdf"
    assert obj.findtext("m:sjekksum", namespaces=N) == hashlib.sha256(
        files["stafettlogg.pdf"]).hexdigest()
    assert obj.findtext("m:sjekksumAlgoritme", namespaces=N) == "SHA-256"
    assert int(obj.findtext("m:filstoerrelse", namespaces=N)) == len(files["stafettlogg.pdf"])
    assert xml.findtext("m:saksmappe/m:systemID", namespaces=N) == str(case_id)
    assert xml.findtext("m:saksmappe/m:sakspart/m:sakspartNavn", namespaces=N) == "Ida Arkivsen"


def test_the_entries_kept_from_the_guardians_are_marked_in_the_pdf_and_the_xml(
    app: Stafettlogg,
) -> None:
    case_id = closed_case(app)
    files = unpacked(app, KARI, case_id)
    (withheld,) = [e for e in app.case_log(case_id) if e.withheld]
    assert withheld.text == SECRET_ENTRY

    xml = etree.fromstring(files["arkivmelding.xml"])
    remark = xml.find("m:saksmappe/m:journalpost/m:merknad", N)
    assert remark.findtext("m:merknadstype", namespaces=N) == "Skjermet for foresatte"
    assert [int(s.text) for s in remark.findall("m:skjermetSteg", N)] == [withheld.seq]

    pdf = PdfReader(io.BytesIO(files["stafettlogg.pdf"]))
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pdf.pages))
    step = text.index(f"Steg {withheld.seq}: Samtale")
    assert "Skjult for de foresatte" in text[step:step + 300]
    assert f"(steg {withheld.seq})" in text


def test_the_same_case_gives_the_same_package_and_later_reads_do_not_change_it(
    app: Stafettlogg,
) -> None:
    case_id = closed_case(app)
    first = package_of(app, app.archive_record(KARI, case_id))
    app.read_case_view(KARI, case_id)
    again = package_of(app, app.archive_record(KIM, case_id))
    for one, other in zip(first.files, again.files, strict=True):
        assert one.name == other.name
        assert one.data == other.data, (one.name, first_difference(one.data, other.data))
    assert again.to_zip() == first.to_zip()


def first_difference(one: bytes, other: bytes) -> tuple[bytes, bytes]:
    """Where two files part, with some bytes before it (for the failure's message)."""
    at = next((i for i, (a, b) in enumerate(zip(one, other)) if a != b),
              min(len(one), len(other)))
    return one[max(at - 300, 0):at + 80], other[max(at - 300, 0):at + 80]


def test_after_erasure_the_package_holds_no_personal_data_and_still_validates(
    app: Stafettlogg,
) -> None:
    """A package made after the child's data is erased (crypto-shredding) reads
    `[slettet]` where the sealed fields were: the archive copy handed on before is the
    archive's; the service keeps nothing it could still open."""
    case_id = closed_case(app)
    app.erase_child_data(ADMIN, case_id, reason="Krav om sletting, journalpost 2026/77")
    files = unpacked(app, KARI, case_id)
    pdf = PdfReader(io.BytesIO(files["stafettlogg.pdf"]))
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pdf.pages))
    everything = text + files["arkivmelding.xml"].decode()
    for written in ("Ida Arkivsen", "Guri Arkivsen", SECRET_ENTRY, "Det hjalp.",
                    "Bekymringen er løst.", "Vi avtalte en fast voksen."):
        assert written not in everything, written
    assert "[slettet]" in text
    xml = etree.fromstring(files["arkivmelding.xml"])
    assert schema().validate(xml), schema().error_log
    assert xml.findtext("m:saksmappe/m:sakspart/m:sakspartNavn", namespaces=N) == "[slettet]"


def test_the_holder_and_the_coordinator_may_take_it_and_each_download_is_logged(
    app: Stafettlogg,
) -> None:
    case_id = closed_case(app)
    app.archive_record(KARI, case_id)
    app.archive_record(KIM, case_id)
    lines = app.read_access_log(KARI, case_id)
    downloads = [(line.user, line.service) for line in lines if line.action == "download-archive"]
    assert downloads == [("kari", "bhg-solsikken"), ("kim", "hs-lyngdal")]
    assert app.case_page(KARI, case_id).archive and app.case_page(KIM, case_id).archive
    assert not app.case_page(PER, case_id).archive


def test_others_are_refused_and_nothing_is_logged(app: Stafettlogg) -> None:
    case_id = closed_case(app)
    before = len(app.read_access_log(KARI, case_id))
    with pytest.raises(errors.Forbidden):  # taking part, but neither holder nor coordinator
        app.archive_record(PER, case_id)
    with pytest.raises(errors.NotFound):  # another municipality: the case does not exist
        app.archive_record(OLA, case_id)
    with pytest.raises(errors.NotFound):  # not taking part in the case
        app.archive_record(PIA, case_id)
    assert len(app.read_access_log(KARI, case_id)) == before + 1  # only that read itself


def test_an_open_case_has_no_package_yet(app: Stafettlogg) -> None:
    case = app.open_case(KARI, child_name="Åpen Sak", birth_date=date(2020, 1, 1),
                         national_id=None, concern="Noe å undre seg over.")
    with pytest.raises(errors.ArchiveNotReady) as refused:
        app.archive_record(KARI, case.id)
    assert refused.value.code == "case-not-closed"
    assert not app.case_page(KARI, case.id).archive


# --- stafettlogg archive export (SQLite, through the real command) ---------------------


def test_archive_export_writes_the_packages_of_the_cases_closed_in_the_period(
    tmp_path: Path,
) -> None:
    data = tmp_path / "var"
    app = Stafettlogg(Settings.from_env({"STAFETTLOGG_DATA_DIR": str(data)}), clock=lambda: T0)
    try:
        register_services(app)
        case_id = closed_case(app)
        still_open = app.open_case(KARI, child_name="Ikke Ferdig", birth_date=date(2020, 1, 1),
                                   national_id=None, concern="Vi følger med.").id
    finally:
        app.close()

    out = tmp_path / "arkiv" / "2026-Q1"
    done = run_cli(data, "archive", "export", "--period", "2026-Q1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "1 avsluttede saker" in done.stdout
    (written,) = out.iterdir()
    assert written.name == f"arkivpakke-{case_id}.zip"
    assert written.stat().st_mode & 0o077 == 0
    with zipfile.ZipFile(written) as z:
        xml = etree.fromstring(z.read("arkivmelding.xml"))
        assert schema().validate(xml)
        assert xml.findtext(".//m:dokumentobjekt/m:sjekksum", namespaces=N) == hashlib.sha256(
            z.read("stafettlogg.pdf")).hexdigest()
    assert str(still_open) not in done.stdout + "".join(p.name for p in out.iterdir())

    none = run_cli(data, "archive", "export", "--period", "2026-Q2", "--out", str(tmp_path / "q2"))
    assert none.returncode == 0 and "0 avsluttede saker" in none.stdout

    app = Stafettlogg(Settings.from_env({"STAFETTLOGG_DATA_DIR": str(data)}), clock=lambda: T0)
    try:
        lines = app.read_access_log(KARI, case_id)
    finally:
        app.close()
    assert [(line.user, line.action) for line in lines if line.action == "archive-export"] == [
        ("system", "archive-export")]


def test_archive_export_refuses_a_bad_period_or_a_directory_it_cannot_write(
    tmp_path: Path,
) -> None:
    data = tmp_path / "var"
    bad = run_cli(data, "archive", "export", "--period", "2026-Q5", "--out", str(tmp_path))
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1] == (
        "stafettlogg: archive export: --period: Et kvartal skrives Q1, Q2, Q3 eller Q4, "
        "for eksempel 2026-Q3.")
    a_file = tmp_path / "en-fil"
    a_file.write_text("ikke en mappe")
    unwritable = run_cli(data, "archive", "export", "--period", "2026", "--out",
                         str(a_file / "arkiv"))
    assert unwritable.returncode == 2
    assert "--out: kan ikke skrive arkivpakker i" in unwritable.stderr
    assert "Traceback" not in bad.stderr + unwritable.stderr
