"""CSV answers: the rows of a JSON answer as RFC 4180 CSV, for `?format=csv` or
`Accept: text/csv`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response

Format = Annotated[Literal["json", "csv"] | None, Query(alias="format", description=(
    "`csv` for RFC 4180 CSV (as `Accept: text/csv` asks), with the same rows as the JSON; "
    "default: JSON, unless the Accept header prefers text/csv."))]

CSV_TYPE = "text/csv; charset=utf-8"


def csv_content(description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of a 200 that may also be CSV."""
    return {200: {"description": description, "content": {
        "text/csv": {"schema": {"type": "string"}}}}}


def wants_csv(request: Request, format_: str | None) -> bool:
    """Whether the answer is CSV: asked with `format`, or else by the Accept header (the
    first of text/csv and application/json it names wins)."""
    if format_ is not None:
        return format_ == "csv"
    for item in request.headers.get("accept", "").split(","):
        media = item.split(";")[0].strip().lower()
        if media == "text/csv":
            return True
        if media in ("application/json", "application/*"):
            return False
    return False


def _cell(value: Any) -> str:
    # Nested values (an entry's data, a signatory) are JSON text in their cell.
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def csv_response(rows: Iterable[Mapping[str, Any]], columns: Sequence[str],
                 filename: str) -> Response:
    """`rows` as CSV with a header row of `columns`; an empty cell is null."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return Response(out.getvalue().encode(), media_type=CSV_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
