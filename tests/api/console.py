"""Helpers of the console's tests: pages read as a tree of elements, a real `concord serve
--demo` on a port of its own, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from concord.api.settings import Settings
from tests.api.conftest import RECORDER, bearer, concord_command, make_keys, wait_until_ready
from tests.waiting import free_port

# Elements that never have content, so never a closing tag.
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


@dataclass
class Element:
    """An element of a page: its tag, attributes, and what it holds."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Its text, with runs of white space as one space."""
        parts: list[str] = []

        def walk(node: Element | str) -> None:
            if isinstance(node, str):
                parts.append(node)
            else:
                for child in node.children:
                    walk(child)

        walk(self)
        return " ".join("".join(parts).split())

    def all(self, tag: str | None = None, **attrs: str | bool) -> Iterator[Element]:
        """Every element below this one with the tag (any, if None) and attributes given
        (an attribute's name with - as _; True matches any value)."""
        for child in self.children:
            if isinstance(child, str):
                continue
            if (tag is None or child.tag == tag) and all(
                    child.attrs.get(_attribute(name)) == value or (
                        value is True and _attribute(name) in child.attrs)
                    for name, value in attrs.items()):
                yield child
            yield from child.all(tag, **attrs)

    def one(self, tag: str | None = None, **attrs: str | bool) -> Element:
        """The one element below this one that matches (AssertionError if not one)."""
        found = list(self.all(tag, **attrs))
        assert len(found) == 1, f"{len(found)} elements {tag} {attrs}"
        return found[0]

    def by_id(self, identifier: str) -> Element:
        """The element with this id."""
        return self.one(id=identifier)


def _attribute(name: str) -> str:
    # class_ -> class, data_role -> data-role
    return name.rstrip("_").replace("_", "-")


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)
        if tag not in _VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def parse_page(html: str) -> Element:
    """A page as a tree of elements."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def parse_csv(body: str) -> list[dict[str, str]]:
    """CSV rows by their header's names."""
    return list(csv.DictReader(io.StringIO(body)))


# A real server with the demo, for the browser.

@dataclass
class DemoServer:
    """A `concord serve --demo` process on a port, with a recorder's client."""

    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen[str]
    http: httpx.Client
    log_path: Path

    def stop(self) -> None:
        """Stop the process, and close the client."""
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_demo(data_dir: Path, log_path: Path, port: int | None = None) -> DemoServer:
    """`concord serve --demo` on a SQLite data directory (its keys made first, the
    recorder's used by `http`), once it is ready."""
    port = port or free_port()
    # A restarted server's keys are those made at its first start (tokens.json: every
    # key's token by name).
    if not (data_dir / "concord.db").exists():
        tokens = make_keys(Settings(data_dir=data_dir))
        (data_dir / "recorder.token").write_text(tokens[RECORDER])
        (data_dir / "tokens.json").write_text(json.dumps(tokens))
    token = (data_dir / "recorder.token").read_text()
    with log_path.open("a") as out:
        process = subprocess.Popen(
            [concord_command(), "serve", "--demo", "--port", str(port), "--data-dir",
             str(data_dir)], stdout=out, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "CONCORD_READ_WAIT_SECONDS": "10"})
    url = f"http://127.0.0.1:{port}"
    server = DemoServer(url, port, data_dir, process,
                        httpx.Client(base_url=url, timeout=30, headers=bearer(token)), log_path)
    wait_until_ready(process, server.http, log_path)
    return server


# The browser.

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


def chromium() -> str:
    """Debian's Chromium: its path, or the test skipped (failed under CI) saying how to get
    it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = ("the console's browser tests need Debian's Chromium (apt install chromium); "
                  "none is installed")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def launch(playwright: Any) -> Any:
    """Chromium, headless, asking nothing of the network, driven by `playwright`."""
    path = chromium()
    try:
        return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
    except Exception as e:
        reason = f"Chromium ({path}) did not start: {e}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
