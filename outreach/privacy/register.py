"""The record of processing (article 30 GDPR) and the notice given to seniors, built from
the configuration and the models.

What the DPO signs off must describe what the software really does: the categories of
data are the columns of the models (a test fails when a column is added without being
described here), the retention periods are the ``[retention]`` settings the nightly job
applies, the processors follow the configured telephony and mail backends. The wording is
French because the documents are French; the templates in
``web/templates/privacy_docs`` lay them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from outreach.calls.labels import ALL as CALL_LABELS
from outreach.calls.models import Attempt, Signal
from outreach.doorknock.models import DoorKnock
from outreach.panel.models import ListingRow, PanelMember
from outreach.roster.models import EmergencyContact, Senior
from outreach.telephony.models import InboundCall
from outreach.workshops.models import Invitation

TO_COMPLETE = "à compléter"

# The [retention] defaults, used while a configuration has not got the section or the key.
RETENTION_DEFAULTS: dict[str, int] = {
    "notes_months": 24,
    "details_months": 36,
    "departed_months": 12,
    "payload_days": 30,
    "audit_years": 5,
    "inbound_calls_months": 12,
}

# Columns that describe no one (keys, bookkeeping): not listed as data.
TECHNICAL = frozenset({"id", "organisation_id", "senior_id", "task_id", "attempt_id"})
# Calls received that a person must return (telephony.inbound), described in FIELDS below.
INBOUND_FIELDS: dict[str, str] = {
    "from_number": "numéro de l'appelant",
    "call_sid": "identifiant de l'appel chez l'opérateur",
    "received_at": "date et heure de l'appel",
    "handled_at": "date du rappel",
    "handled_by_id": "salarié ou bénévole qui a rappelé",
    "note": "note du rappel",
}

# Model -> column -> the French name the documents give it. Every other column of these
# models must be in TECHNICAL (tests/audit/test_register.py checks it).
FIELDS: dict[type, dict[str, str]] = {
    Senior: {
        "external_ref": "référence dans le fichier du bailleur",
        "civility": "civilité",
        "last_name": "nom",
        "first_name": "prénom",
        "birth_date": "date de naissance",
        "sex": "sexe",
        "phone_mobile": "téléphone portable",
        "phone_landline": "téléphone fixe",
        "address": "adresse",
        "postcode": "code postal",
        "city": "commune",
        "departement": "département",
        "residence": "résidence ou bâtiment",
        "floor": "étage",
        "door_code": "code de la porte (digicode)",
        "access_notes": "consignes d'accès au logement (pour un passage à domicile)",
        "housing_type": "type de logement (collectif, individuel)",
        "area": "secteur urbain ou rural",
        "qpv": "quartier prioritaire (QPV)",
        "lives_alone": "vit seul(e)",
        "adapted_housing": "logement adapté",
        "gir": "GIR (degré d'autonomie), s'il est connu",
        "preferred_channel": "moyen de contact préféré",
        "language": "langue",
        "referent_id": "travailleur social référent",
        "canicule_register": "inscription au registre canicule",
        "consent_status": "consentement (donné, refusé, retiré)",
        "consent_date": "date du consentement",
        "consent_source": "origine du consentement",
        "consent_phone": "accepte les appels",
        "consent_sms": "accepte les SMS",
        "opted_out_phone_at": "date de refus des appels",
        "opted_out_sms_at": "date de refus des SMS (STOP)",
        "reinforced_since": "suivi renforcé depuis",
        "paused_until": "absence (pause) jusqu'au",
        "pause_reason": "motif de l'absence",
        "active": "suivi en cours",
        "left_reason": "motif de fin de suivi (déménagement, EHPAD, décès)",
        "left_on": "date de fin de suivi",
        "created_at": "date d'enregistrement",
        "updated_at": "date de dernière modification",
        "erased_at": "date d'effacement",
    },
    EmergencyContact: {
        "name": "nom",
        "relation": "lien avec la personne",
        "phone": "téléphone",
        "notes": "remarques",
    },
    Attempt: {
        "channel": "moyen (appel d'un salarié, appel automatique, SMS)",
        "direction": "sens (émis, reçu)",
        "user_id": "salarié ou bénévole qui a appelé",
        "started_at": "date et heure",
        "ended_at": "heure de fin",
        "disposition": "issue choisie par l'appelant",
        "outcome": "résultat (jointe, à rappeler, demande d'aide, refus...)",
        "notes": "note sociale libre",
        "gateway_sid": "identifiant chez l'opérateur",
        "gateway_status": "statut chez l'opérateur",
        "answered_by": "décroché par une personne ou un répondeur",
        "digits": "touche tapée (1, 2, 3)",
        "reply": "texte d'un SMS reçu",
        "duration_seconds": "durée",
        "error_code": "code d'erreur de l'opérateur",
        "phone": "numéro appelé ou texté (le sien ou celui de la personne à prévenir)",
        "contact_id": "personne à prévenir appelée ou textée (canicule)",
    },
    DoorKnock: {
        "alert_id": "alerte qui l'a demandé",
        "residence": "résidence",
        "created_at": "date de la demande",
        "due_at": "heure limite",
        "state": "état (à faire, fait, annulé)",
        "outcome": "constat (vu(e) et va bien, ne va pas bien, pas de réponse)",
        "done_by_id": "gardien ou agent de proximité passé",
        "done_at": "date du passage",
        "note": "note courte du passage",
    },
    Signal: {
        "kind": "type de fragilité observée",
        "severity": "gravité",
        "note": "précision courte",
        "created_at": "date",
    },
    InboundCall: INBOUND_FIELDS,
    # The regional panel (panel): a landlord's listing is pseudonymised, not anonymous, so
    # it is described too.
    ListingRow: {
        "reference": "référence pseudonyme du locataire (sans nom ni téléphone)",
        "birth_year": "année de naissance",
        "age_band": "tranche d'âge",
        "sex": "sexe",
        "postcode": "code postal",
        "departement": "département",
        "housing_type": "type de logement (collectif, individuel)",
        "area": "zone (urbaine, rurale)",
        "qpv": "en quartier prioritaire (QPV)",
        "lives_alone": "vit seul(e) ou en couple",
        "adapted": "logement adapté ou bâtiment accessible",
        "imported_at": "date de l'import de la liste",
    },
    PanelMember: {
        "draw_id": "tirage du panel",
        "listing_row_id": "ligne de la liste pseudonymisée",
        "departement": "département du tirage",
        "role": "tiré(e) ou remplaçant(e) en réserve",
        "rank": "rang dans la réserve",
        "status": "accord de principe : à demander, obtenu, refusé, injoignable, remplacé(e)",
        "unreachable_cycles": "nombre de cycles d'appels sans réponse",
        "substitute_for_id": "personne remplacée",
        "agreement_date": "date de l'accord de principe",
        "updated_at": "date de la dernière mise à jour",
    },
    Invitation: {
        "workshop_id": "atelier collectif (thème, date, lieu)",
        "channel": "moyen de l'invitation (SMS, appel automatique, équipe)",
        "status": "réponse (inscrit(e), liste d'attente, ne vient pas, retiré(e))",
        "waiting_rank": "rang sur la liste d'attente",
        "transport_needed": "besoin d'être accompagné(e)",
        "transport_note": "précision sur l'accompagnement",
        "attended": "présence à l'atelier",
        "invited_at": "date de l'invitation",
        "replied_at": "date de la réponse",
        "reminded_day_before_at": "date du rappel de la veille",
        "reminded_morning_at": "date du rappel du matin",
    },
}


@dataclass(frozen=True)
class Retention:
    """The retention periods in force (the ``[retention]`` section)."""

    notes_months: int
    details_months: int
    departed_months: int
    payload_days: int
    audit_years: int
    inbound_calls_months: int = 12

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Retention:
        """Read ``config["retention"]``, a missing key taking its documented default."""
        section = config.get("retention") or {}
        return cls(**{key: int(section.get(key, d)) for key, d in RETENTION_DEFAULTS.items()})


@dataclass(frozen=True)
class Category:
    """One category of data: what it holds, how long it is kept, whether it is sensitive."""

    title: str
    fields: list[str]
    retention: str
    sensitive: bool = False


@dataclass(frozen=True)
class Processor:
    """A processor (sous-traitant) or recipient outside the landlord's staff."""

    name: str
    role: str
    location: str
    transfer: str | None = None  # how a transfer outside the EU is framed, if any


