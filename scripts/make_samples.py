#!/usr/bin/env python3
"""Regenerate the sample datasets under samples/ (deterministic; committed).

Small files of the project's own making, written the way a Spanish-language
city's systems write them: Latin-1, ';' delimiters, decimal commas, dd/mm/yyyy
dates, banner rows above spreadsheet headers, JSON envelopes.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
DISTRITOS = ["Centro", "Norte", "Noroeste", "Oeste", "Sudoeste", "Sur"]


def reclamos(rng: random.Random) -> None:
    """Citizen claims by district and type: Latin-1, ';', decimal commas, dd/mm/yyyy."""
    tipos = ["Alumbrado público", "Arbolado", "Bacheo", "Recolección de residuos", "Señalización vial"]
    lines = ["fecha;distrito;tipo_reclamo;cantidad;días_promedio_resolución"]
    for day in range(1, 29):
        fecha = dt.date(2025, 2, day).strftime("%d/%m/%Y")
        for distrito in DISTRITOS:
            for tipo in tipos:
                cantidad = rng.randint(5, 140)
                dias = f"{rng.uniform(0.5, 30):.2f}".replace(".", ",")
                lines.append(f"{fecha};{distrito};{tipo};{cantidad};{dias}")
    (SAMPLES / "reclamos_2025_02.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))


def calidad_aire(rng: random.Random) -> None:
    """Air quality monitoring: an .xlsx with a banner above the header, as exported by hand."""
    import xlsxwriter

    path = SAMPLES / "calidad_del_aire_2025.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"default_date_format": "dd/mm/yyyy"})
    workbook.set_properties({"created": dt.datetime(2025, 1, 1)})
    sheet = workbook.add_worksheet("Mediciones")
    sheet.write(0, 0, "Municipalidad - Secretaría de Ambiente y Espacio Público")
    sheet.write(1, 0, "Monitoreo de calidad del aire - Enero 2025")
    header = ["Estación", "Fecha", "PM10 (µg/m³)", "PM2,5 (µg/m³)", "NO2 (µg/m³)", "Código estación"]
    for col, label in enumerate(header):
        sheet.write(3, col, label)
    estaciones = [("Parque Independencia", "01"), ("Plaza Pringles", "02"), ("Barrio Ludueña", "03")]
    row = 4
    for day in range(1, 32):
        for nombre, codigo in estaciones:
            sheet.write(row, 0, nombre)
            sheet.write_datetime(row, 1, dt.datetime(2025, 1, day))
            sheet.write_number(row, 2, round(rng.uniform(8, 80), 1))
            sheet.write_number(row, 3, round(rng.uniform(3, 40), 1))
            sheet.write_number(row, 4, round(rng.uniform(5, 60), 1))
            sheet.write_string(row, 5, codigo)
            row += 1
    workbook.close()


def presupuesto_participativo(rng: random.Random) -> None:
    """Participatory budget projects: a JSON API envelope {"success": ..., "data": [...]}."""
    proyectos = [
        "Iluminación LED en plaza barrial", "Bicisenda sobre bulevar", "Huerta comunitaria",
        "Juegos inclusivos en plaza", "Refacción de centro cultural", "Arbolado de veredas",
        "Playón deportivo", "Rampa de accesibilidad en esquinas",
    ]
    data = []
    for index, distrito in enumerate(DISTRITOS):
        for offset, titulo in enumerate(rng.sample(proyectos, 4)):
            data.append({
                "id_proyecto": f"PP-2025-{index:02d}{offset:02d}",
                "distrito": distrito,
                "proyecto": titulo,
                "votos": rng.randint(120, 4800),
                "monto_estimado": round(rng.uniform(1_500_000, 25_000_000), 2),
                "estado": rng.choice(["En ejecución", "Finalizado", "Aprobado"]),
                "fecha_votacion": "15-11-2024",
            })
    envelope = {"success": True, "totalRecords": str(len(data)), "data": data}
    (SAMPLES / "presupuesto_participativo_2025.json").write_text(
        json.dumps(envelope, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


def consultas_genero(rng: random.Random) -> None:
    """Monthly helpline consultations on gender violence, aggregated: UTF-8 with BOM."""
    lines = ["mes,canal,tipo_de_consulta,consultas"]
    for month in range(1, 13):
        for canal in ["Línea telefónica", "WhatsApp", "Presencial"]:
            for tipo in ["Violencia física", "Violencia psicológica", "Violencia económica", "Orientación"]:
                lines.append(f"2024-{month:02d},{canal},{tipo},{rng.randint(6, 320)}")
    (SAMPLES / "consultas_violencia_genero_2024.csv").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    SAMPLES.mkdir(exist_ok=True)
    rng = random.Random(2025)
    reclamos(rng)
    calidad_aire(rng)
    presupuesto_participativo(rng)
    consultas_genero(rng)


if __name__ == "__main__":
    main()
