"""Every interactive element's action id: what a button says it is, and what listens to it.

Slack refuses a message whose block repeats an action id, so buttons of one kind in one block
are numbered (`daily_answer:0`, `daily_answer:1`, ...) and each listener matches its kind with
or without a number (messages posted before the numbering keep working).
"""

from __future__ import annotations

import re

OPEN_CONCEPT = "concept_open"
SHARE_CONCEPT = "concept_share"
PRACTICE_ANSWER = "practice_answer"
PRACTICE_NEXT = "practice_next"
DAILY_ANSWER = "daily_answer"
HOME_PRACTICE = "home_practice"
LOOKUP_PICK = "lookup_pick"
LOOKUP_NONE = "lookup_none"


def numbered(kind: str, index: int) -> str:
    """The action id of the `index`-th button of a kind in its block."""
    return f"{kind}:{index}"


def matching(kind: str) -> re.Pattern[str]:
    """What a listener for a kind of button matches: the kind, numbered or not."""
    return re.compile(rf"^{re.escape(kind)}(:\d{{1,3}})?$")
