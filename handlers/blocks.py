"""Block Kit renderers: core results in, (fallback text, blocks) out.

Blocks are built with slack_sdk's model classes, whose `to_dict()` validates
Slack's length limits; `MAX_BLOCKS` is checked here because nothing else does.
Every piece of text that came from a user or the knowledge base is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.assistant import Dashboard
from bot.daily_service import AnswerOutcome, LeaderboardResult, PostView, Reveal, StatsResult
from bot.knowledge_base import Concept, Question
from bot.lookup import Match
from bot.services import (
    Answer,
    ConceptCard,
    HelpResult,
    Notice,
    PracticeOutcome,
    PracticeQuestion,
    ScenarioResult,
    TipResult,
    TopicList,
)
from bot.weekly import WeeklyReportView

MAX_BLOCKS = 50
MAX_ECHO = 200
OPEN_CONCEPT = "concept_open"
SHARE_CONCEPT = "concept_share"
PRACTICE_ANSWER = "practice_answer"
PRACTICE_NEXT = "practice_next"
DAILY_ANSWER = "daily_answer"
MAX_MENTIONS = 30
LETTERS = "ABCDE"

Rendered = tuple[str, list[dict[str, Any]]]


def escape(text: str) -> str:
    """Escape &, < and > so user text can never ping (<!channel>) or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def echo(text: str) -> str:
    """User text shown back: one line, printable, shortened, escaped."""
    clean = "".join(c if c.isprintable() else " " for c in text)
    clean = " ".join(clean.split())
    if len(clean) > MAX_ECHO:
        clean = clean[: MAX_ECHO - 1] + "…"
    return escape(clean)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def _button(label: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    if len(label) > 75:
        label = label[:74] + "…"
    return ButtonElement(
        text=PlainTextObject(text=label, emoji=True), action_id=action_id, value=value, style=style
    )


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=text[:150], emoji=True))


def _finish(text: str, blocks: Sequence[Block]) -> Rendered:
    dicts = [b.to_dict() for b in blocks]  # to_dict() validates Slack's limits
    if len(dicts) > MAX_BLOCKS:
        raise ValueError(f"{len(dicts)} blocks; Slack allows {MAX_BLOCKS} in a message")
    return text, dicts


def _concept_buttons(concepts: Iterable[Concept], limit: int = 5) -> list[ButtonElement]:
    return [_button(c.title, OPEN_CONCEPT, c.id) for c in list(concepts)[:limit]]


def _sources(sources: Sequence[str]) -> ContextBlock:
    return _context("*Sources:* " + escape("; ".join(sources)))


def card_blocks(card: ConceptCard, *, share: bool = True, details: bool = True) -> list[Block]:
    """A concept as blocks: title, summary, details, exam tip, sources, buttons."""
    c = card.concept
    blocks: list[Block] = [_header(c.title), _section(escape(c.summary))]
    if details and c.details:
        blocks.append(_section(escape(c.details)))
    if c.exam_tip:
        blocks.append(_section(f":bulb: *Exam tip:* {escape(c.exam_tip)}"))
    blocks.append(_sources(c.sources))
    buttons = _concept_buttons(card.related, limit=4)
    if share:
        buttons.append(_button("Share in channel", SHARE_CONCEPT, c.id, style="primary"))
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return blocks


def render_card(card: ConceptCard, *, share: bool = True) -> Rendered:
    """A concept card."""
    return _finish(f"{card.concept.title}: {card.concept.summary}", card_blocks(card, share=share))


def render_shared(card: ConceptCard, user_id: str) -> Rendered:
    """A concept shared to the channel, naming who shared it."""
    blocks = [
        _context(f"<@{escape(user_id)}> shared this from `/virtsec`"),
        *card_blocks(card, share=False, details=False),
    ]
    return _finish(f"{card.concept.title}: {card.concept.summary}", blocks)


def _suggestion_buttons(matches: Sequence[Match]) -> list[Block]:
    if not matches:
        return []
    return [ActionsBlock(elements=_concept_buttons(m.concept for m in matches))]


