"""A district's records in the national monitoring system's household/member layout (the shipped import
mapping's headers): three-person households across the demo villages, every 5th monitored and every
10th with its risk eliminated, a year's income on every row. Tests and the import benchmark build their
files with it; `write` also makes a CSV of the same rows (the benchmark's COPY baseline reads it)."""

import csv
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import xlsxwriter

from app.demo.people import PeopleGenerator
from app.models.enums import Sex
from app.services.imports import mapping

H = mapping.load().columns  # Shouwang's field -> the national header
VILLAGES = [("洛河彝族乡", "洛河村"), ("洛河彝族乡", "把者岱村"), ("小石桥彝族乡", "响水村")]
HEADERS = ["序号", *H.values()]


def household_rows(index: int, people: PeopleGenerator) -> list[dict[str, Any]]:
    """Household `index` (0-based): head, spouse and a child in school; every 5th monitored (因病 and
    因学 with medical spending), every 10th with its risk eliminated; 2025's income on every row."""
    township, village = VILLAGES[index % len(VILLAGES)]
    lifted = index % 2 == 0
    shared: dict[str, Any] = {
        H["household_no"]: f"IMP{index:05d}",
        H["township_name"]: township,
        H["village_name"]: village,
        H["address"]: f"{village}{index % 9 + 1}组{index}号",
        H["phone"]: f"139{index:08d}",
        H["household_type"]: "脱贫户" if lifted else "一般农户",
        H["income_year"]: 2025,
        H["wages"]: 21000 + index,
        H["business"]: 8000,
        H["property"]: 0,
        H["transfer"]: 1800,
        H["production_cost"]: 3000,
        H["spending_medical"]: 3200 if index % 5 == 0 else 0,
        H["spending_education"]: 1500,
    }
    if index % 5 == 0:
        shared |= {
            H["monitoring_category"]: "脱贫不稳定户" if lifted else "边缘易致贫户",
            H["risk_types"]: "因病、因学",
            H["identified_on"]: "2024-03-15",
            H["risk_eliminated"]: "是" if index % 10 == 0 else "否",
            H["risk_eliminated_on"]: "2025-06-30" if index % 10 == 0 else "",
        }
    spread = timedelta(days=index * 7 % 3650)  # birthdays spread, so that ID numbers never run out
    people_of = [
        ("户主", Sex.male, date(1970, 1, 1) + spread, "普通劳动力", "非在校生", ""),
        ("配偶", Sex.female, date(1972, 1, 1) + spread, "普通劳动力", "非在校生", ""),
        ("之子", Sex.male, date(2010, 9, 1) + spread / 10, "无劳动力", "在校生", "初中"),
    ]
    rows = []
    for relation, sex, born, labour, schooling, level in people_of:
        rows.append(
            shared
            | {
                H["name"]: f"{'李王张'[index % 3]}{relation}{index}",
                H["id_number"]: people.id_number(born, sex),
                H["sex"]: sex.value,
                H["relation"]: relation,
                H["ethnicity"]: "彝族",
                H["labour_capacity"]: labour,
                H["health"]: "健康",
                H["schooling"]: schooling,
                H["school_level"]: level,
                H["basic_medical_insurance"]: "是",
                H["dibao"]: "否",
            }
        )
    return rows


def rows(households: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    people = PeopleGenerator(seed, date(2026, 12, 2))
    for index in range(households):
        yield from household_rows(index, people)


def district(households: int, seed: int = 7) -> list[dict[str, Any]]:
    return list(rows(households, seed))


def _cells(
    records: Iterator[dict[str, Any]] | Sequence[dict[str, Any]], headers: Sequence[str]
) -> Iterator[list[Any]]:
    for number, row in enumerate(records, start=1):
        yield [number if h == "序号" else row.get(h, "") for h in headers]


def write(
    path: Path,
    records: Iterator[dict[str, Any]] | Sequence[dict[str, Any]],
    headers: Sequence[str] = HEADERS,
) -> Path:
    """The rows as an XLSX workbook (or a CSV, by the path's suffix), written as they come."""
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as stream:
            out = csv.writer(stream)
            out.writerow(headers)
            out.writerows(_cells(records, headers))
        return path
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("监测对象")
    sheet.write_row(0, 0, list(headers))
    for line, cells in enumerate(_cells(records, headers), start=1):
        sheet.write_row(line, 0, cells)
    book.close()
    return path


def line_of(household: int, member: int = 0) -> int:
    """The spreadsheet line of a member's row (the header is line 1; three rows per household)."""
    return 2 + household * 3 + member
