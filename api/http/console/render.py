"""How the console's pages are made: the Jinja2 templates and their filters, the headers
every page carries, the static assets, and errors as pages."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from html import escape as html_escape
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from concord.domain.codes import state_name

HERE = Path(__file__).parent

# Everything a page loads comes from this server: the policy says so to the browser, which
# then refuses anything else (a stray link to a CDN fails loudly in the browser tests).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # A page shows the log as it is now: a browser asks again, rather than show a stale one.
    "Cache-Control": "no-cache",
}


def _state(code: str | None) -> str:
    return "" if code is None else state_name(code)


@lru_cache(maxsize=8192)
def day(value: str | None) -> str:
    """'12 Sep 2023' for '2023-09-12'; a reduced-precision date ('2025', '2025-10') as it
    reads ('2025', 'Oct 2025')."""
    if not value:
        return ""
    parts = value.split("-")
    if len(parts) == 1:
        return value
    if len(parts) == 2:
        return date(int(parts[0]), int(parts[1]), 1).strftime("%b %Y")
    return date.fromisoformat(value[:10]).strftime("%-d %b %Y")


def moment(value: str | None) -> str:
    """'28 Nov 2026, 10:15:03 UTC' for a recorded_at."""
    if not value:
        return ""
    if len(value) == 24 and value[10] == "T" and value.endswith("Z"):  # as envelopes have it
        return f"{day(value[:10])}, {value[11:19]} UTC"
    found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return found.strftime("%-d %b %Y, %H:%M:%S UTC")


def delay(effective_date: str, recorded_at: str) -> str:
    """How long after it took effect an entry was recorded, in words ('3 years, 2 months');
    '' when it was recorded on the day it took effect, or before."""
    return _delay(effective_date, recorded_at[:10])


@lru_cache(maxsize=8192)
def _delay(effective_date: str, recorded_on: str) -> str:
    start = date.fromisoformat(effective_date)
    end = date.fromisoformat(recorded_on)
    if end <= start:
        return ""
    months = (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    if months == 0:
        days = (end - start).days
        return f"{days} day{'s' * (days != 1)}"
    years, months = divmod(months, 12)
    parts = [f"{years} year{'s' * (years != 1)}"] if years else []
    if months:
        parts.append(f"{months} month{'s' * (months != 1)}")
    return ", ".join(parts)


def entry_rows(entries: list[dict[str, Any]], undoing: dict[int, dict[str, Any]]) -> Markup:
    """History's entries as the rows of its table, each struck through if a retraction or
    correction (in `undoing`, by position) undid it, and marked if it was recorded later
    than it took effect.

    Written here rather than in a template: a history page is a hundred of them, and the
    template engine's cost per piece of output made them most of the page's time (measured
    by bench/console.py). Every text is escaped, as the templates escape it (with the
    standard library's escape, which makes no object a piece)."""
    out = []
    for e in entries:
        position, summary = int(e["position"]), html_escape(e["summary"])
        undone_by = e["retracted_by"]
        if undone_by:
            by = undoing.get(undone_by)
            how = "Corrected" if by and by["type"] == "EntryCorrected" else "Retracted"
            why = (f", {html_escape(moment(by['recorded_at']))}: "
                   f"“{html_escape(by['data']['reason'])}”" if by else "")
            what = (f'<del>{summary}</del> <span class="undoing">{how} by <a href="/entries/'
                    f'{int(undone_by)}">entry {int(undone_by)}</a>{why}</span>')
        else:
            what = str(summary)
        late = delay(e["effective_date"], e["recorded_at"])
        if late:
            what += (f' <span class="late" title="effective {html_escape(e["effective_date"])}, '
                     f'recorded {html_escape(e["recorded_at"])}">back-dated: recorded '
                     f'{html_escape(late)} after it took effect</span>')
        row = '<tr class="undone">' if undone_by else "<tr>"
        out.append(
            f'{row}<td class="num"><a href="/entries/{position}">{position}</a></td>'
            f'<td>{html_escape(day(e["effective_date"]))}</td><td>{what}</td>'
            f'<td>{html_escape(moment(e["recorded_at"]))}<br>'
            f'<span class="by">by {html_escape(e["recorded_by"])}</span></td></tr>\n')
    return Markup("".join(out))


def pretty_json(value: Any) -> str:
    """JSON for people: indented, non-ASCII as it is."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def _thousands(value: int) -> str:
    return f"{value:,}"


@cache
def environment() -> Environment:
    """The templates, autoescaped, failing on any undefined name."""
    # Templates are files of the installed package: read once, never checked again for
    # changes (which would cost a look at each file on every page).
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(default=True), auto_reload=False,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(state=_state, day=day, moment=moment, delay=delay,
                       pretty_json=pretty_json, thousands=_thousands)
    env.globals["asset"] = asset_url
    return env


@lru_cache(maxsize=16)
def fingerprint(key: str) -> str:
    """A verifier key's fingerprint, for people to compare: SHA-256 of the key string, in
    groups of four hex digits (`printf %s KEY | sha256sum` gives the same digits)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def _log_key(request: Request) -> str:
    """The log's verifier key, made once (it is derived from the signing key)."""
    state = request.app.state
    key: str | None = getattr(state, "console_log_key", None)
    if key is None:
        checkpoints = getattr(state, "checkpoints", None)
        if checkpoints is None:  # an error before the app has started
            return ""
        key = state.console_log_key = checkpoints.signer.verifier_key_string()
    return key


def render(request: Request, template: str, section: str = "", status: int = 200,
           **context: Any) -> HTMLResponse:
    """The page `template` makes of `context`, in the layout of the console's `section`,
    with the headers every page carries."""
    key = _log_key(request)
    page = environment().get_template(template).render(
        request=request, section=section, log_key=key,
        log_fingerprint=fingerprint(key) if key else "", **context)
    return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)


def error_page(request: Request, status: int, title: str, detail: str,
               errors: list[dict[str, str]] | None = None) -> HTMLResponse:
    """An error as a page: what went wrong, in words, and the way back."""
    return render(request, "error.html", status=status, title=title, detail=detail,
                  errors=errors or [])


# Static assets: a handful of small files, read once and served from memory with their
# digest as entity tag, so that a browser revalidates them cheaply and never runs a stale
# script after an upgrade.

_MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png"}


@dataclass(frozen=True)
class Asset:
    """A static file of the console."""

    body: bytes
    media_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    """Every static asset, by file name."""
    found = {}
    for path in sorted((HERE / "static").iterdir()):
        if path.suffix in _MEDIA_TYPES:
            body = path.read_bytes()
            found[path.name] = Asset(body, _MEDIA_TYPES[path.suffix],
                                     f'"{hashlib.sha256(body).hexdigest()[:16]}"')
    return found


def asset_url(name: str) -> Markup:
    """The URL of a static asset (KeyError for one that does not exist)."""
    assets()[name]
    return Markup(f"/static/{name}")


def asset_response(request: Request, name: str) -> Response:
    """A static asset, or 304 when the browser holds it already."""
    found = assets()[name]
    headers = {"ETag": found.etag, "Cache-Control": "no-cache",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)