def render_answer(answer: Answer) -> Rendered:
    """A lookup answer, a comparison, or an honest no-match with 'did you mean' buttons."""
    result = answer.lookup
    if answer.card is None:
        text = f"No good match for “{echo(result.query)}” in the virtualization-security notes."
        blocks: list[Block] = [_section(text)]
        if result.suggestions:
            blocks.append(_context("Did you mean:"))
            blocks += _suggestion_buttons(result.suggestions)
        else:
            blocks.append(
                _context(
                    "Try a concept name such as “VM escape”, “type 1 "
                    "hypervisor” or “k8s RBAC”, or `/virtsec topics`."
                )
            )
        return _finish(text, blocks)
    if answer.compared:
        names = " and ".join(card.concept.title for card in answer.compared)
        blocks = [_section(f"*Comparing {escape(names)}*")]
        for card in answer.compared:
            blocks += [DividerBlock(), *card_blocks(card, details=False)]
        return _finish(f"Comparing {names}", blocks)
    blocks = card_blocks(answer.card)
    if result.suggestions:
        blocks.append(_context("See also:"))
        blocks += _suggestion_buttons(result.suggestions)
    return _finish(f"{answer.card.concept.title}: {answer.card.concept.summary}", blocks)


def render_help(result: HelpResult) -> Rendered:
    """Usage."""
    return _finish(
        "virtsec help",
        [
            _section("*virtsec* — your virtualization-security study assistant."),
            _section("```" + escape(result.usage) + "```"),
        ],
    )


def render_notice(notice: Notice) -> Rendered:
    """A short message."""
    icon = ":warning: " if notice.error else ""
    return _finish(notice.text, [_section(icon + escape(notice.text))])


def render_topics(result: TopicList) -> Rendered:
    """Concepts by tag, as sections (one tag: with buttons)."""
    blocks: list[Block] = []
    for tag, concepts in result.groups:
        names = ", ".join(escape(c.title) for c in concepts)
        blocks.append(_section(f"*{escape(tag)}* ({len(concepts)}): {names}"[:3000]))
    if result.tag is not None and result.groups:
        concepts = result.groups[0][1]
        for start in range(0, min(len(concepts), 25), 5):
            blocks.append(ActionsBlock(elements=_concept_buttons(concepts[start : start + 5])))
    title = f"Topics: {result.tag}" if result.tag else "Topics"
    return _finish(title, [_header(title), *blocks][:MAX_BLOCKS])


def render_tip(result: TipResult) -> Rendered:
    """An exam tip."""
    blocks: list[Block] = [
        _section(f":bulb: *Exam tip:* {escape(result.tip.text)}"),
        _sources(result.tip.sources),
    ]
    if result.concepts:
        blocks.append(ActionsBlock(elements=_concept_buttons(result.concepts)))
    return _finish(f"Exam tip: {result.tip.text}", blocks)


def render_scenario(result: ScenarioResult) -> Rendered:
    """A worked case, step by step."""
    s = result.scenario
    blocks: list[Block] = [_header(s.title), _section(escape(s.situation))]
    steps = "\n".join(f"{i}. {escape(step)}" for i, step in enumerate(s.walkthrough, 1))
    while steps:  # split long walkthroughs over several sections
        cut = steps.rfind("\n", 0, 3000) if len(steps) > 3000 else len(steps)
        blocks.append(_section(steps[:cut]))
        steps = steps[cut:].lstrip("\n")
    blocks.append(_sources(s.sources))
    if result.concepts:
        blocks.append(ActionsBlock(elements=_concept_buttons(result.concepts)))
    return _finish(f"Scenario: {s.title}", blocks)


def _choice_lines(q: Question) -> str:
    return "\n".join(f"*{LETTERS[i]}.* {escape(c)}" for i, c in enumerate(q.choices))


def _practice_buttons(q: Question) -> ActionsBlock:
    return ActionsBlock(
        elements=[
            _button(f"{LETTERS[i]}. {c}", PRACTICE_ANSWER, f"{q.id}|{i}")
            for i, c in enumerate(q.choices)
        ]
    )