@dataclass(frozen=True)
class Dpo:
    name: str
    email: str
    address: str

    @property
    def complete(self) -> bool:
        return bool(self.name and (self.email or self.address))


@dataclass
class Register:
    """Everything the record of processing and the notice say, for one organisation."""

    organisation: str
    updated_on: date
    dpo: Dpo
    retention: Retention
    telephony: str
    purposes: list[str] = field(default_factory=list)
    legal_bases: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    signal_kinds: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    processors: list[Processor] = field(default_factory=list)
    transfers: list[str] = field(default_factory=list)
    security: list[str] = field(default_factory=list)


def months(n: int) -> str:
    return f"{n} mois"


def years(n: int) -> str:
    return f"{n} an" if n == 1 else f"{n} ans"


def days(n: int) -> str:
    return f"{n} jour" if n == 1 else f"{n} jours"


def _fields(model: type, *names: str) -> list[str]:
    return [FIELDS[model][n] for n in names]


def _categories(r: Retention) -> list[Category]:
    # After this, only an anonymous remainder stays (said once, under the table).
    departed = (
        f"pendant le suivi, puis {months(r.departed_months)} après sa fin (départ, EHPAD, "
        "décès) ; effacement plus tôt sur demande"
    )
    return [
        Category(
            "Identité",
            _fields(
                Senior, "external_ref", "civility", "last_name", "first_name", "birth_date", "sex"
            ),
            departed,
        ),
        Category(
            "Coordonnées et logement",
            _fields(
                Senior,
                "phone_mobile",
                "phone_landline",
                "address",
                "postcode",
                "city",
                "departement",
                "residence",
                "floor",
                "door_code",
                "access_notes",
                "housing_type",
                "area",
                "qpv",
                "adapted_housing",
            ),
            departed,
        ),
        Category(
            "Situation et suivi",
            _fields(
                Senior,
                "lives_alone",
                "preferred_channel",
                "language",
                "referent_id",
                "canicule_register",
                "reinforced_since",
                "paused_until",
                "pause_reason",
                "active",
                "left_reason",
                "left_on",
                "created_at",
                "updated_at",
                "erased_at",
            ),
            departed,
        ),
        Category("Autonomie", _fields(Senior, "gir"), departed, sensitive=True),
        Category(
            "Consentement et refus (historique daté de chaque changement, avec sa source)",
            _fields(
                Senior,
                "consent_status",
                "consent_date",
                "consent_source",
                "consent_phone",
                "consent_sms",
                "opted_out_phone_at",
                "opted_out_sms_at",
            ),
            departed,
        ),
        Category(
            "Personne à prévenir",
            list(FIELDS[EmergencyContact].values()),
            departed,
        ),
        Category(
            "Appels et SMS",
            [v for k, v in FIELDS[Attempt].items() if k not in ("notes", "reply")],
            f"{months(r.details_months)} après l'appel ou le SMS",
        ),
        Category(
            "Notes sociales et SMS reçus en texte libre",
            _fields(Attempt, "notes", "reply")
            + ["note d'une orientation vers un partenaire", "note de clôture d'une alerte"],
            f"{months(r.notes_months)}, puis effacés",
            sensitive=True,
        ),
        Category(
            "Signaux de fragilité et alertes",
            list(FIELDS[Signal].values())
            + ["alerte au référent : motif, échéance, prise en charge, orientation"],
            f"{months(r.details_months)}, comme les appels dont ils viennent",
            sensitive=True,
        ),
        Category(
            "Passages à domicile (levée de doute pendant une canicule)",
            list(FIELDS[DoorKnock].values()),
            f"la note : {months(r.notes_months)}, puis effacée ; le reste : {departed}",
        ),
        Category(
            "Appels reçus à rappeler (personne qui appelle le numéro du bailleur, connue ou "
            "non ; aucun message vocal n'est enregistré)",
            list(INBOUND_FIELDS.values()),
            f"{months(r.inbound_calls_months)} après l'appel",
        ),
        Category(
            "Panel régional : liste pseudonymisée des locataires âgés de chaque bailleur "
            "(ni nom, ni téléphone, ni adresse ; l'identité n'est connue que du bailleur)",
            list(FIELDS[ListingRow].values()),
            "jusqu'à l'import de la liste suivante du bailleur (les lignes tirées au sort "
            "restent le temps du panel)",
        ),
        Category(
            "Panel régional : tirage au sort et accord de principe",
            list(FIELDS[PanelMember].values()),
            departed,
        ),
        Category(
            "Ateliers collectifs : invitations, réponses, accompagnement, présence",
            list(FIELDS[Invitation].values()),
            f"la précision sur l'accompagnement : jusqu'à l'effacement de la personne ; "
            f"le reste : {departed}",
        ),
        Category(
            "Messages techniques de l'opérateur et e-mails envoyés aux équipes",
            [
                "contenu des requêtes de l'opérateur (numéros, textes des SMS)",
                "texte des e-mails et SMS d'alerte aux équipes",
            ],
            f"{days(r.payload_days)}",
        ),
        Category(
            "Journal d'audit (qui a consulté ou modifié quel dossier, et quand)",
            [
                "utilisateur",
                "action",
                "dossier concerné (numéro)",
                "date et heure",
                "noms des champs modifiés (jamais leur valeur)",
            ],
            f"{years(r.audit_years)}",
        ),
    ]


