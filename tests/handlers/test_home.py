"""The App Home dashboard over real HTTP: new and active users, practice on the Home tab."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from bot.library import Library
from tests.fakes.slack_api import FakeSlack
from tests.handlers.conftest import SlackClient, validate_blocks
from tests.handlers.test_daily_slack import answer_buttons, post_question

Serve = Callable[..., SlackClient]


def published(slack: FakeSlack, count: int) -> dict[str, Any]:
    assert slack.wait_for(lambda: len(slack.calls_to("views.publish")) >= count, timeout=15)
    view = slack.calls_to("views.publish")[count - 1].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    validate_blocks(view["blocks"])
    return dict(view)


def opened(client: SlackClient, user: str, event_id: str) -> None:
    event = {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"}
    assert client.event(event, event_id).status == 200


def test_a_new_user_gets_a_sensible_home(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    opened(client, "UNEW", "EvNew")
    text = json.dumps(published(fake_slack, 1)["blocks"])
    assert "Welcome!" in text and "Practice now" in text
    assert "No daily question yet" in text


def test_an_active_user_sees_streak_accuracy_board_and_next_question(
    serve: Serve, fake_slack: FakeSlack, engine: Engine
) -> None:
    client = serve(engine=engine)
    fake_slack.set_user("UADMIN", is_admin=True, tz="UTC")
    client.command("daily on 09:00 UTC everyday", user="UADMIN")
    assert fake_slack.wait_for(lambda: fake_slack.responses("cmd") != [])  # turned on
    client.command("post", user="UADMIN")

    def questions() -> list[dict[str, Any]]:
        return [
            c.args
            for c in fake_slack.calls_to("chat.postMessage")
            if c.args["text"].startswith("Daily practice question:")
        ]

    # the admin is told once the question is in the channel and takes answers
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("cmd")) == 2)
    assert questions() != []
    blocks = questions()[-1]["blocks"]
    value = next(e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"])
    opened(client, "U1", "EvU1")
    published(fake_slack, 1)
    client.click("daily_answer", value, user="U1", ephemeral=False)
    text = json.dumps(published(fake_slack, 2)["blocks"])  # refreshed after the answer
    assert "Streak:" in text and "Accuracy:" in text and "of 1 daily answers" in text
    assert "Leaderboard in <#C1>" in text
    assert "Next daily question:" in text


def test_practice_on_the_home_tab(
    serve: Serve, fake_slack: FakeSlack, library: Library, engine: Engine
) -> None:
    client = serve(engine=engine)
    client.click("home_practice", "*", user="U2", home=True)
    view = published(fake_slack, 1)
    answers = [
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].split(":")[0] == "practice_answer"
    ]
    assert 2 <= len(answers) <= 5 and ":dart: *Practice:*" in json.dumps(view["blocks"])
    client.click(answers[0]["action_id"], answers[0]["value"], user="U2", home=True)
    text = json.dumps(published(fake_slack, 2)["blocks"])
    assert "Correct:" in text or "The answer is" in text
    assert "1 answered" in text  # practice recorded, shown in the header line
    client.click("home_practice", "vm-escape", user="U2", home=True)
    view = published(fake_slack, 3)
    values = [
        e["value"]
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].split(":")[0] == "practice_answer"
    ]
    qid = values[0].split("|")[0]
    assert "vm-escape" in library.kb.questions[qid].concepts


def test_weakest_concepts_get_study_and_practice_buttons(
    serve: Serve, fake_slack: FakeSlack, library: Library
) -> None:
    client = serve()
    body = client.command("quiz", user="U3").json()
    values = [e["value"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    question = library.kb.questions[values[0].split("|")[0]]
    wrong = values[(question.answer_index + 1) % len(values)]
    client.click("practice_answer", wrong, user="U3")  # missed: a weak concept now
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 1)
    opened(client, "U3", "EvU3")
    text = json.dumps(published(fake_slack, 1)["blocks"])
    assert "Your weakest concepts" in text and "concept_open" in text
    assert "Mastery per concept" in text


def test_answers_refresh_only_home_tabs_people_use(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    fake_slack.set_user("UADMIN", is_admin=True)
    value = answer_buttons(post_question(client, fake_slack))[0]["value"]
    for k in range(5):
        client.click("daily_answer", value, user=f"UX{k}", ephemeral=False)
    assert fake_slack.wait_for(lambda: len(fake_slack.responses("click")) == 5)
    assert all(
        r["text"].startswith(("Correct", "Not this time")) for r in fake_slack.responses("click")
    )
    assert fake_slack.calls_to("views.publish") == []


def test_a_home_tab_opened_in_one_process_is_refreshed_by_another(
    serve: Serve, fake_slack: FakeSlack, engine: Engine
) -> None:
    first, second = serve(engine=engine), serve(engine=engine)  # two workers, one database
    fake_slack.set_user("UADMIN", is_admin=True)
    value = answer_buttons(post_question(first, fake_slack))[0]["value"]
    opened(first, "U7", "EvU7")
    published(fake_slack, 1)
    second.click("daily_answer", value, user="U7", ephemeral=False)
    text = json.dumps(published(fake_slack, 2)["blocks"])  # refreshed by the other one
    assert "of 1 daily answers" in text