def render_practice_question(result: PracticeQuestion) -> Rendered:
    """A practice question with one button per choice."""
    q = result.question
    return _finish(
        f"Practice question: {q.prompt}",
        [
            _context(f"Practice question · {q.difficulty} · not scored"),
            _section(f"*{escape(q.prompt)}*\n{_choice_lines(q)}"),
            _practice_buttons(q),
        ],
    )


def render_practice_outcome(result: PracticeOutcome) -> Rendered:
    """Right or wrong, the explanation, and what to do next."""
    q = result.question
    chosen = f"{LETTERS[result.chosen]}. {q.choices[result.chosen]}"
    right = f"{LETTERS[q.answer_index]}. {q.answer}"
    verdict = (
        f":white_check_mark: *Correct:* {escape(right)}"
        if result.correct
        else f":x: You chose {escape(chosen)}. *The answer is {escape(right)}.*"
    )
    buttons = [
        _button("Next question", PRACTICE_NEXT, q.id, style="primary"),
        *_concept_buttons(result.concepts, limit=3),
    ]
    text = (
        "Correct! " if result.correct else f"Not quite: the answer is {right}. "
    ) + q.explanation
    return _finish(
        text,
        [
            _section(f"*{escape(q.prompt)}*"),
            _section(verdict),
            _section(escape(q.explanation)),
            _sources(q.sources),
            ActionsBlock(elements=buttons),
        ],
    )


def _bar(share: float, width: int = 10) -> str:
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled)


def _distribution(reveal: Reveal) -> str:
    q = reveal.post.question
    lines = []
    for i, choice in enumerate(q.choices):
        n = reveal.counts.get(i, 0)
        share = n / reveal.total if reveal.total else 0.0
        mark = " :white_check_mark:" if i == q.answer_index else ""
        lines.append(f"`{LETTERS[i]}` {_bar(share)} {share:.0%} ({n}) {escape(choice)}{mark}")
    return "\n".join(lines)


def render_daily_question(view: PostView, reveal: Reveal | None = None) -> Rendered:
    """The channel post: the question with answer buttons, or its result once closed."""
    q = view.question
    lines = _choice_lines(q)
    blocks: list[Block] = [
        _header("Daily practice question"),
        _section(f"*{escape(q.prompt)}*\n{lines}"),
    ]
    if view.closed:
        right = f"{LETTERS[q.answer_index]}. {q.answer}"
        blocks.append(_section(f"*Closed.* The answer: *{escape(right)}*"))
        if reveal is not None:
            blocks.append(_section(_distribution(reveal)))
            blocks.append(
                _context(
                    f"{reveal.total} answered · {len(reveal.correct_users)} "
                    "right · explanation in the thread"
                )
            )
        return _finish(f"Daily question (closed): {q.prompt} Answer: {right}", blocks)
    blocks.append(
        ActionsBlock(
            elements=[
                _button(f"{LETTERS[i]}. {c}", DAILY_ANSWER, f"{view.post_id}:{i}")
                for i, c in enumerate(q.choices)
            ]
        )
    )
    answered = "1 answer" if view.answer_count == 1 else f"{view.answer_count} answers"
    blocks.append(
        _context(
            f"{answered} so far · your first click counts · only you see "
            f"your result · {q.difficulty}"
        )
    )
    return _finish(f"Daily practice question: {q.prompt}", blocks)


def render_reveal(reveal: Reveal) -> Rendered:
    """The thread reply at close: answer, explanation, shares, who got it right."""
    q = reveal.post.question
    right = f"{LETTERS[q.answer_index]}. {q.answer}"
    users = [f"<@{escape(u)}>" for u in reveal.correct_users[:MAX_MENTIONS]]
    more = len(reveal.correct_users) - len(users)
    who = (
        (", ".join(users) + (f" and {more} more" if more > 0 else ""))
        if users
        else "nobody this time"
    )
    blocks: list[Block] = [
        _section(f":white_check_mark: *The answer: {escape(right)}*"),
        _section(escape(q.explanation)),
        _section(_distribution(reveal)),
        _section(f"*Got it right ({len(reveal.correct_users)} of {reveal.total}):* {who}"),
        _sources(q.sources),
    ]
    return _finish(f"The answer: {right}. {q.explanation}", blocks)


