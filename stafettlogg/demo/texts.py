"""The demo's Norwegian words: first and last names, and the free texts people write.

Everything here is plain data (word lists and text templates, with ``{navn}`` for the
child's first name); the generator picks from these lists with its seeded random
stream, so their order is part of what makes a seed give the same data. Every name
and every text is made up.
"""

from __future__ import annotations

# --- names ------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


GIRLS = _words(
    "Emma Nora Sofie Olivia Ella Ingrid Leah Sara Maja Frida Astrid Hedda Selma Tiril Vilde "
    "Amalie Hanna Ida Jenny Mathilde Thea Live Aurora Iben Julie Eline Marte Sigrid Tuva "
    "Signe Amina Maria Alma Oda Mia Kaja Johanne Andrea Linnea Agnes"
)
BOYS = _words(
    "Jakob Noah Emil Lukas Oliver Filip William Isak Aksel Theodor Elias Magnus Liam Henrik "
    "Ludvig Johannes Mathias Sander Tobias Jonas Even Sebastian Kasper Olav Tore Håkon Ola "
    "Sindre Eirik Mohammed Adam Ali Markus Leon Benjamin Vetle Brage Torstein Aron Gabriel"
)
LAST = _words(
    "Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Johnsen "
    "Pettersen Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl Jørgensen "
    "Halvorsen Henriksen Lund Sørensen Jakobsen Moen Gundersen Iversen Strand Solberg "
    "Svendsen Eide Knutsen Martinsen Paulsen Bakken Kristoffersen Mathisen Lie Amundsen "
    "Nguyen Rasmussen Ali Lunde Solheim Berge Moe Nygård Bakke Kristensen Fredriksen Holm "
    "Lien Hauge Christensen Andresen Nielsen Knudsen Evensen Sæther Aas Myhre Ahmed Haugland "
    "Thomassen Sivertsen Simonsen Tjørhom Tonstad Gyland Eikeland Kvinlaug Haddeland "
    "Fidjeland Omdal Stokke Skeibrok Vatne Egeland Ågedal Try Tjomsland Sunde Birkeland "
    "Rosseland Tveit Brekke Abrahamsen Madsen"
)
WORKER_FIRST = _words(
    "Kari Anne Ingrid Hilde Marit Tone Siri Kristin Camilla Heidi Lene Marianne Silje "
    "Ragnhild Gunn Trine Åse Randi Ellen Linda Per Ole Lars Knut Geir Morten Terje Øyvind "
    "Arne Bjørn Rune Frode Stian Tor Espen Kjetil Svein Jon Vidar Hans"
)


# --- texts ------------------------------------------------------------------------

CONCERNS = {
    "small": [
        "Barnet har lite språk for alderen og trekker seg unna i lek med andre barn.",
        "Personalet undrer seg over at {navn} ofte kommer sulten og sliten i barnehagen.",
        "{navn} får sterke sinneutbrudd og slår andre barn når noe blir vanskelig.",
        "Helsesykepleier er bekymret for vektutviklingen; barnet har falt over to kurvebånd.",
        "Mor har fortalt at hun strever med å få hverdagen til å gå rundt.",
        "Barnet virker redd når det blir hentet, og vil ikke gå hjem.",
        "{navn} har forsinket motorisk utvikling, snubler mye og unngår klatring.",
        "Barnet har mye fravær, og foreldrene er vanskelige å få tak i.",
        "{navn} sier lite og søker sjelden kontakt med de voksne på avdelingen.",
        "Far har fortalt at det har vært mye uro hjemme etter samlivsbruddet.",
    ],
    "school": [
        "Eleven har mye fravær og virker urolig og ukonsentrert i timene.",
        "{navn} forteller at det er mye krangling hjemme og at det er vanskelig å sove.",
        "Kontaktlærer undrer seg over at {navn} ofte er alene i friminuttene.",
        "Eleven strever med lesing og skriving og gir raskt opp.",
        "{navn} har flere ganger kommet på skolen uten matpakke og i for lite klær.",
        "Gjentatte konflikter i klassen; eleven reagerer med sinne og går fra skolen.",
        "Eleven har fortalt helsesykepleier om vondt i magen nesten hver morgen.",
        "Foreldrene er bekymret for at {navn} blir utestengt og plaget på nett.",
        "Eleven virker trist og har sluttet på fotballtreningen.",
        "Store svingninger i humøret; {navn} sovner i timene.",
    ],
    "youth": [
        "Ungdommen har sluttet på fritidsaktiviteter og isolerer seg på rommet.",
        "Bekymring for rusbruk og sene kvelder i helgene.",
        "{navn} har høyt fravær og sier at skolen ikke har noen hensikt.",
        "Helsesykepleier er bekymret for spiseforstyrrelse; {navn} har gått mye ned i vekt.",
        "Eleven har fortalt en venn om selvskading, og vennen har sagt fra til kontaktlærer.",
        "{navn} har flyttet ut hjemmefra og bor hos venner.",
        "Ungdommen har vært i konflikt med politiet og har lite kontakt med foreldrene.",
        "Eleven har sterk angst før prøver og orker ikke å gå på skolen.",
        "{navn} forteller om press og kontroll hjemme om hvem hun eller han kan være med.",
        "Ungdommen har avbrutt videregående og har verken jobb eller skoleplass.",
    ],
}

