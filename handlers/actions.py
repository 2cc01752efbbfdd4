"""Every interactive element's action id: what a button says it is, and what listens to it."""

from __future__ import annotations

OPEN_CONCEPT = "concept_open"
SHARE_CONCEPT = "concept_share"
PRACTICE_ANSWER = "practice_answer"
PRACTICE_NEXT = "practice_next"
DAILY_ANSWER = "daily_answer"
HOME_PRACTICE = "home_practice"