def render_answer_outcome(outcome: AnswerOutcome) -> Rendered:
    """The private reply to a click on a daily question."""
    # a click burst renders the same few replies again and again: build each once
    text, blocks = _answer_outcome_blocks(outcome)
    return text, list(blocks)


@lru_cache(maxsize=512)
def _answer_outcome_blocks(outcome: AnswerOutcome) -> Rendered:
    q = outcome.question
    if outcome.status == "invalid" or q is None:
        return render_notice(
            Notice(
                "That question is no longer available. Watch for the next daily question!",
                error=True,
            )
        )
    right = f"{LETTERS[q.answer_index]}. {q.answer}"
    chosen = f"{LETTERS[outcome.chosen]}" if outcome.chosen >= 0 else ""
    buttons = _concept_buttons(outcome.concepts, limit=3)
    if outcome.status == "already":
        text = f"You already answered {chosen}. Your first answer is the one that counts."
        return _finish(text, [_section(text)])
    if outcome.status == "closed":
        text = f"This question is closed. The answer was {right}."
        blocks: list[Block] = [_section(escape(text)), _section(escape(q.explanation))]
        if buttons:
            blocks.append(ActionsBlock(elements=buttons))
        return _finish(text, blocks)
    verdict = (
        f":white_check_mark: *Correct!* {escape(right)} — one point."
        if outcome.correct
        else f":x: *Not this time.* You chose {chosen}; the answer is *{escape(right)}*."
    )
    blocks = [_section(verdict), _section(escape(q.explanation)), _sources(q.sources)]
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    text = (
        "Correct! " if outcome.correct else f"Not this time: the answer is {right}. "
    ) + q.explanation
    return _finish(text, blocks)


MEDALS = {1: ":first_place_medal:", 2: ":second_place_medal:", 3: ":third_place_medal:"}
PERIOD_NAMES = {"week": "this week", "month": "this month", "all": "all time"}


def render_leaderboard(result: LeaderboardResult) -> Rendered:
    """Top 10 (ties share a rank) and the caller's own rank."""
    title = f"Leaderboard — {PERIOD_NAMES[result.period]}"
    if result.start:
        title += f" (since {result.start})"
    if not result.rows:
        text = f"{title}: no points yet. Answer the daily question to get on the board!"
        return _finish(text, [_header(title), _section(escape(text.split(": ", 1)[1]))])
    lines = [
        f"{MEDALS.get(r.rank, f'{r.rank}.')} <@{escape(r.user_id)}> — {r.points} "
        f"{'point' if r.points == 1 else 'points'}"
        for r in result.rows
    ]
    blocks: list[Block] = [_header(title), _section("\n".join(lines))]
    in_top = any(r.user_id == result.caller_id for r in result.rows)
    if result.caller is not None and not in_top:
        blocks.append(
            _context(
                f"You: #{result.caller.rank} with {result.caller.points} "
                f"{'point' if result.caller.points == 1 else 'points'}"
            )
        )
    elif result.caller is None:
        blocks.append(_context("You have no points here yet."))
    return _finish(
        f"{title}: " + "; ".join(f"{r.rank}. {r.user_id} {r.points}" for r in result.rows), blocks
    )