STEP_TEXTS = {
    "vurdering": [
        "Vi har sett tegnene over tid og vurderer at undringen bør følges opp.",
        "Observasjoner fra flere ansatte peker i samme retning.",
        "Vurdert sammen med leder: dette er mer enn en forbigående fase.",
        "Tegn og signaler gjennomgått etter handlingsveilederen.",
    ],
    "konkretisering": [
        "Konkretisert hva vi har sett: dato, situasjon og hvordan {navn} reagerte.",
        "Skrevet ned tre konkrete situasjoner fra de siste to ukene.",
        "Observasjonene er beskrevet uten tolkning og gjennomgått med leder.",
        "Beskrevet endringer i oppmøte, humør og samspill den siste måneden.",
    ],
    "deling": [
        "Delt undringen med foreldrene i samtale; de kjenner seg igjen.",
        "Snakket med {navn} om hvordan det går; det er vanskelig for tiden.",
        "Drøftet anonymt i tverrfaglig team.",
        "Foreldrene er invitert til samtale og ønsker hjelp.",
    ],
}

DECISIONS = {
    "close": [
        "Beslutning: bekymringen er avklart etter samtale med foreldrene; ingen videre tiltak.",
        "Beslutning: undringen er ikke bekreftet. Vi avslutter og følger med som vanlig.",
        "Beslutning: foreldrene har selv tatt grep, og situasjonen er bedret. Avslutter.",
    ],
    1: [
        "Beslutning: videre til nivå 1 med tiltak i egen tjeneste.",
        "Beslutning: vi setter inn tiltak hos oss i samarbeid med foreldrene (nivå 1).",
    ],
    2: [
        "Beslutning: videre til nivå 2; foreldrene ønsker samarbeid med én tjeneste til.",
        "Beslutning: behov for en annen tjenestes kompetanse; nivå 2.",
    ],
    3: [
        "Beslutning: sammensatte behov, saken løftes til nivå 3 med flere tjenester.",
        "Beslutning: flere tjenester må inn samtidig; nivå 3 med ansvarsgruppe.",
    ],
    "wait": [
        "Beslutning: vi følger med i fire uker og vurderer på nytt.",
    ],
}

LEVEL_REASONS = {
    1: ["Tiltak i egen tjeneste i samarbeid med familien."],
    2: [
        "Behov for samarbeid med én tjeneste til.",
        "Trenger en annen tjenestes kompetanse i tillegg til vår egen.",
    ],
    3: [
        "Sammensatte behov; flere tjenester må samarbeide.",
        "Situasjonen krever en koordinert innsats fra flere tjenester.",
    ],
    "withdrawn": [
        "Familien vil ikke lenger samarbeide med den andre tjenesten; tiltak i egen tjeneste.",
    ],
    "down": [
        "Situasjonen er bedret; samarbeidet trappes ned.",
        "Færre tjenester trengs nå; videre oppfølging på lavere nivå.",
    ],
}