def _processors(config: Mapping[str, Any]) -> tuple[list[Processor], list[str]]:
    privacy = config.get("privacy") or {}
    host = privacy.get("hosting_provider") or TO_COMPLETE
    processors = [
        Processor(host, "hébergement du service et de sa base de données", TO_COMPLETE),
    ]
    transfers: list[str] = []
    if config.get("telephony", {}).get("backend") == "twilio":
        twilio_transfer = (
            "Twilio Inc. est établie aux États-Unis : le transfert est encadré par le Data "
            "Privacy Framework UE–États-Unis (si Twilio y est certifiée à la date de "
            "signature) ou, à défaut, par les clauses contractuelles types de la Commission "
            "européenne de son accord de traitement des données. À vérifier par le DPO."
        )
        processors.append(
            Processor(
                "Twilio Inc.",
                "appels automatiques et SMS (numéros, messages, réponses, touches tapées)",
                "États-Unis et Union européenne",
                twilio_transfer,
            )
        )
        transfers.append(twilio_transfer)
    else:
        processors.append(
            Processor(
                "Opérateur téléphonique",
                "aucun configuré (simulateur de démonstration) : à compléter avant la mise "
                "en service",
                TO_COMPLETE,
            )
        )
    mail = config.get("mail") or {}
    if mail.get("backend") == "smtp":
        processors.append(
            Processor(
                f"Serveur d'envoi d'e-mails ({mail.get('host') or TO_COMPLETE})",
                "e-mails d'alerte et de rappel adressés aux équipes (jamais aux seniors)",
                TO_COMPLETE,
            )
        )
    if not transfers:
        transfers.append("Aucun transfert hors de l'Union européenne n'est configuré.")
    return processors, transfers


