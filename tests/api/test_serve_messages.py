"""What `concord serve` tells its operator on a first start."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.api.conftest import Server, bearer


def test_each_new_token_is_shown_with_a_request_its_role_may_make(
    start_server: Callable[..., Server], tmp_path: Path,
) -> None:
    server = start_server("--demo", data_dir=tmp_path / "fresh", keys=False)
    shown = re.findall(r"role (\w+)\n\s*token (\S+)\nUse it as: (.*)", server.logs())
    assert sorted(role for role, _, _ in shown) == ["admin", "recorder"], server.logs()
    for role, token, example in shown:
        assert f"Bearer {token}" in example
        path = re.search(rf"{re.escape(server.url)}(/v1/\S+)", example)
        assert path is not None, example
        if "--data @entry.json" in example:
            answer = server.http.post(path.group(1), headers=bearer(token), json={
                "type": "DeclarationAdopted",
                "data": {"declaration": f"EXAMPLE-{role}", "title": "Example"}})
            assert answer.status_code == 201, (role, answer.text)
        else:
            answer = server.http.get(path.group(1), headers=bearer(token))
            assert answer.status_code == 200, (role, answer.text)