ENTRIES = {
    "observation": [
        "Rolig uke; {navn} deltok i fellesaktivitetene.",
        "Ny episode med sinne; løst ved at en voksen satt sammen med {navn}.",
        "{navn} kom for sent tre dager denne uka.",
        "Virker mer opplagt etter at rutinene hjemme er endret.",
        "Trakk seg unna i gruppearbeid, men tok kontakt med en voksen etterpå.",
    ],
    "conversation": [
        "Samtale med mor: hverdagen oppleves mer stabil.",
        "Samtale med {navn}: sier at det er bedre hjemme nå.",
        "Telefon med far om oppmøte og søvnrutiner.",
        "Samtale med foreldrene; de opplever at de blir hørt.",
        "Samtale med {navn} om hva som hjelper i vanskelige situasjoner.",
    ],
    "note": [
        "Avtalt nytt møte etter høstferien.",
        "Foreldrene har fått informasjon om foreldreveiledning (ICDP).",
        "Kontaktinformasjon til helsesykepleier er gitt til familien.",
        "Tolk bestilt til neste samtale med foreldrene.",
    ],
    "positive": [
        "Lysglimt: {navn} tok kontakt med de andre i gruppa i dag.",
        "Lysglimt: en hel uke uten fravær!",
        "Lysglimt: {navn} fortalte stolt om helgen med familien.",
        "Lysglimt: {navn} har fått en ny venn.",
    ],
    "decision": [
        "Beslutning i samarbeidsmøte: tiltakene fortsetter fram til neste evaluering.",
        "Beslutning: vi ber om en ny kartlegging før neste møte.",
    ],
}
FIRST_OBSERVATIONS = [
    "Observert i dag: {navn} satt alene store deler av dagen.",
    "Flere ansatte har lagt merke til det samme den siste tiden.",
    "Samme mønster som tidligere i uka; undringen skrives ned.",
    "{navn} virket urolig ved levering og roet seg først etter en time.",
    "Foreldrene ble ikke med på avtalt samtale i dag.",
]
PARTNER_ENTRIES = [
    "Første samtale gjennomført; {navn} var trygg og fortalte mye.",
    "Kartlegging startet; resultatene legges fram på neste møte.",
    "Har vært på hjemmebesøk; foreldrene er motiverte.",
    "Tiltaket er i gang; oppmøtet har vært godt.",
]

