"""Words that count as evidence: column-name vocabulary and common given names.

Column names are compared as lowercase ASCII tokens (accents removed, split on
anything that is not a letter or digit), so ``Fecha de Nacimiento``,
``fecha_nacimiento`` and ``FechaNac`` all reach the same words.

The given names are a hand-written list of names common in Argentina's civil
registry (not taken from any test data generator); surnames are the most
frequent Spanish-language ones. They decide whether a capitalised pair of
words is a person ("Juan Pérez") or a thing ("Erogaciones Corrientes").
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata


def _words(text: str) -> list[str]:
    return text.split()


GIVEN_NAMES = frozenset(_words("""
abel abigail adela adolfo adrian adriana agostina agustin agustina aida alan alba alberto alejandra
alejandro alejo alfonso alfredo alicia alma amalia amelia ana analia andrea andres angel angela angeles
angelica anibal antonella antonia antonio ariel armando arturo augusto aurora axel azul barbara beatriz
benicio benjamin bernardo bianca blanca brenda bruno camila candela carina carla carlos carmen carolina
catalina cecilia celeste celia cesar cintia clara claudia claudio constanza cristian cristina dalma damian
dana daniel daniela dante dario david debora delfina diana diego dolores domingo dora eduardo elena eliana
elias elisa elsa elvira emanuel emilia emiliano emilio emma enrique enzo ernesto esteban estefania ester
esther eugenia eva evangelina ezequiel facundo federico felipe fermin fernanda fernando fabian fabiana
fabio florencia francisco franco gabriel gabriela gaston gerardo german gisela gladys gonzalo graciela
gregorio guadalupe guillermo gustavo hector helena hernan horacio hugo ignacio ines irene isabel isabella
ismael ivan jazmin javier jesus jimena joaquin jonathan jorge jose josefina juan juana julia julian juliana
julieta julio karina laura leandro leonardo leonel leticia liliana lionel lisandro lorena lourdes lucas
lucia luciana luciano lucio luis luisa luz magdalena maia malena manuel manuela marcela marcelo marcos
margarita maria mariana mariano maribel marina mario marisa marta martin martina mateo matias maximiliano
mauricio mauro melina mercedes micaela miguel milagros mirta miriam monica nadia nahuel natalia nicolas
noelia nora norberto norma octavio olga omar oscar pablo paola patricia paula paulina pedro pilar priscila
rafael ramiro ramon raquel raul rebeca renata ricardo roberto rocio rodolfo rodrigo rogelio rolando romina
rosa rosana rosario ruben ruth sabrina salvador samuel sandra santiago santino sara sebastian sergio silvia
silvina sofia soledad sonia susana tamara teresa tobias tomas ulises valentin valentina valeria vanesa
vanina vera veronica vicente victor victoria virginia walter ximena yamila yanina yesica zoe
"""))

SURNAMES = frozenset(_words("""
acosta aguirre alvarez benitez blanco cabrera castro correa diaz dominguez fernandez ferreyra flores
franco gimenez gomez gonzalez gutierrez herrera juarez ledesma lopez luna martinez medina molina morales
moreno navarro ojeda ortiz pereyra perez ramirez ramos rios rodriguez rojas romero ruiz sanchez sosa
suarez torres vazquez villalba
"""))

# Column-name words. A token matches when a name token equals it or starts with it.
NAME_WORDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "mail", "correo", "emails"),
    "cuit_cuil": ("cuit", "cuil", "cuitcuil"),
    "dni": ("dni", "documento", "nrodoc", "numdoc", "nrodocumento", "numerodocumento", "doc", "pasaporte"),
    "phone": ("telefono", "tel", "tel1", "tel2", "celular", "cel", "movil", "whatsapp", "fax", "contacto"),
    "ip": ("ip", "ipv4", "ipv6", "ipaddress", "direccionip"),
    "card": ("tarjeta", "card", "pan"),
    "birth_date": ("nacimiento", "fnac", "fechanac", "nac", "birth", "birthdate", "dob", "cumpleanos"),
    "coordinates": ("lat", "latitud", "latitude", "lon", "lng", "long", "longitud", "longitude", "coordenadas",
                    "coord", "coords", "geom", "geometry", "geometria", "punto", "point", "ubicacion"),
    "address": ("domicilio", "direccion", "calle", "domicilioreal", "residencia", "address"),
    "free_text": ("observaciones", "observacion", "obs", "comentario", "comentarios", "descripcion", "detalle",
                  "texto", "mensaje", "nota", "notas", "motivo", "relato", "reclamo", "consulta", "asunto"),
}

# Words that make a column a person's name (strong evidence on their own).
PERSON_ROLE_WORDS = frozenset(_words("""
apellido apellidos nombreyapellido apellidoynombre nombrecompleto titular denunciante denunciado
beneficiario beneficiaria solicitante paciente victima imputado agente empleado empleada contribuyente
propietario propietaria persona ciudadano ciudadana vecino vecina alumno alumna docente autor autora
reclamante firmante responsable representante apoderado conductor infractor demandado demandante
"""))

# Words that, next to "nombre", say the column names a thing, not a person.
THING_WORDS = frozenset(_words("""
barrio calle partido localidad departamento provincia establecimiento escuela programa proyecto
organismo area dependencia secretaria institucion hospital centro club plaza parque empresa razon
social fantasia comercio producto servicio categoria tipo rubro actividad distrito zona municipio
ciudad pais objeto concepto partida cuenta inciso fuente curso carrera linea ruta estacion evento
"""))

# Words that say a column holds money, codes or counts: not a DNI/phone by shape alone.
NOT_PERSONAL_NUMBER_WORDS = frozenset(_words("""
monto importe total subtotal presupuesto credito debito gasto gastos valor precio costo saldo pesos
cantidad cant casos poblacion superficie codigo cod id expte expediente cp postal codigopostal partida
anio ano year periodo numero nro orden inciso ley decreto resolucion ordenanza legajo lote padron
"""))

_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@functools.lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Lowercase ASCII: ``Fecha de Nacimiento`` -> ``fecha de nacimiento``."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def name_tokens(column: str) -> tuple[str, ...]:
    """``FechaNac_Titular`` -> ``("fecha", "nac", "titular", "fechanac", "nactitular", ...)``.

    Adjacent pairs are joined too so that ``fecha_nac`` reaches ``fechanac``.
    """
    words = [w for w in _TOKEN_SPLIT.split(fold(_CAMEL.sub("_", column))) if w]
    joined = [a + b for a, b in itertools.pairwise(words)]
    return tuple(words + joined + (["".join(words)] if len(words) > 2 else []))


def name_kinds(column: str) -> set[str]:
    """The kinds a column name points at (``telefono_contacto`` -> {"phone"})."""
    tokens = set(name_tokens(column))
    return {kind for kind, words in NAME_WORDS.items() if tokens & set(words)}


def is_person_name_column(column: str) -> str | None:
    """``"strong"`` (apellido, titular...), ``"weak"`` (plain nombre) or None (nombre_barrio)."""
    tokens = set(name_tokens(column))
    if tokens & PERSON_ROLE_WORDS:
        return "strong"
    if tokens & {"nombre", "nombres", "name", "names"} and not tokens & THING_WORDS:
        return "weak"
    return None


def says_not_personal_number(column: str) -> bool:
    return bool(set(name_tokens(column)) & NOT_PERSONAL_NUMBER_WORDS)
