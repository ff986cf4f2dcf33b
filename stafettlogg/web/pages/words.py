"""The words of the pages: every code of the domain as a Norwegian reader knows it.

The API speaks in codes (`level0-step`, `guardian`, `concern-resolved`); people read
these. One place, so that a page never shows a code.
"""

from __future__ import annotations

LEVELS = {
    0: "Nivå 0 – undring til beslutning",
    1: "Nivå 1 – tiltak i egen tjeneste",
    2: "Nivå 2 – samarbeid med én tjeneste til",
    3: "Nivå 3 – samarbeid med flere tjenester",
}

STATUS = {"open": "Åpen", "closed": "Avsluttet"}

SECTORS = {
    "barnehage": "Barnehage", "skole": "Skole og SFO",
    "helsestasjon": "Helsestasjon og skolehelsetjeneste", "ppt": "PPT",
    "barnevern": "Barnevern", "nav": "NAV", "psykisk-helse": "Psykisk helse og rus",
    "bup": "BUP", "fastlege": "Fastlege", "annet": "Annet",
}

ROLES = {"worker": "Ansatt", "coordinator": "Koordinator", "leader": "Enhetsleder",
         "evaluator": "Evaluator", "admin": "Administrator"}

PARTICIPANT_ROLES = {
    "owner": "opprettet saken", "participant": "deltar", "holder": "har stafettpinnen",
    "responsibility-group": "i ansvarsgruppen", "coordinator": "koordinator",
}

ENTRY_KINDS = {
    "observation": "Observasjon", "conversation": "Samtale", "note": "Notat",
    "positive": "Lysglimt", "decision": "Beslutning",
}

# The four steps of level 0, each with the short guidance the handlingsveileder gives.
LEVEL0_STEPS = {
    "vurdering": ("Vurdering",
                  "Hva har du sett og hørt? Legg merke til tegn og signaler hos barnet."),
    "konkretisering": ("Konkretisering",
                       "Beskriv det du har observert så konkret som mulig: når, hvor, hva."),
    "deling": ("Deling",
               "Del undringen med kolleger, leder, barnet og foreldrene. Hva sier de?"),
    "beslutning": ("Beslutning",
                   "Bestem veien videre: avslutt saken, eller gå videre til nivå 1, 2 eller 3. "
                   "Beslutningen bør tas innen 14 dager."),
}

CONSENTERS = {"guardian": "Foresatte", "child": "Barnet / ungdommen"}
CONSENT_FORMS = {"oral": "Muntlig", "written": "Skriftlig", "digital": "Digitalt med ID-porten"}
CONSENT_STATUS = {"active": "Gyldig", "expired": "Utløpt", "withdrawn": "Trukket tilbake"}

# The role on a line of the access log, as the family's page says it.
ACCESS_ROLES = {"worker": "Ansatt", "coordinator": "Koordinator", "leader": "Enhetsleder",
                "admin": "Administrator",
                "evaluator": "Evaluator", "guardian": "Foresatt", "child": "Ungdommen selv",
                "none": "Stafettlogg (automatisk)"}

EVALUATION_OUTCOMES = {
    "continue": "Fortsetter", "completed": "Fullført", "stopped": "Avsluttet",
    "adjusted": "Justert",
}
ACTION_STATUS = {"open": "Pågår", "completed": "Fullført", "stopped": "Avsluttet"}

CLOSE_REASONS = {
    "concern-resolved": "Bekymringen er løst",
    "moved-away": "Barnet har flyttet",
    "transferred-to-other-service": "Overført til en annen tjeneste",
    "family-declined": "Familien ønsker ikke videre oppfølging",
    "other": "Annet",
}

RESPONDENTS = {"guardian": "Foresatte", "child": "Barnet / ungdommen"}

GUARDIAN_RELATIONS = {"mother": "Mor", "father": "Far", "other": "Annen foresatt"}

# The statutory bases for bringing a service in without consent (domain.values).
STATUTORY_BASES = {
    "opplysningsplikt-barnevern":
        "Opplysningsplikten til barnevernet (barnevernsloven § 13-2 og tjenestens egen lov)",
    "avvergeplikt": "Avvergeplikten (straffeloven § 196)",
    "annen-lovhjemmel": "Annen lovhjemmel (navngitt i begrunnelsen)",
}

LOG_KINDS = {
    "case-opened": "Saken ble opprettet",
    "guardian-recorded": "Foresatt registrert",
    "guardian-removed": "Foresatt fjernet fra saken",
    "entry-withheld": "Innføring holdt skjult for de foresatte",
    "level0-step": "Steg på nivå 0",
    "level-changed": "Nytt nivå",
    **ENTRY_KINDS,
    "consent-given": "Samtykke registrert",
    "consent-withdrawn": "Samtykke trukket tilbake",
    "consent-expired": "Samtykke utløpt",
    "service-joined": "Tjeneste med i saken",
    "service-left": "Tjeneste ute av saken",
    "service-brought-in-by-law": "Tjeneste koblet inn uten samtykke, med lovhjemmel",
    "handover-requested": "Stafettpinnen sendt",
    "handover-accepted": "Stafettpinnen tatt imot",
    "handover-declined": "Stafettpinnen avslått",
    "handover-cancelled": "Overlevering trukket tilbake",
    "coordinator-appointed": "Koordinator oppnevnt",
    "coordinator-released": "Koordinator fritatt",
    "responsibility-group-established": "Ansvarsgruppe opprettet",
    "responsibility-group-dissolved": "Ansvarsgruppe avsluttet",
    "individual-plan-started": "Individuell plan startet",
    "individual-plan-ended": "Individuell plan avsluttet",
    "meeting": "Møte",
    "action": "Tiltak avtalt",
    "evaluation": "Tiltak evaluert",
    "satisfaction": "Tilfredshet besvart",
    "case-closed": "Saken ble avsluttet",
}