def render_stats(result: StatsResult) -> Rendered:
    """A person's record."""
    daily_line = (
        f"*Daily questions here:* {result.answered} answered, {result.correct} right "
        f"({result.accuracy:.0%}), {result.points} points"
    )
    streaks = (
        f"*Streak:* {result.current_streak} now, best {result.best_streak} "
        "(daily questions in a row answered correctly)"
    )
    practice = (
        f"*Practice:* {result.practice_answered} answered, {result.practice_correct} "
        "right (practice never counts on the leaderboard)"
    )
    blocks: list[Block] = [
        _header("Your stats"),
        _section(daily_line),
        _section(streaks),
        _section(practice),
    ]
    if result.mastery or result.due:
        bars = "\n".join(f"`{_bar(m)}` {m:4.0%}  {escape(c.title)}" for c, m in result.mastery[:12])
        more = f"\n…and {len(result.mastery) - 12} more" if len(result.mastery) > 12 else ""
        blocks.append(
            _section(
                f"*Due for review: {result.due}* (`/virtsec quiz`)\n"
                f"*Mastery per concept* (practice memory):\n{bars}{more}"[:3000]
            )
        )
    if result.weakest:
        weak = "\n".join(
            f"• {escape(c.title)}: {right}/{n} right" for c, right, n in result.weakest
        )
        blocks += [
            _section(f"*Weakest concepts:*\n{weak}"),
            ActionsBlock(elements=_concept_buttons(c for c, _r, _n in result.weakest)),
        ]
    return _finish(
        f"Your stats: {result.answered} answered, {result.correct} right, "
        f"streak {result.current_streak} (best {result.best_streak})",
        blocks,
    )


def render(response: object) -> Rendered:
    """Render any core result."""
    if isinstance(response, LeaderboardResult):
        return render_leaderboard(response)
    if isinstance(response, StatsResult):
        return render_stats(response)
    if isinstance(response, AnswerOutcome):
        return render_answer_outcome(response)
    if isinstance(response, Answer):
        return render_answer(response)
    if isinstance(response, ConceptCard):
        return render_card(response)
    if isinstance(response, HelpResult):
        return render_help(response)
    if isinstance(response, TopicList):
        return render_topics(response)
    if isinstance(response, TipResult):
        return render_tip(response)
    if isinstance(response, ScenarioResult):
        return render_scenario(response)
    if isinstance(response, PracticeQuestion):
        return render_practice_question(response)
    if isinstance(response, PracticeOutcome):
        return render_practice_outcome(response)
    if isinstance(response, Notice):
        return render_notice(response)
    raise TypeError(f"no renderer for {type(response).__name__}")


def render_weekly_report(report: WeeklyReportView) -> Rendered:
    """The Monday post: top scorers, most improved, what the team missed, the hardest one."""
    title = f"Weekly report — week of {report.week_start:%d %b %Y}"
    blocks: list[Block] = [_header(title)]
    if report.top:
        blocks.append(
            _section(
                "*Top scorers*\n"
                + "\n".join(
                    f"{MEDALS.get(r.rank, f'{r.rank}.')} <@{escape(r.user_id)}> — {r.points}"
                    for r in report.top
                )
            )
        )
    if report.improved:
        blocks.append(
            _section(
                "*Most improved*\n"
                + "\n".join(
                    f":chart_with_upwards_trend: <@{escape(u)}> +{gain}"
                    for u, gain in report.improved
                )
            )
        )
    if report.missed:
        blocks.append(
            _section(
                "*What the team missed most*\n"
                + "\n".join(
                    f"• {escape(c.title)}: {wrong} of {n} answers wrong"
                    for c, wrong, n in report.missed
                )
            )
        )
        blocks.append(ActionsBlock(elements=_concept_buttons(c for c, _w, _n in report.missed)))
    if report.hardest is not None:
        q, right, n = report.hardest
        answer = f"{LETTERS[q.answer_index]}. {q.answer}"
        blocks.append(
            _section(
                f"*Hardest question* ({right} of {n} right)\n{escape(q.prompt)}"
                f"\n*Answer:* {escape(answer)}"
            )
        )
    blocks.append(
        _context(
            f"{report.participants} people answered {report.answers} times "
            f"across {report.questions} questions · `/virtsec weekly off` to "
            "stop these reports"
        )
    )
    return _finish(f"{title}: {report.participants} people, {report.answers} answers", blocks)


HOME_PRACTICE = "home_practice"
HOME_BLOCKS = 100


