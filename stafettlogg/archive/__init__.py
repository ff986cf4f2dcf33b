"""The archive package of a closed case: what a municipality's archive takes in.

A package is one zip, `arkivpakke-<case id>.zip`, with three files:

* `stafettlogg.pdf`: the case as it was closed, the whole log, the consents and the
  access log up to the closing, as a tagged PDF/A-2a, rendered by WeasyPrint from the
  template `arkiv.html`, which shares the case page's pieces (`_logg.html`);
* `arkivmelding.xml`: a Noark 5-style arkivmelding (saksmappe, journalpost,
  dokumentbeskrivelse, dokumentobjekt) that names the PDF with its SHA-256 checksum
  and size, and marks the entries kept from the guardians (a `merknad` naming their
  steps); checked against the schema before the package is handed out;
* `arkivmelding.xsd`: that schema (shipped beside this module), for the archive.

The package is made from the record the application reads from the case's events up
to the closing (`Stafettlogg.archive_record`, `stafettlogg/archive_reads.py`), each
time it is asked for, and never stored: nothing of it is written to disk in clear,
and crypto-shredding the child's key makes every later package show `[slettet]`.
The same record gives the same bytes: the PDF's dates are the closing's and its file
id is derived from the case's id, the zip's entries carry the closing's time.
(The staff's and services' names are the directory's of the day.)

Why PDF/A-2a: level a is the tagged level (a screen reader reads the tables as
tables, as the evaluators' report); part 2 because part 3 adds only the embedding of
files of any format, which an archive does not want, and because part 2 is the
newest part that Norwegian archive regulations have named as an archival format.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from lxml import etree

if TYPE_CHECKING:
    from stafettlogg.views import ArchiveRecord

SCHEMA_FILE = Path(__file__).resolve().parent / "arkivmelding.xsd"
NAMESPACE = "urn:x-stafettlogg:arkivmelding:1"
PDF_NAME = "stafettlogg.pdf"
XML_NAME = "arkivmelding.xml"
XSD_NAME = "arkivmelding.xsd"
PDF_VARIANT = "pdf/a-2a"
# PRONOM's id of PDF/A-2a, as Noark 5 names formats.
PDF_FORMAT = ("fmt/476", "PDF/A-2a")
# The case is subject to the duty of confidentiality: exempt from public access
# (offentleglova § 13 with forvaltningsloven § 13).
RESTRICTION = ("13", "Offl. § 13, jf. fvl. § 13")
WITHHELD_REMARK = "Skjermet for foresatte"


class ArchiveSchemaError(Exception):
    """An arkivmelding that does not satisfy the schema (a fault of ours, never handed out)."""


@dataclass(frozen=True)
class ArchiveFile:
    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class ArchivePackage:
    case_id: UUID
    closed_at: datetime
    files: tuple[ArchiveFile, ...]

    @property
    def name(self) -> str:
        """The zip's file name: the case's id, nothing personal."""
        return f"arkivpakke-{self.case_id}.zip"

    def file(self, name: str) -> ArchiveFile:
        return next(f for f in self.files if f.name == name)

    def to_zip(self) -> bytes:
        """The zip, the same bytes each time: every entry stamped with the closing time."""
        stamp = self.closed_at.astimezone(UTC).timetuple()[:6]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for f in self.files:
                info = zipfile.ZipInfo(f.name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o640 << 16
                archive.writestr(info, f.data)
        return out.getvalue()

    def write_to(self, directory: Path) -> Path:
        """Write the zip into a directory (the operator's export); returns its path."""
        path = directory / self.name
        path.write_bytes(self.to_zip())
        return path


def system_name() -> str:
    try:
        return f"Stafettlogg {version('stafettlogg')}"
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "Stafettlogg"


def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))


def validate(xml: bytes) -> None:
    """Raise ArchiveSchemaError unless the arkivmelding satisfies the schema."""
    checker = schema()
    if not checker.validate(etree.fromstring(xml)):
        raise ArchiveSchemaError(str(checker.error_log.last_error))


def package_of(app: Any, record: ArchiveRecord) -> ArchivePackage:
    """The package of a record, with the names of the staff and the services from the
    application's directory."""
    from stafettlogg.web.pages.cases import Directory

    names = Directory(people={m.id: m.name for m in app.list_staff()},
                      services={i.id: i for i in app.list_services()})
    return build_package(record, names)


def archive_zip(app: Any, actor: Any, case_id: UUID) -> tuple[str, bytes]:
    """The package of a closed case for a reader who may take it, as a zip: its file
    name and bytes (the download recorded in the access log by `archive_record`)."""
    package = package_of(app, app.archive_record(actor, case_id))
    return package.name, package.to_zip()