ACCESS_ACTIONS = {
    "read-case": "leste saken", "read-case-page": "åpnet saken", "read-log": "leste loggen",
    "read-access-log": "leste tilgangsloggen",
    "open-case": "opprettet saken", "add-entry": "skrev i loggen",
    "level0-step": "førte et steg på nivå 0", "change-level": "endret nivå",
    "register-consent": "registrerte et samtykke", "withdraw-consent": "trakk et samtykke",
    "add-participant": "tok med en tjeneste", "remove-participant": "tok ut en tjeneste",
    "bring-in-by-law": "koblet inn en tjeneste uten samtykke, med lovhjemmel",
    "request-handover": "sendte stafettpinnen", "accept-handover": "tok imot stafettpinnen",
    "decline-handover": "avslo stafettpinnen", "cancel-handover": "trakk overleveringen",
    "appoint-coordinator": "oppnevnte koordinator", "release-coordinator": "fritok koordinator",
    "establish-responsibility-group": "opprettet ansvarsgruppe",
    "dissolve-responsibility-group": "avsluttet ansvarsgruppen",
    "start-individual-plan": "startet individuell plan",
    "end-individual-plan": "avsluttet individuell plan",
    "hold-meeting": "førte et møte", "agree-action": "avtalte et tiltak",
    "evaluate-action": "evaluerte et tiltak", "record-satisfaction": "registrerte tilfredshet",
    "close-case": "avsluttet saken",
    "record-guardian": "registrerte en foresatt", "remove-guardian": "fjernet en foresatt",
    "withhold-entry": "holdt en innføring skjult for de foresatte",
    "family-read-case": "leste saken", "family-give-consent": "ga samtykke digitalt",
    "family-withdraw-consent": "trakk et samtykke digitalt",
    "family-note": "skrev en melding i loggen", "family-satisfaction": "svarte om tilfredshet",
}


def access_action(action: str) -> str:
    """An access-log action in words (an unknown one as it is recorded)."""
    return ACCESS_ACTIONS.get(action, action)


# The fields of the forms, by the name they post (the API's body fields), as the
# error summary at the top of a form names them.
FIELD_LABELS = {
    "child.name": "Barnets fulle navn", "child.birth_date": "Fødselsdato",
    "child.national_id": "Fødselsnummer", "concern": "Undringen",
    "kind": "Hva slags innføring", "text": "Tekst", "step": "Steg", "level": "Nytt nivå",
    "reason": "Begrunnelse", "given_by": "Hvem gir samtykket", "services": "Tjenester",
    "purpose": "Formål", "valid_until": "Gjelder til og med", "form": "Form",
    "service": "Tjeneste", "user": "Person", "to_user": "Mottaker", "note": "Melding",
    "held_on": "Dato for møtet", "minutes": "Referat", "description": "Tiltaket",
    "responsible_service": "Ansvarlig tjeneste", "evaluate_by": "Evalueres innen",
    "outcome": "Resultat", "respondent": "Hvem svarer", "score": "Svar",
    "_mål": "Hva skjemaet gjelder", "corrects": "Retter en tidligere innføring",
    "relation": "Relasjon til barnet", "national_id": "Fødselsnummer",
    "basis": "Lovhjemmel",
    # The admin pages' forms.
    "id": "Id", "name": "Navn", "email": "E-post", "sector": "Sektor", "roles": "Roller",
    "municipalities": "Kommuner", "login": "Påloggings-id", "login.subject": "Påloggings-id",
    "active": "Aktiv",
}


# The notices (pages/notices.py): the system's step that records consents that ran out,
# and the choice's field.
ACCESS_ACTIONS["expire-consents"] = "registrerte samtykker som har gått ut"
FIELD_LABELS["choice"] = "Varsler"


# The training register (pages/training.py): each training's short name, as the
# register's column headings say it (the full names are training_commands.TRAINING_NAMES),
# and the fields of its forms.
TRAINING_SHORT = {
    "handlingsveileder": "Handlings\u00adveilederen",
    "tegn-og-signaler": "Tegn og signaler",
    "ta-opp-bekymring": "Ta opp bekymring",
    "tilpasse-oppfolging": "Tilpasse oppfølging",
    "tjenester-og-arenaer": "Tjenester og arenaer",
    "stafettloggen": "Stafett\u00adloggen",
    "stafettholderrollen": "Stafettholder\u00adrollen",
}
FIELD_LABELS.update({"training": "Opplæring", "on": "Dato", "file": "Fil",
                     "dato": "Dato", "kommune": "Kommune"})

# The implementation plan (pages/implementation_plan.py): the fields of its forms.
FIELD_LABELS.update({"title": "Aktivitet", "responsible": "Ansvarlig", "due": "Frist",
                     "rhythm": "Rapporteres", "status": "Status", "merknad": "Merknad",
                     "periode": "Periode"})

# The archive package of a closed case (stafettlogg/archive_reads.py): its lines in the
# access log.
ACCESS_ACTIONS.update({"download-archive": "lastet ned arkivpakken",
                       "archive-export": "eksporterte arkivpakken (kommandolinjen)"})

# Erasure (pages/admin.py, stafettlogg/erasure.py): the step in the log, the access-log
# line, the reasons and the admin's form field.
LOG_KINDS["child-data-erased"] = "Barnets opplysninger ble slettet"
ACCESS_ACTIONS["erase-child-data"] = "slettet barnets opplysninger"
ERASURE_REASONS = {"archive-period-ended": "arkivperioden var ute",
                   "request": "etter krav om sletting"}
FIELD_LABELS["case"] = "Saksnummer"
