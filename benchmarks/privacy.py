"""Privacy screen benchmark: a seeded, labelled corpus; recall/precision per kind; cells/s.

    .venv/bin/python benchmarks/privacy.py [--tables 40] [--rows 20000] [--seed 6]

The corpus is written as normalised CSV (what describe hands the screen) with
a Table Schema whose types are inferred the way describe would (integer,
number, date, string). Each table mixes columns of personal data (Faker's
es_AR locale plus generators for DNI, CUIT/CUIL and Argentine phone formats,
with evident and neutral column names, and inside free text) with clean
look-alikes that must not be flagged: budget line codes, file numbers
(``Expte. Nº 038.253``), postal codes, amounts, dates of events, company
CUITs, coordinates of things, institutions named after people.

Column-level figures: a personal column counts as found when flagged with its
kind (free-text columns as ``free_text``); precision is over every flagged
column. Throughput is cells scanned per second by ``scan_csv`` (reading the
CSV included), on this machine, single process.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faker import Faker

from publisher.privacy.scan import scan_csv

Generator = Callable[[random.Random], str]
CLEAN = "clean"
TARGET_KINDS = ("email", "cuit_cuil", "dni", "phone")


# --- value generators -----------------------------------------------------------

def cuit(rng: random.Random, prefixes: tuple[int, ...] = (20, 23, 24, 27), dashed: bool | None = None) -> str:
    while True:
        body = f"{rng.choice(prefixes)}{rng.randint(5_000_000, 49_999_999):08d}"
        remainder = 11 - sum(int(d) * w for d, w in zip(body, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
        if remainder == 10:
            continue
        check = 0 if remainder == 11 else remainder
        use_dashes = rng.random() < 0.6 if dashed is None else dashed
        return f"{body[:2]}-{body[2:]}-{check}" if use_dashes else f"{body}{check}"


def dni(rng: random.Random, dotted: float = 0.3) -> str:
    number = rng.randint(4_000_000, 48_000_000)
    return f"{number:,}".replace(",", ".") if rng.random() < dotted else str(number)


def phone(rng: random.Random) -> str:
    area = rng.choice(["341", "11", "351", "342", "223", "261", "3461", "2477"])
    # national numbers have 10 digits: area + exchange + 4
    exchange = {2: rng.randint(4000, 6999), 3: rng.randint(400, 699), 4: rng.randint(40, 69)}[len(area)]
    local = f"{exchange}{rng.randint(0, 9999):04d}"
    head, tail = local[:-4], local[-4:]
    return rng.choice([
        f"+54 9 {area} {head}-{tail}", f"0{area} 15-{head}-{tail}", f"(0{area}) {head}-{tail}",
        f"{area}-{head}-{tail}", f"0{area} {head}{tail}", f"15-{head}-{tail}", f"+54{area}{head}{tail}",
        f"0{area}-{head}{tail}", f"({area}) 15 {head}-{tail}",
    ])


def card(rng: random.Random) -> str:
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d for i, d in enumerate(reversed(digits)))
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i:i + 4] for i in range(0, 16, 4)) if rng.random() < 0.5 else text


def ip(rng: random.Random) -> str:
    return f"{rng.randint(100, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


class Corpus:
    """Pools of Faker values (Faker is slow; rows sample from the pools)."""

    def __init__(self, seed: int) -> None:
        fake = Faker("es_AR")
        fake.seed_instance(seed)
        self.names = [fake.name() for _ in range(4000)]
        self.first = [fake.first_name() for _ in range(2000)]
        self.last = [fake.last_name() for _ in range(2000)]
        self.emails = [fake.email() for _ in range(4000)]
        self.streets = [fake.street_address() for _ in range(3000)]
        self.births = [fake.date_of_birth(minimum_age=1, maximum_age=95).isoformat() for _ in range(3000)]
        self.events = [fake.date_between("-5y", "today").isoformat() for _ in range(2000)]
        self.words = [fake.word() for _ in range(500)]


BARRIOS = ["Centro", "Echesortu", "Fisherton", "Alberdi", "Arroyito", "La Florida", "Pichincha", "Abasto",
           "Refinería", "Lourdes", "Bella Vista", "Empalme Graneros", "Ludueña", "Tablada", "Saladillo"]
TIPOS = ["Bache", "Luminaria", "Poda", "Ruidos molestos", "Recolección", "Semáforo", "Tránsito", "Arbolado"]
CLEAN_PROSE = [
    "Se solicita poda del árbol ubicado en la vereda, con ramas sobre el tendido eléctrico.",
    "Bache de gran tamaño en la calzada frente a la escuela, peligroso para ciclistas y motos.",
    "Según Expte. Nº 038.253 el trámite fue derivado a la Secretaría de Obras Públicas.",
    "La obra tiene un monto de $ 12.345.678 aprobado por Ordenanza 9.256 del Concejo.",
    "Reclamo reiterado: la luminaria sigue apagada desde hace dos semanas en la esquina.",
    "Derivado al Hospital Juan B. Alberdi para su evaluación por el área de mantenimiento.",
    "Se realizó inspección el 2024-03-12 y se labró acta 45.120 por falta de higiene.",
    "Vecinos de Avenida San Martín piden más frecuencia de la línea 115 en horario nocturno.",
    "Partida presupuestaria 1.01.02.03 asignada, resta firma del Director General del área.",
    "Contenedor desbordado en la plaza del barrio, con residuos en la vereda y la calle.",
    "El Sr. Intendente firmó el Decreto 1.234/2024 que amplía el horario del Centro Municipal.",
    "Se consultó a la Dirección de Tránsito por el semáforo de Bv. Oroño y Av. Pellegrini.",
]


def prose_with_personal(c: Corpus, rng: random.Random) -> str:
    name = rng.choice(c.names)
    return rng.choice([
        f"llamar a {name} al {phone(rng)} por el reclamo del contenedor",
        f"La vecina {name}, DNI {dni(rng, 0.6)}, denuncia ruidos molestos todas las noches.",
        f"Enviar respuesta a {rng.choice(c.emails)} con copia al área de tránsito.",
        f"Se contactó a {name} quien informó que el problema persiste desde marzo.",
        f"Titular de la habilitación CUIT {cuit(rng, dashed=True)} solicita una prórroga.",
        f"Denunciante: {name}. Tel. {phone(rng)}. Pide reserva de identidad.",
    ])


def free_text(c: Corpus, share: float) -> Generator:
    return lambda rng: prose_with_personal(c, rng) if rng.random() < share else rng.choice(CLEAN_PROSE)


def budget_code(rng: random.Random) -> str:
    parts = [str(rng.randint(1, 5))] + [f"{rng.randint(1, 12):02d}" for _ in range(rng.randint(1, 3))]
    return ".".join(parts)


def file_number(rng: random.Random) -> str:
    number = f"{rng.randint(1, 99):03d}.{rng.randint(0, 999):03d}"
    return rng.choice([f"Expte. Nº {number}", f"{number}/{rng.randint(2015, 2025)}",
                       f"{rng.randint(1000, 99999)}-{rng.randint(2015, 2025)}", f"Expte. {rng.randint(1, 9)}-{number}"])


def postal_code(rng: random.Random) -> str:
    code = rng.choice(["2000", "2001", "2002", "2005", "2132", "3000", "1425", "5000"])
    return rng.choice([code, f"S{code}{''.join(rng.choice('ABCDEFGHJK') for _ in range(3))}"])


def amount(rng: random.Random) -> str:
    return f"{10 ** rng.uniform(2, 9):.2f}"


def integer_amount(rng: random.Random) -> str:
    return str(int(10 ** rng.uniform(3, 9)))


# --- table layouts --------------------------------------------------------------

def personal_columns(c: Corpus) -> list[tuple[list[str], str, Generator]]:
    """(candidate column names, label, generator)."""
    neutral = [f"campo_{i}" for i in range(1, 9)]
    return [
        (["email", "correo", "mail_contacto", "correo_electronico", *neutral[:1]], "email",
         lambda r: r.choice(c.emails)),
        (["cuit", "cuil", "cuit_cuil", "cuil_titular", *neutral[1:2]], "cuit_cuil", lambda r: cuit(r)),
        (["dni", "documento", "nro_documento", "dni_titular", *neutral[2:3]], "dni", lambda r: dni(r)),
        (["telefono", "celular", "tel_contacto", "telefono_movil", *neutral[3:4]], "phone", phone),
        (["nombre_y_apellido", "titular", "denunciante", "beneficiario", "nombre"], "person_name",
         lambda r: r.choice(c.names)),
        (["apellido"], "person_name", lambda r: r.choice(c.last)),
        (["fecha_nacimiento", "fecha_de_nacimiento", "fnac"], "birth_date", lambda r: r.choice(c.births)),
        (["domicilio", "direccion", "domicilio_real"], "address", lambda r: r.choice(c.streets)),
        (["observaciones", "comentario", "detalle"], "free_text", free_text(c, 0.2)),
        (["ip", "ip_origen"], "ip", ip),
        (["tarjeta", "nro_tarjeta"], "card", card),
        (["url_respuesta"], "url_secret",
         lambda r: f"https://reclamos.rosario.gob.ar/r?token={r.getrandbits(64):016x}&id={r.randint(1, 9999)}"),
    ]


def clean_columns(c: Corpus) -> list[tuple[list[str], str, Generator]]:
    neutral = [f"dato_{i}" for i in range(1, 9)]
    return [
        (["partida", "codigo_presupuestario", "imputacion"], "budget_code", budget_code),
        (["expediente", "nro_expediente", "expte"], "file_number", file_number),
        (["codigo_postal", "cp"], "postal_code", postal_code),
        (["monto", "importe", "credito_vigente", *neutral[:2]], "amount", amount),
        (["monto_pesos", "total", *neutral[2:4]], "integer_amount", integer_amount),
        (["fecha", "fecha_reclamo", "fecha_inicio"], "event_date", lambda r: r.choice(c.events)),
        (["cantidad", "casos"], "count", lambda r: str(r.randint(0, 500))),
        (["barrio", "nombre_barrio"], "category", lambda r: r.choice(BARRIOS)),
        (["tipo", "categoria"], "category", lambda r: r.choice(TIPOS)),
        (["cuit_proveedor", "cuit_empresa"], "company_cuit", lambda r: cuit(r, (30, 33, 34))),
        (["descripcion", "detalle_obra"], "clean_prose", lambda r: r.choice(CLEAN_PROSE)),
        (["anio", "ejercicio"], "year", lambda r: str(r.randint(2010, 2025))),
        (["dato_5", "dato_6"], "sequential_id", sequential_ids()),
    ]


def sequential_ids() -> Generator:
    """Record numbers: 8 digits, distinct, mostly consecutive (look like DNIs, are not)."""
    state = {"next": 30_000_000}

    def next_id(rng: random.Random) -> str:
        state["next"] += rng.choice((1, 1, 1, 2))
        return str(state["next"])

    return next_id


def coordinate_columns(rng: random.Random) -> list[tuple[str, Generator]]:
    return [("lat", lambda r: f"{-32.95 + r.uniform(-0.05, 0.05):.6f}"),
            ("lon", lambda r: f"{-60.65 + r.uniform(-0.05, 0.05):.6f}")]


def infer_type(values: list[str]) -> str:
    sample = [v for v in values[:500] if v]
    if all(v.lstrip("-").isdigit() for v in sample):
        return "integer"
    if all(_is_float(v) for v in sample):
        return "number"
    if all(len(v) == 10 and v[4] == "-" and v[7] == "-" for v in sample):
        return "date"
    return "string"


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def build_table(index: int, c: Corpus, rng: random.Random, rows: int) -> tuple[list[str], list[str], list[list[str]]]:
    """(column names, labels, columns of values)."""
    about_people = index % 4 != 3
    chosen: list[tuple[str, str, Generator]] = []
    used: set[str] = set()

    def add(candidates: list[str], label: str, gen: Generator) -> None:
        name = rng.choice([n for n in candidates if n not in used] or [f"{candidates[0]}_{len(used)}"])
        used.add(name)
        chosen.append((name, label, gen))

    if about_people:
        for names, label, gen in rng.sample(personal_columns(c), 4):
            add(names, label, gen)
    for names, _kind, gen in rng.sample(clean_columns(c), 6):
        add(names, CLEAN, gen)
    for name, gen in coordinate_columns(rng) if index % 3 == 0 else []:
        add([name], "coordinates" if about_people and any(lb != CLEAN for _, lb, _ in chosen) else CLEAN, gen)
    rng.shuffle(chosen)
    columns = [[gen(rng) for _ in range(rows)] for _, _, gen in chosen]
    return [n for n, _, _ in chosen], [lb for _, lb, _ in chosen], columns


def write_csv(path: Path, names: list[str], columns: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(zip(*columns, strict=True))


# --- scoring --------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=40)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    np.random.seed(args.seed)
    corpus = Corpus(args.seed)
    labelled: list[tuple[str, str, str]] = []  # (table, column, label)
    flagged: dict[tuple[str, str], str] = {}
    cells = 0
    elapsed = cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="privacy-bench-") as tmp:
        for index in range(args.tables):
            names, labels, columns = build_table(index, corpus, rng, args.rows)
            path = Path(tmp) / f"t{index}.csv"
            write_csv(path, names, columns)
            schema = {"fields": [{"name": n, "type": infer_type(col)} for n, col in zip(names, columns, strict=True)]}
            started, started_cpu = time.perf_counter(), time.process_time()
            findings = scan_csv(path, f"t{index}", schema)
            elapsed += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
            cells += len(names) * args.rows
            labelled += [(f"t{index}", n, lb) for n, lb in zip(names, labels, strict=True)]
            flagged.update({(f"t{index}", f.column): str(f.kind) for f in findings})
            path.unlink()
    report(labelled, flagged, cells, (elapsed, cpu), args)


def report(labelled: list[tuple[str, str, str]], flagged: dict[tuple[str, str], str], cells: int,
           times: tuple[float, float], args: argparse.Namespace) -> None:
    per_kind: dict[str, Counter[str]] = defaultdict(Counter)
    false_positives: Counter[str] = Counter()
    clean_total = clean_flagged = 0
    for table, column, label in labelled:
        got = flagged.get((table, column))
        if label == CLEAN:
            clean_total += 1
            if got:
                clean_flagged += 1
                false_positives[f"{column} as {got}"] += 1
            continue
        per_kind[label]["columns"] += 1
        per_kind[label]["found"] += got == label
        per_kind[label]["flagged"] += got is not None
    for (table, column), kind in flagged.items():
        label = next(lb for t, c, lb in labelled if t == table and c == column)
        per_kind[kind]["reported"] += 1
        per_kind[kind]["correct"] += label == kind
    print(f"privacy screen benchmark: {args.tables} tables x {args.rows} rows, seed {args.seed}")
    print(f"{'kind':<12} {'columns':>7} {'recall':>7} {'flagged':>8} {'precision':>9}")
    for kind in sorted(per_kind):
        row = per_kind[kind]
        recall = row["found"] / row["columns"] if row["columns"] else float("nan")
        flagged_any = row["flagged"] / row["columns"] if row["columns"] else float("nan")
        precision = row["correct"] / row["reported"] if row["reported"] else float("nan")
        target = " (target >= 0.99)" if kind in TARGET_KINDS else ""
        print(f"{kind:<12} {row['columns']:>7} {recall:>7.3f} {flagged_any:>8.3f} {precision:>9.3f}{target}")
    total_flagged = len(flagged)
    wrong = sum(1 for (t, c) in flagged if next(lb for tt, cc, lb in labelled if tt == t and cc == c) == CLEAN)
    print(f"look-alike columns: {clean_total}, flagged: {clean_flagged} "
          f"(specificity {1 - clean_flagged / max(1, clean_total):.3f})")
    print(f"column precision over all flagged columns: {1 - wrong / max(1, total_flagged):.3f} (target >= 0.95)")
    for what, count in false_positives.most_common(8):
        print(f"  false positive: {what} x{count}")
    elapsed, cpu = times
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"throughput: {cells:,} cells in {elapsed:.2f} s wall = {cells / elapsed:,.0f} cells/s "
          f"(target >= 1,000,000); CPU time {cpu:.2f} s = {cells / cpu:,.0f} cells/s; "
          f"{os.cpu_count()} cores, load average {load:.1f}")


if __name__ == "__main__":
    main()