def _home_practice(focus: object) -> list[Block]:
    if isinstance(focus, PracticeQuestion):
        q = focus.question
        return [
            _section(f":dart: *Practice:* {escape(q.prompt)}\n{_choice_lines(q)}"),
            _practice_buttons(q),
            DividerBlock(),
        ]
    if isinstance(focus, PracticeOutcome):
        q = focus.question
        right = f"{LETTERS[q.answer_index]}. {q.answer}"
        verdict = (
            f":white_check_mark: *Correct:* {escape(right)}"
            if focus.correct
            else f":x: You chose {LETTERS[focus.chosen]}. *The answer is {escape(right)}.*"
        )
        return [
            _section(f":dart: *Practice:* {escape(q.prompt)}"),
            _section(verdict),
            _section(escape(q.explanation)),
            ActionsBlock(elements=[_button("Next question", HOME_PRACTICE, "*", style="primary")]),
            DividerBlock(),
        ]
    if isinstance(focus, Notice):
        return [_section(escape(focus.text)), DividerBlock()]
    return []


def render_home(dashboard: Dashboard) -> list[dict[str, Any]]:
    """The App Home tab: streaks, accuracy, mastery, weak spots, the board, the next question."""
    stats = dashboard.stats
    blocks: list[Block] = [_header("virtsec — your virtualization-security study")]
    blocks += _home_practice(dashboard.focus)
    if stats.answered or stats.practice_answered:
        blocks.append(
            _section(
                f":fire: *Streak:* {stats.current_streak} (best {stats.best_streak})   "
                f":dart: *Accuracy:* {stats.accuracy:.0%} of {stats.answered} daily answers   "
                f":books: *Practice:* {stats.practice_answered} answered, {stats.due} due"
            )
        )
    else:
        blocks.append(
            _section(
                "Welcome! Answer the daily question in your study channel, or practise here: "
                "questions you miss come back sooner, the ones you know come back later."
            )
        )
    blocks.append(
        ActionsBlock(elements=[_button("Practice now", HOME_PRACTICE, "*", style="primary")])
    )
    if dashboard.weakest:
        blocks.append(_section("*Your weakest concepts*"))
        for concept, level in dashboard.weakest:
            line = f"`{_bar(level)}` {level:.0%}  {escape(concept.title)}"
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(text=line),
                    accessory=_button("Study", OPEN_CONCEPT, concept.id),
                )
            )
            blocks.append(
                ActionsBlock(
                    elements=[_button(f"Practice {concept.title}", HOME_PRACTICE, concept.id)]
                )
            )
    if stats.mastery:
        bars = "\n".join(f"`{_bar(m)}` {m:4.0%}  {escape(c.title)}" for c, m in stats.mastery)
        for start in range(0, len(bars), 2900):  # long lists over several sections
            chunk = bars[start : start + 2900]
            blocks.append(_section(("*Mastery per concept*\n" if start == 0 else "") + chunk))
    blocks.append(DividerBlock())
    if dashboard.board is not None and dashboard.channel_id:
        rows = (
            "\n".join(
                f"{r.rank}. <@{escape(r.user_id)}> — {r.points}" for r in dashboard.board.rows
            )
            or "No points yet."
        )
        mine = dashboard.board.caller
        you = f"\nYou: #{mine.rank} with {mine.points}" if mine else "\nYou: no points yet"
        blocks.append(_section(f"*Leaderboard in <#{escape(dashboard.channel_id)}>*\n{rows}{you}"))
    if dashboard.next_post is not None:
        blocks.append(_context(f"Next daily question: {dashboard.next_post:%a %d %b %H:%M %Z}"))
    elif dashboard.channel_id is None:
        blocks.append(
            _context(
                "No daily question yet: an admin can start one in a channel "
                "with `/virtsec daily on 09:00 Europe/Berlin`."
            )
        )
    dicts = [b.to_dict() for b in blocks]
    if len(dicts) > HOME_BLOCKS:
        raise ValueError(f"{len(dicts)} blocks; a Home tab holds {HOME_BLOCKS}")
    return dicts