PURPOSES = [
    "Samarbeid om tiltak rundt {navn} i BTI-saken.",
    "Deling av observasjoner og deltakelse i samarbeidsmøter.",
    "Felles kartlegging og utarbeiding av tiltak.",
    "Samarbeid i ansvarsgruppe og arbeid med individuell plan.",
]
HANDOVER_PURPOSE = "Overføring av stafettloggen til skolen ved skolestart."
CHILD_VIEWS = [
    "{navn} ønsker samarbeidet, men vil ikke at alt deles med foreldrene.",
    "Ungdommen er enig i samarbeidet og vil delta på møtene selv.",
    "Ønsker hjelp, men vil selv bestemme hva som fortelles til læreren.",
    "{navn} synes det er greit at tjenestene snakker sammen.",
]
WITHDRAW_REASONS = {
    "guardian": [
        "Foreldrene ønsker ikke lenger at denne tjenesten deltar.",
        "Familien vil avslutte samarbeidet med tjenesten, men fortsette med de andre.",
    ],
    "child": [
        "Ungdommen trekker samtykket og ønsker ikke kontakt med tjenesten nå.",
        "{navn} vil ikke at tjenesten skal få mer informasjon.",
    ],
}
MEETING_MINUTES = [
    "Samarbeidsmøte med foreldrene. Tiltakene gjennomgått; enighet om tett oppfølging.",
    "Oppstartsmøte: foreldrene beskrev situasjonen hjemme, tjenestene avklarte roller.",
    "Statusmøte: noe bedring i hverdagen, fortsatt uro hjemme. Ny evaluering om seks uker.",
    "Møte med {navn} og foreldrene; {navn} fikk si sin mening om tiltakene.",
]
GROUP_MINUTES = [
    "Ansvarsgruppemøte: status fra hver tjeneste, ny evaluering om seks uker.",
    "Møte om individuell plan: mål og tiltak gjennomgått med familien.",
    "Ansvarsgruppemøte: koordinator oppsummerer; tiltakene justeres.",
]
ACTIONS = {
    "barnehage": [
        "Fast voksen i overganger og ved henting.",
        "Språkgruppe to ganger i uka.",
        "Lek i mindre grupper med en voksen til stede.",
    ],
    "skole": [
        "Tilpasset timeplan med faste pauser.",
        "Ukentlig samtale med kontaktlærer.",
        "Leksehjelp to ettermiddager i uka.",
        "Tett kontakt hjem–skole med ukentlig oppsummering.",
    ],
    "helsestasjon": [
        "Samtaler med helsesykepleier hver uke.",
        "Oppfølging av vekt og ernæring hver måned.",
        "Foreldreveiledning (ICDP) i åtte samlinger.",
    ],
    "ppt": [
        "Sakkyndig vurdering av behovet for spesialundervisning.",
        "Veiledning av personalet i å møte barnets behov.",
        "Kartlegging av språk og begrepsforståelse.",
    ],
    "barnevern": [
        "Hjelpetiltak: råd og veiledning til foreldrene.",
        "Besøkshjem annenhver helg.",
        "Familieveiledning hjemme hver fjortende dag.",
    ],
    "nav": [
        "Oppfølging mot lærlingplass eller arbeidstrening.",
        "Økonomisk rådgivning til familien.",
        "Aktivitetsplan med faste møter hver uke.",
    ],
    "psykisk-helse": [
        "Samtaler med psykisk helse-tjenesten hver uke.",
        "Mestringskurs for angst i ungdomsgruppe.",
        "Oppfølging av rusbruk med faste samtaler.",
    ],
    "bup": [
        "Utredning for angst og depresjon.",
        "Behandlingssamtaler annenhver uke.",
        "Foreldrekurs om barnets vansker.",
    ],
    "fastlege": [
        "Legeundersøkelse og oppfølging av søvn.",
        "Henvisning til spesialisthelsetjenesten.",
        "Oppfølging av medisinering.",
    ],
    "annet": [
        "Fritidskontakt en kveld i uka.",
        "Foreldregruppe i Familiens hus.",
        "Koordinering av tjenestene rundt familien.",
    ],
}
EVALUATIONS = {
    "continue": [
        "Tiltaket virker, men trenger mer tid. Fortsetter.",
        "Noe bedring; vi fortsetter som avtalt.",
    ],
    "adjusted": [
        "Tiltaket justeres: færre, men lengre samtaler.",
        "Tidspunktet endres etter ønske fra familien.",
    ],
    "completed": [
        "Målet er nådd; tiltaket avsluttes.",
        "Tiltaket har virket godt og avsluttes etter avtale.",
    ],
    "stopped": [
        "Tiltaket ga ikke ønsket effekt og avsluttes; nytt tiltak vurderes.",
        "Familien ønsket å avslutte tiltaket.",
    ],
}
HANDOVER_NOTES = {
    "school": "Overgang barnehage–skole: stafetten overføres til skolen ved skolestart.",
    "colleague": "Stafettholder slutter i stillingen; stafetten overføres til en kollega.",
    "partner": "Stafetten overføres til tjenesten som har hovedansvaret framover.",
}
DECLINE_REASONS = [
    "Barnet skal begynne på en annen skole enn først meldt.",
    "Barnet har fått plass ved en annen skole etter søknad fra foreldrene.",
]
CLOSE_NOTES = {
    "concern-resolved": [
        "Bekymringen er ikke lenger til stede; familien er fornøyd med hjelpen.",
        "Målene er nådd, og familien klarer seg godt nå.",
    ],
    "moved-away": [
        "Familien har flyttet; foreldrene vet hvordan de kontakter tjenestene der.",
    ],
    "transferred-to-other-service": [
        "Videre oppfølging skjer i tjenestens eget system.",
    ],
    "family-declined": [
        "Familien ønsker ikke videre samarbeid.",
    ],
    "other": [
        "Saken avsluttes etter avtale med familien.",
    ],
}
