"""Block Kit renderers: core results in, (fallback text, blocks) out.

`render` is the one router from a core `Reply` to its renderer; the renderers live by
surface: `study` (cards, lookups, practice), `daily` (the daily question, boards, the weekly
report), `home` (the App Home tab), on the shared pieces in `common`.
"""

from __future__ import annotations

from typing import assert_never

from bot.results import (
    ConceptCard,
    DailyAnswerResult,
    GapsResult,
    HelpResult,
    LeaderboardResult,
    LookupReply,
    Notice,
    Picked,
    PracticeOutcome,
    PracticeQuestion,
    Reply,
    ScenarioResult,
    StatsResult,
    TipResult,
    TopicList,
)
from handlers.blocks.common import Rendered
from handlers.blocks.daily import render_answer_outcome, render_leaderboard, render_stats
from handlers.blocks.study import (
    render_answer,
    render_card,
    render_gaps,
    render_help,
    render_notice,
    render_picked,
    render_practice_outcome,
    render_practice_question,
    render_scenario,
    render_tip,
    render_topics,
)


def render(reply: Reply) -> Rendered:
    """Render any core result (mypy checks that every kind is handled)."""
    match reply:
        case LeaderboardResult():
            return render_leaderboard(reply)
        case StatsResult():
            return render_stats(reply)
        case DailyAnswerResult():
            return render_answer_outcome(reply)
        case LookupReply():
            return render_answer(reply)
        case ConceptCard():
            return render_card(reply)
        case HelpResult():
            return render_help(reply)
        case TopicList():
            return render_topics(reply)
        case TipResult():
            return render_tip(reply)
        case ScenarioResult():
            return render_scenario(reply)
        case PracticeQuestion():
            return render_practice_question(reply)
        case PracticeOutcome():
            return render_practice_outcome(reply)
        case Notice():
            return render_notice(reply)
        case Picked():
            return render_picked(reply)
        case GapsResult():
            return render_gaps(reply)
        case _:
            assert_never(reply)