def build_package(record: ArchiveRecord, names: Any) -> ArchivePackage:
    """The PDF of the record, the arkivmelding describing it (checked against the
    schema) and the schema."""
    from stafettlogg.web.pages import words
    from stafettlogg.web.pages.templating import environment
    from stafettlogg.web.pdf import html_to_pdf

    case_id = record.case.id
    html = environment().get_template("arkiv.html").render(
        r=record, names=names, words=words, package={"system": system_name()}, pdf=True)
    pdf = html_to_pdf(html, variant=PDF_VARIANT, created=record.closed_at,
                      identifier=hashlib.md5(str(case_id).encode()).hexdigest().encode())
    document = ArchiveFile(PDF_NAME, pdf)
    xml = arkivmelding(record, names, document)
    validate(xml)
    return ArchivePackage(case_id, record.closed_at, (
        document, ArchiveFile(XML_NAME, xml), ArchiveFile(XSD_NAME, SCHEMA_FILE.read_bytes())))


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def arkivmelding(record: ArchiveRecord, names: Any, document: ArchiveFile) -> bytes:
    """The arkivmelding of a closed case's package (stafettlogg/archive/arkivmelding.xsd)."""
    case = record.case
    child = case.child
    closed, opened = _instant(record.closed_at), _instant(case.opened_at)
    closed_day = record.closed_at.astimezone(UTC).date().isoformat()
    system = system_name()
    title = f"BTI-sak {str(case.id)[:8]}: stafettlogg, avsluttet {closed_day}"

    root = etree.Element(f"{{{NAMESPACE}}}arkivmelding", nsmap={None: NAMESPACE})

    def add(parent: Any, name: str, text: object | None = None) -> Any:
        element = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}")
        if text is not None:
            element.text = str(text)
        return element

    def restricted(parent: Any) -> None:
        screening = add(parent, "skjerming")
        add(screening, "tilgangsrestriksjon", RESTRICTION[0])
        add(screening, "skjermingshjemmel", RESTRICTION[1])

    add(root, "system", system)
    add(root, "meldingId", uuid5(case.id, "arkivmelding"))
    add(root, "tidspunkt", closed)
    add(root, "antallFiler", 1)
    folder = add(root, "saksmappe")
    add(folder, "systemID", case.id)
    add(folder, "tittel", title)
    add(folder, "offentligTittel", title)
    add(folder, "opprettetDato", opened)
    add(folder, "opprettetAv", names.person(record.opened_by))
    add(folder, "avsluttetDato", closed)
    add(folder, "avsluttetAv", names.person(record.closed_by))
    restricted(folder)
    add(folder, "saksdato", case.opened_at.astimezone(UTC).date().isoformat())
    add(folder, "administrativEnhet", names.service(case.holder_service))
    add(folder, "saksansvarlig", names.person(case.holder_user))
    add(folder, "saksstatus", "Avsluttet")
    add(folder, "kommunenummer", case.municipality)
    party = add(folder, "sakspart")
    if child is not None and child.national_id and child.national_id.isdigit():
        add(party, "sakspartID", child.national_id)
    add(party, "sakspartNavn", (child.name if child else None) or "[ukjent]")
    add(party, "sakspartRolle", "Barn")

    entry = add(folder, "journalpost")
    add(entry, "systemID", uuid5(case.id, "journalpost"))
    add(entry, "opprettetDato", closed)
    add(entry, "opprettetAv", system)
    add(entry, "tittel", "Stafettlogg ved avslutning: loggen, samtykkene og tilgangsloggen")
    add(entry, "offentligTittel", "Stafettlogg ved avslutning")
    restricted(entry)
    add(entry, "journalposttype", "Organinternt dokument uten oppfølging")
    add(entry, "journalstatus", "Arkivert")
    add(entry, "journaldato", closed_day)
    add(entry, "dokumentetsDato", closed_day)
    if record.withheld:
        steps = [e.seq for e in record.withheld]
        remark = add(entry, "merknad")
        add(remark, "merknadstekst", (
            f"Loggens steg {', '.join(map(str, steps))} er holdt skjult for de foresatte "
            "etter barnets ønske, og er merket slik i dokumentet. Vurder dette før innsyn "
            "for de foresatte."))
        add(remark, "merknadstype", WITHHELD_REMARK)
        add(remark, "merknadsdato", closed_day)
        add(remark, "merknadRegistrertAv", system)
        for seq in steps:
            add(remark, "skjermetSteg", seq)

    description = add(entry, "dokumentbeskrivelse")
    add(description, "systemID", uuid5(case.id, "dokumentbeskrivelse"))
    add(description, "dokumenttype", "Stafettlogg")
    add(description, "dokumentstatus", "Dokumentet er ferdigstilt")
    add(description, "tittel", "Stafettlogg: loggen, samtykkene og tilgangsloggen")
    add(description, "opprettetDato", closed)
    add(description, "opprettetAv", system)
    add(description, "tilknyttetRegistreringSom", "Hoveddokument")
    add(description, "dokumentnummer", 1)
    add(description, "tilknyttetDato", closed)
    add(description, "tilknyttetAv", system)
    obj = add(description, "dokumentobjekt")
    add(obj, "versjonsnummer", 1)
    add(obj, "variantformat", "Arkivformat")
    add(obj, "format", PDF_FORMAT[0])
    add(obj, "formatDetaljer", PDF_FORMAT[1])
    add(obj, "opprettetDato", closed)
    add(obj, "opprettetAv", system)
    add(obj, "referanseDokumentfil", document.name)
    add(obj, "sjekksum", document.sha256)
    add(obj, "sjekksumAlgoritme", "SHA-256")
    add(obj, "filstoerrelse", len(document.data))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
