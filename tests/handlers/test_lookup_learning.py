"""Lookup that learns, through the front door: "Did you mean" buttons on an unsure answer,
two people's picks teaching the workspace, admins' gaps, teach and forget."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from tests.fakes.slack_api import FakeSlack
from tests.handlers.conftest import SlackClient

Serve = Callable[..., SlackClient]
UNSURE = "firewall between vms"
PICKED = "virtual-network-security"


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def pick(client: SlackClient, slack: FakeSlack, user: str, button: dict[str, Any]) -> str:
    """Click a suggestion button as `user`; the text of the reply they see."""
    name = f"pick-{user}-{button['action_id']}"
    reply = client.click(
        button["action_id"], button["value"], user=user, response_url=slack.response_url(name)
    )
    assert reply.status == 200
    assert slack.wait_for(lambda: slack.responses(name) != [])
    return json.dumps(slack.responses(name)[0])


def test_two_picks_teach_the_workspace_and_the_third_person_gets_the_answer(
    serve: Serve, fake_slack: FakeSlack, engine: Engine
) -> None:
    client = serve(engine=engine)
    unsure = client.command(UNSURE, user="U1").json()
    assert unsure["text"].startswith("No good match")
    offered = buttons(unsure["blocks"])
    assert [b["text"]["text"] for b in offered][-1] == "None of these"
    chosen = next(b for b in offered if json.loads(b["value"]).get("c") == PICKED)
    assert json.loads(chosen["value"]) == {"q": UNSURE, "c": PICKED}
    first = pick(client, fake_slack, "U1", chosen)
    assert "Virtual network security" in first and "When someone else picks" in first
    again = client.command("Firewall between VMs?", user="U2").json()  # the same key
    assert again["text"].startswith("No good match")
    second = pick(client, fake_slack, "U2", chosen)
    assert "now answers this directly for your team" in second
    third = client.command("firewall between VMs", user="U3").json()
    assert third["text"].startswith("Virtual network security")
    assert "Your team taught me this answer." in json.dumps(third["blocks"])
    # "type 2 ..." is never taught to answer type 1, whoever picks it
    fake_slack.set_user("UADMIN", is_admin=True)
    forged = {"q": "type 2 firewall between vms", "c": "type-1-hypervisor"}
    for user in ("U1", "U2", "UADMIN"):
        pick(client, fake_slack, user, {"action_id": "lookup_pick:0", "value": json.dumps(forged)})
    assert "Type 1" not in client.command("type 2 firewall between vms").json()["text"]


def test_none_of_these_and_unanswered_queries_are_listed_for_admins_only(
    serve: Serve, fake_slack: FakeSlack, engine: Engine
) -> None:
    client = serve(engine=engine)
    fake_slack.set_user("UADMIN", is_admin=True)
    for user in ("U1", "U2"):
        client.command("what is the capital of <!channel> France", user=user)
    unsure = client.command(UNSURE, user="U3").json()
    refuse = buttons(unsure["blocks"])[-1]
    assert "Thanks, noted" in pick(client, fake_slack, "U3", refuse)
    refused = client.command("gaps", user="U1").json()
    assert "admin" in refused["text"].lower()
    ack = client.command("gaps", user="UADMIN", response_url=fake_slack.response_url("gaps"))
    assert ack.json()["text"] == "Working on it…"  # read after the ack: it may take a while
    assert fake_slack.wait_for(lambda: fake_slack.responses("gaps") != [])
    shown = json.dumps(fake_slack.responses("gaps")[0]["blocks"], ensure_ascii=False)
    assert "2× what is the capital of &lt;!channel&gt; France" in shown  # escaped: no ping
    assert f"1× {UNSURE}" in shown
    assert "<!channel>" not in shown


def test_admins_teach_and_forget_and_others_cannot(
    serve: Serve, fake_slack: FakeSlack, engine: Engine
) -> None:
    client = serve(engine=engine)
    fake_slack.set_user("UADMIN", is_admin=True)
    refused = client.command(f"teach {UNSURE} = {PICKED}", user="U1").json()
    assert "admin" in refused["text"].lower()
    unknown = client.command(f"teach {UNSURE} = no-such-concept", user="UADMIN").json()
    assert "There is no concept with the id “no-such-concept”" in unknown["text"]
    taught = client.command(f"teach {UNSURE} = {PICKED}", user="UADMIN").json()
    assert taught["text"].startswith("Taught:")
    assert client.command(UNSURE, user="U1").json()["text"].startswith("Virtual network")
    assert "admin" in client.command(f"forget {UNSURE}", user="U1").json()["text"].lower()
    forgot = client.command(f"forget {UNSURE}", user="UADMIN").json()
    assert forgot["text"].startswith("Forgot")
    assert client.command(UNSURE, user="U1").json()["text"].startswith("No good match")


def test_a_forged_or_stale_pick_gets_a_polite_answer(serve: Serve, fake_slack: FakeSlack) -> None:
    client = serve()
    for n, value in enumerate(["not json", '{"q": 5}', '{"q": "x", "c": "gone-concept"}']):
        name = f"forged{n}"
        reply = client.click("lookup_pick:0", value, response_url=fake_slack.response_url(name))
        assert reply.status == 200
        assert fake_slack.wait_for(lambda name=name: fake_slack.responses(name) != [])
        text = fake_slack.responses(name)[0]["text"]
        assert "out of date" in text or "no longer in the knowledge base" in text
