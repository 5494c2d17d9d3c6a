"""What every page of the console shares: its route class (errors answered as pages), the
checks of what a reader typed into a form, and the context of the layout."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from concord.api.http.errors import PAGE_FLAG, ProblemError
from concord.api.http.reads import as_of_position
from concord.domain.codes import check_code, check_iso_date, check_state_code


class PageRoute(APIRoute):
    """A console page: left out of the OpenAPI document, and its errors, the query's
    included, answered as pages rather than problem details."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["include_in_schema"] = False
        super().__init__(*args, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            request.scope[PAGE_FLAG] = True
            return await handler(request)

        return page


def router() -> APIRouter:
    """A router of console pages."""
    return APIRouter(route_class=PageRoute)


class Form:
    """What a reader typed into a page's form: each field as given (for the form to show it
    again) and, where it was refused, why (shown beside the field)."""

    def __init__(self, **given: str | None) -> None:
        self.given = {name: (value or "").strip() for name, value in given.items()}
        self.errors: dict[str, str] = {}

    def value(self, name: str) -> str | None:
        """The field's value, None if left empty or refused."""
        return None if name in self.errors else (self.given.get(name) or None)

    def check(self, name: str, check: Callable[[str], str]) -> str | None:
        """The field's value if `check` accepts it (None if empty), else None, with the
        reason kept."""
        value = self.value(name)
        if value is None:
            return None
        try:
            return check(value)
        except ValueError as e:
            self.errors[name] = str(e)
            return None

    def code(self, name: str) -> str | None:
        """A network's, conference's or declaration's code."""
        return self.check(name, check_code)

    def state(self, name: str) -> str | None:
        """A state's code (a near miss named: 'ar' -> ARG)."""
        return self.check(name, check_state_code)

    def date(self, name: str) -> str | None:
        """A date, YYYY-MM-DD."""
        return self.check(name, check_iso_date)

    def refuse(self, error: ProblemError, fields: dict[str, str] | None = None) -> None:
        """Keep the reasons of a 422 of the read side beside the fields it names (renamed
        by `fields`: the API's name -> the form's); anything else is raised again."""
        named = error.extensions.get("errors") or []
        if error.status != 422 or not named:
            raise error
        for item in named:
            field = (fields or {}).get(item["field"], item["field"])
            self.errors.setdefault(field, item["reason"])

    async def position(self, request: Request, name: str) -> int | None:
        """A position, or the last one of the log as it stood at an RFC 3339 moment."""
        value = self.value(name)
        if value is None:
            return None
        try:
            return await as_of_position(request, value)
        except ProblemError as e:
            self.errors[name] = str(e.extensions["errors"][0]["reason"]) if e.extensions.get(
                "errors") else e.detail
            return None

    @property
    def status(self) -> int:
        """200, or 422 when a field was refused."""
        return 422 if self.errors else 200


STREAM_PAGES = {"network": "networks", "conference": "conferences",
                "declaration": "declarations", "instrument": "instruments", "state": "states"}


def stream_page(stream: str) -> str | None:
    """The console's page of the entity an entry's stream is ('network:X' -> /networks/X)."""
    kind, _, code = stream.partition(":")
    section = STREAM_PAGES.get(kind)
    return f"/{section}/{code}" if section and code else None
