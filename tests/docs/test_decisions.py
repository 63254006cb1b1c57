"""The examples in the decision records are what the code computes (issue 14: decision records).

docs/decisions/0003 says which session id a platform and key derive, and
docs/decisions/0005 prints a real cursor; both are recomputed here with the
contracts code, so a change of either scheme (which would orphan running
sessions or every outstanding cursor) cannot slip past the record.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from contracts import b64url_decode, checkout_session_id
from contracts.cursors import CursorCodec
from tests.docs.references import DOCS

DECISIONS = DOCS / "decisions"


def test_the_session_id_example_is_what_the_code_derives() -> None:
    text = (DECISIONS / "0003-workflow-ids.md").read_text(encoding="utf-8")
    match = re.search(r"platform\s+`(?P<platform>[\w-]+)`, key `(?P<key>[\w-]+)` →\s+`(?P<id>cs_[a-z2-7]+)`", text)
    assert match, "0003 must keep its worked example"
    assert checkout_session_id(match["platform"], match["key"]) == match["id"]


def test_the_cursor_example_decodes_with_its_secret() -> None:
    text = (DECISIONS / "0005-cursor-format.md").read_text(encoding="utf-8")
    cursor = re.search(r"<!-- cursor-example -->\n```text\n(?P<cursor>\S+)\n```", text)
    secret = re.search(r"secret `(?P<secret>[^`]+)`, issued at\s+(?P<at>[\dT:Z-]+)", text)
    decoded = re.search(r"whose first part decodes to\s+`(?P<json>\{.*?\})`\.", text, re.DOTALL)
    assert cursor and secret and decoded, "0005 must keep its worked example"
    now = dt.datetime.fromisoformat(secret["at"])
    codec = CursorCodec(secret["secret"].encode())
    document = json.loads(decoded["json"])
    assert b64url_decode(cursor["cursor"].split(".")[0]).decode() == decoded["json"]
    assert codec.encode(document["k"], scope=document["s"], now=now) == cursor["cursor"]
    assert codec.decode(cursor["cursor"], scope=document["s"], now=now) == document["k"]
