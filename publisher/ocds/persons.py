"""Which parties are natural persons (a sole trader, a consultant), not organisations.

A party is flagged when:

- its identifier is an Argentine CUIT/CUIL with a person prefix (20, 23, 24
  or 27; companies use 30, 33, 34) and a valid check digit;
- its identifier is a Mexican RFC of a person (13 characters; companies have 12);
- its name reads as a person's name: no company or public-body word, 2 to 5
  words, and a common given name among them (``PEREZ, JUAN CARLOS``).

The flag goes into the parties table (``natural_person``, and the rule in
``natural_person_basis``) beside ``identifier_id`` and ``name``, so the
privacy screen can act on those columns like on any table's.
"""

from __future__ import annotations

import re
import unicodedata

_CUIT_RE = re.compile(r"^(20|23|24|27|30|33|34)-?(\d{8})-?(\d)$")
_CUIT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_PERSON_CUIT_PREFIXES = frozenset({"20", "23", "24", "27"})
_RFC_PERSON_RE = re.compile(r"^[A-ZÑ&]{4}\d{6}[A-Z0-9]{3}$")
_ORGANISATION_TEXT = """
s.a. sa s.a srl s.r.l. sas s.a.s. sca sh s.h. ltda ltd inc llc corp co cia cía compania compañia compañía
sociedad cooperativa coop asociacion asociación fundacion fundación club consorcio ute empresa grupo
municipalidad ministerio secretaria secretaría direccion dirección gobierno provincia nacion nación
universidad instituto hospital banco federacion federación camara cámara colegio escuela iglesia
servicios construcciones comercial industrial industrias ingenieria ingeniería tecnologia tecnología
sistemas distribuidora laboratorio laboratorios consultora agencia ente oficina sindicato mutual cv
de.c.v. s.c. sc sapi s.a.p.i. dncp sefin cdmx
"""
_GIVEN_NAMES_TEXT = """
juan jose josé maria maría carlos luis jorge miguel pedro pablo diego daniel alejandro ana laura marta
silvia claudia patricia monica mónica susana graciela norma beatriz lucia lucía sofia sofía valentina
martina camila florencia agustina julieta victoria paula andrea gabriela mariana carolina natalia
veronica verónica fernanda romina lorena cecilia sandra adriana alicia rosa elena teresa marcela
mario ricardo roberto ruben rubén raul raúl oscar óscar hector héctor sergio eduardo fernando
francisco javier martin martín nicolas nicolás lucas mateo santiago tomas tomás facundo federico
gustavo guillermo hugo ignacio julio leandro marcelo matias matías mauricio maximiliano omar osvaldo
ramon ramón rodrigo salvador walter gerardo antonio manuel rafael enrique alberto arturo cristian
cristina esteban gonzalo hernan hernán horacio ivan iván joaquin joaquín lautaro leonardo lorenzo
emilio emiliano ezequiel franco gabriel german germán gaston gastón ariel alfredo angel ángel
"""

_ORGANISATION_WORDS = frozenset(_ORGANISATION_TEXT.split())
_GIVEN_NAMES = frozenset(_GIVEN_NAMES_TEXT.split())


def cuit_is_person(value: str) -> bool:
    """True for a CUIT/CUIL with a person prefix and a valid check digit."""
    match = _CUIT_RE.match(value.strip())
    if not match:
        return False
    prefix, body, check = match.groups()
    if prefix not in _PERSON_CUIT_PREFIXES:
        return False
    digits = [int(d) for d in prefix + body]
    remainder = 11 - sum(d * w for d, w in zip(digits, _CUIT_WEIGHTS, strict=True)) % 11
    expected = {11: 0, 10: 9}.get(remainder, remainder)  # 10 is a special case (prefix 23/24)
    return int(check) == expected or remainder == 10


def rfc_is_person(value: str) -> bool:
    return bool(_RFC_PERSON_RE.match(value.strip().upper()))


def name_is_person(name: str) -> bool:
    """A person's name: no organisation word, 2-5 words, one of them a common given name."""
    words = [w for w in re.split(r"[\s,]+", _fold(name)) if w]
    if not 2 <= len(words) <= 5:
        return False
    if any(w in _ORGANISATION_FOLDED or w.strip(".") in _ORGANISATION_FOLDED for w in words):
        return False
    if any(not w.replace(".", "").replace("'", "").isalpha() for w in words):
        return False
    return any(w in _GIVEN_FOLDED for w in words)


def natural_person_basis(identifier: str | None, name: str | None) -> str | None:
    """Why the party is a natural person (``cuit_prefix``, ``rfc_person``, ``name``), or None."""
    if identifier:
        ident = re.sub(r"^(AR-CUIT|AR-CUIL|MX-RFC)-", "", identifier.strip(), flags=re.IGNORECASE)
        if cuit_is_person(ident):
            return "cuit_prefix"
        if rfc_is_person(ident):
            return "rfc_person"
    if name and name_is_person(name):
        return "name"
    return None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_ORGANISATION_FOLDED = frozenset(_fold(w) for w in _ORGANISATION_WORDS)
_GIVEN_FOLDED = frozenset(_fold(w) for w in _GIVEN_NAMES)