def build_register(config: Mapping[str, Any], organisation: str, today: date) -> Register:
    """The record of processing of ``organisation`` as ``config`` makes the service run.

    ``today`` is the date printed as "mis à jour le" (given, not read from the clock).
    """
    privacy = config.get("privacy") or {}
    retention = Retention.from_config(config)
    processors, transfers = _processors(config)
    telephony = config.get("telephony", {}).get("backend", "simulator")
    return Register(
        organisation=organisation,
        updated_on=today,
        dpo=Dpo(
            privacy.get("dpo_name", ""),
            privacy.get("dpo_email", ""),
            privacy.get("dpo_address", ""),
        ),
        retention=retention,
        telephony=telephony,
        purposes=[
            "Appels et SMS de courtoisie réguliers aux locataires âgés qui l'ont accepté, "
            "pour rompre l'isolement.",
            "Appels quotidiens pendant une canicule aux personnes inscrites, et levée de "
            "doute quand une personne ne répond pas.",
            "Repérage de fragilités (isolement, santé, chute, chaleur) et alerte du "
            "travailleur social référent, avec orientation vers un partenaire (CCAS, CLIC, "
            "services d'aide à domicile).",
            "Statistiques anonymes rendues aux financeurs (personnes appelées, jointes, "
            "orientées).",
            "Panel régional : tirage au sort par quotas dans une liste pseudonymisée des "
            "locataires âgés, puis demande d'un accord de principe aux personnes tirées.",
            "Ateliers collectifs : invitation, inscription, rappels et présence.",
        ],
        legal_bases=[
            "Consentement de la personne (article 6.1.a du RGPD), recueilli avant tout appel, "
            "daté, avec sa source, et retirable à tout moment (dire STOP, demander à ne plus "
            "être appelée).",
            "Données de santé (signaux de fragilité, GIR) : consentement explicite "
            "(article 9.2.a) ; pour une alerte urgente, sauvegarde des intérêts vitaux d'une "
            "personne hors d'état de consentir (article 9.2.c). À valider par le DPO.",
            "Panel régional : la liste pseudonymisée et l'unique démarche qui demande "
            "l'accord de principe d'une personne tirée au sort reposent sur l'intérêt "
            "légitime du bailleur (article 6.1.f) ; une personne qui refuse n'est plus "
            "sollicitée. À valider par le DPO.",
        ],
        people=[
            "Locataires âgés du bailleur qui ont accepté d'être appelés.",
            "Leurs personnes à prévenir (proche, voisin).",
            "Salariés et bénévoles qui utilisent le service (nom, e-mail, téléphone "
            "professionnel, rôle, connexions).",
        ],
        categories=_categories(retention),
        signal_kinds=list(CALL_LABELS["signal"].values()),
        recipients=[
            "Conseillères sociales et chargés d'animation (appelants) : les seniors de leur "
            "organisation, leurs appels et notes.",
            "Bénévoles : nom, téléphone et script d'appel seulement ; ni notes sociales ni "
            "alertes.",
            "Travailleurs sociaux référents : tout le dossier des seniors qu'ils suivent et "
            "leurs alertes.",
            "Responsables et administrateurs du bailleur : tout le dossier, les exports, le "
            "journal d'audit.",
            "Partenaires médico-sociaux (CCAS, CLIC, SSIAD...) : seulement ce qu'une "
            "orientation leur transmet, par le travailleur social.",
        ],
        processors=processors,
        transfers=transfers,
        security=[
            "Chaque requête est limitée aux organisations de l'utilisateur et aux droits de "
            "son rôle (un seul point de contrôle, vérifié par des tests).",
            "Journal d'audit des consultations, modifications, exports et effacements, "
            f"conservé {years(retention.audit_years)}, consultable par les responsables.",
            "Mots de passe stockés hachés ; mots de passe courts ou trop communs refusés ; "
            "déconnexion effective côté serveur ; limitation des tentatives de connexion.",
            "Formulaires protégés contre la falsification de requêtes (jeton CSRF).",
            "En production : HTTPS obligatoire (HSTS), cookies sécurisés, clé secrète propre "
            "au déploiement.",
            "Aucune donnée personnelle dans les journaux techniques (ni nom, ni numéro, ni "
            "texte de SMS, ni terme de recherche).",
            "Effacement définitif sur demande ou à l'échéance, y compris dans les copies "
            "techniques, suivi d'un VACUUM de la base pour qu'aucune trace ne reste dans "
            "les fichiers.",
            "Exports CSV protégés contre l'injection de formules dans les tableurs.",
        ],
    )
