"""OAuth distribution through the front door: workspaces install with "Add to Slack", and
each is served with its own token, sees only its own people, and can leave.

The browser's side is played over real HTTP: GET /slack/install, Slack's approval (the fake
checks the authorize URL and hands back a code), GET /slack/oauth_redirect carrying the
state cookie itself (Bolt marks it Secure, and this is loopback http)."""

from __future__ import annotations

import html
import json
import re
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, func, select, text, update

from bot.config import Settings
from bot.library import Library
from bot.storage.db import session_factory
from bot.storage.tables import DailyPost, StoredAnswer, Subscription, Workspace
from bot.workspaces import Workspaces
from handlers import server
from handlers.app import build_core
from handlers.installations import NOT_INSTALLED
from handlers.slack_channel import SlackChannel
from handlers.web_api import build_client
from tests.conftest import engine_url
from tests.fakes.slack_api import Call, FakeSlack
from tests.handlers.conftest import SlackClient, settings_for
from tests.handlers.test_daily_slack import answer_buttons
from tests.handlers.test_serve_process import VIRTSEC, slack_env

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-test-secret"
TEAM_A = "TAAA"
TEAM_B = "TBBB"
Serve = Callable[..., SlackClient]


@dataclass
class Page:
    """What a browser got."""

    status: int
    headers: dict[str, str]
    body: str


def browse(url: str, cookie: str | None = None) -> Page:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return Page(
                resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read().decode()
            )
    except urllib.error.HTTPError as err:
        return Page(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read().decode())


@dataclass
class Distributed:
    """The app in OAuth mode on a test database, and the browser steps of an install."""

    client: SlackClient
    slack: FakeSlack
    engine: Engine
    settings: Settings
    cookies: dict[str, str] = field(default_factory=dict)

    def start_install(self) -> tuple[str, str]:
        """GET /slack/install: the authorize URL of its Add to Slack button, and the state
        cookie the page set."""
        page = browse(self.client.url + "/slack/install")
        assert page.status == 200 and "Add to Slack" in page.body
        cookie = page.headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie  # Bolt's state cookie
        found = re.search(r'<a href="([^"]+)"><img alt="Add to Slack"', page.body)
        assert found is not None, page.body
        return html.unescape(found.group(1)), cookie.split(";", 1)[0]

    def install(self, team: str, name: str | None = None) -> Page:
        """A workspace installs the app, start to finish."""
        url, cookie = self.start_install()
        query = self.slack.approve(url, team, name)
        return self.redirect(query, cookie)

    def redirect(self, query: dict[str, str], cookie: str | None) -> Page:
        return browse(
            self.client.url + "/slack/oauth_redirect?" + urllib.parse.urlencode(query), cookie
        )

    def token_of(self, team: str) -> str:
        with self.engine.connect() as conn:
            token = conn.scalar(
                text(
                    "SELECT bot_token FROM slack_bots WHERE team_id = :t "
                    "ORDER BY installed_at DESC LIMIT 1"
                ),
                {"t": team},
            )
        assert token is not None, f"{team} is not installed"
        return str(token)

    def teams_called(self, method: str, **args: str) -> list[str | None]:
        """The workspace of the token each call to `method` (with these args) carried."""
        return [
            self.slack.team_of(bearer(c))
            for c in self.slack.calls_to(method)
            if all(c.args.get(k) == v for k, v in args.items())
        ]


def bearer(call: Call) -> str:
    return call.headers.get("authorization", "").removeprefix("Bearer ")


@pytest.fixture
def distributed(serve: Serve, fake_slack: FakeSlack, engine: Engine) -> Distributed:
    fake_slack.register_app(CLIENT_ID, CLIENT_SECRET)
    return start(serve, fake_slack, engine)


def start(serve: Serve, slack: FakeSlack, engine: Engine, **overrides: Any) -> Distributed:
    values: dict[str, Any] = {
        "slack_bot_token": "",
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
        **overrides,
    }
    client = serve(engine, **values)
    settings = settings_for(slack, Path("/nonexistent"), database_url=engine_url(engine), **values)
    return Distributed(client, slack, engine, settings)


def command(app: Distributed, text_: str, team: str, user: str, channel: str) -> dict[str, Any]:
    """A slash command; its answer, whether in the ack or (after it) at the response_url."""
    name = f"{team}-{user}-{len(app.slack.calls)}-{text_}"
    reply = app.client.command(
        text_,
        team=team,
        user=user,
        channel=channel,
        response_url=app.slack.response_url(name),
    )
    assert reply.status == 200
    body = reply.json()
    if body.get("text") != "Working on it…":
        return dict(body)
    assert app.slack.wait_for(lambda: app.slack.responses(name) != [], timeout=10)
    return app.slack.responses(name)[-1]


def posted_questions(app: Distributed, channel: str) -> list[Call]:
    return [
        c
        for c in app.slack.calls_to("chat.postMessage")
        if c.args.get("channel") == channel
        and str(c.args.get("text", "")).startswith("Daily practice question:")
    ]


def due_now(engine: Engine, *teams: str) -> None:
    """Make the teams' schedules due at once (as if their post time had come)."""
    now = datetime.now(UTC)
    with session_factory(engine).begin() as session:
        session.execute(
            update(Subscription)
            .where(Subscription.team_id.in_(teams))
            .values(post_time="00:00", timezone="UTC", days="everyday", starts_on=now.date())
        )


def test_two_workspaces_install_and_each_is_served_with_its_own_token(
    distributed: Distributed, fake_slack: FakeSlack, engine: Engine, tmp_path: Path
) -> None:
    app = distributed
    for team in (TEAM_A, TEAM_B):
        page = app.install(team)
        assert page.status == 200, page.body
        assert f"installed in <strong>team {team}</strong>" in page.body
        assert "/virtsec help" in page.body and "/virtsec daily on" in page.body
    token_a, token_b = app.token_of(TEAM_A), app.token_of(TEAM_B)
    assert token_a != token_b and fake_slack.team_of(token_a) == TEAM_A

    # slash commands: each answered, each workspace's admin known through its own token
    for team, user in ((TEAM_A, "UA1"), (TEAM_B, "UB1")):
        answer = command(app, "what is vm escape", team, user, f"C{team}")
        assert "VM escape" in answer["text"]
    fake_slack.set_user("UAADMIN", is_admin=True)
    fake_slack.set_user("UBADMIN", is_owner=True)
    for team, admin in ADMINS:
        answer = command(app, "daily on 09:00 UTC", team, admin, f"C{team}")
        assert "Daily questions" in answer["text"] or "daily" in answer["text"].lower(), answer
        assert app.teams_called("users.info", user=admin) == [team]
    # the schedule's announcement went out with each workspace's own token
    for team in (TEAM_A, TEAM_B):
        assert app.teams_called("chat.postMessage", channel=f"C{team}") == [team]

    # Home tabs
    for team, user in ((TEAM_A, "UA1"), (TEAM_B, "UB1")):
        event = {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"}
        assert app.client.event(event, f"Ev{team}", team=team).status == 200
    assert fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.publish")) == 2)
    assert sorted(
        (c.args["user_id"], fake_slack.team_of(bearer(c)))
        for c in fake_slack.calls_to("views.publish")
    ) == [("UA1", TEAM_A), ("UB1", TEAM_B)]

    # daily posts from `virtsec tick`, a process of its own with no token but the stores'
    due_now(engine, TEAM_A, TEAM_B)
    env = slack_env(
        fake_slack,
        DATABASE_URL=engine_url(engine),
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
    )
    tick = subprocess.run(
        [str(VIRTSEC), "tick"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert tick.returncode == 0, tick.stderr
    assert "posted 2" in tick.stdout
    for team in (TEAM_A, TEAM_B):
        posts = posted_questions(app, f"C{team}")
        assert [fake_slack.team_of(bearer(c)) for c in posts] == [team]


ADMINS = ((TEAM_A, "UAADMIN"), (TEAM_B, "UBADMIN"))


def two_workspaces(app: Distributed) -> None:
    """Workspaces A and B install the app; each has an admin (by Slack's users.info)."""
    for team, admin in ADMINS:
        assert app.install(team).status == 200
        app.slack.set_user(admin, is_admin=True)


def right_answer(engine: Engine, library: Library, team: str, buttons: list[Any]) -> str:
    """The value of the button with the right answer of the team's open question."""
    with session_factory(engine).begin() as session:
        question = session.scalar(select(DailyPost.question_id).where(DailyPost.team_id == team))
    index = library.kb.questions[str(question)].answer_index
    return next(str(b["value"]) for b in buttons if b["value"].endswith(f":{index}"))


def test_each_workspace_sees_only_its_own_people(
    distributed: Distributed, fake_slack: FakeSlack, engine: Engine, library: Library
) -> None:
    app = distributed
    two_workspaces(app)
    buttons = {}
    for team, admin in ADMINS:
        answer = command(app, "post", team, admin, f"C{team}")
        assert "Posted a new question" in answer["text"], answer
        buttons[team] = answer_buttons(posted_questions(app, f"C{team}")[-1].args)
    # people of each workspace answer their own question
    for team, user in ((TEAM_A, "UAALICE"), (TEAM_B, "UBBOB")):
        reply = app.client.click(
            "daily_answer",
            right_answer(engine, library, team, buttons[team]),
            team=team,
            user=user,
            channel=f"C{team}",
            ephemeral=False,
        )
        assert reply.status == 200
    # a click from workspace A carrying B's post (forged, or a shared message) scores nothing
    forged = app.client.click(
        "daily_answer",
        buttons[TEAM_B][0]["value"],
        team=TEAM_A,
        user="UAMALLORY",
        channel=f"C{TEAM_B}",
        ephemeral=False,
    )
    assert forged.status == 200
    with session_factory(engine).begin() as session:
        answered = sorted(
            (a.team_id, a.user_id) for a in session.scalars(select(StoredAnswer)).all()
        )
    assert answered == [(TEAM_A, "UAALICE"), (TEAM_B, "UBBOB")]

    # unanswered questions of B never reach A's gaps
    for user in ("UB1", "UB2"):
        command(app, "what is the airspeed of a swallow", TEAM_B, user, f"C{TEAM_B}")
    for team, admin in ADMINS:
        board = json.dumps(command(app, "leaderboard", team, admin, f"C{team}"))
        mine, theirs = ("UAALICE", "UBBOB") if team == TEAM_A else ("UBBOB", "UAALICE")
        assert mine in board and theirs not in board
        gaps = json.dumps(command(app, "gaps", team, admin, f"C{team}"))
        assert ("swallow" in gaps) == (team == TEAM_B), gaps
    stats = json.dumps(command(app, "stats", TEAM_A, "UAALICE", f"C{TEAM_A}"))
    assert "1" in stats and "UBBOB" not in stats


def test_a_forged_or_reused_install_state_is_refused(
    distributed: Distributed, fake_slack: FakeSlack, engine: Engine
) -> None:
    app = distributed
    url, cookie = app.start_install()
    query = fake_slack.approve(url, TEAM_A)
    # a state this app never issued, with a cookie to match it
    forged = dict(query, state="0f0f0f0f-forged")
    page = app.redirect(forged, "slack-app-oauth-state=0f0f0f0f-forged")
    assert page.status == 401 and "already used or is more than 10 minutes old" in page.body
    # the right state from another browser (no cookie): refused
    page = app.redirect(query, None)
    assert page.status == 400 and "this browser did not start the install" in page.body
    # the real one works once
    assert app.redirect(query, cookie).status == 200
    calls = len(fake_slack.calls_to("oauth.v2.access"))
    page = app.redirect(query, cookie)  # replayed
    assert page.status == 401 and "Nothing was installed" in page.body
    assert len(fake_slack.calls_to("oauth.v2.access")) == calls  # Slack was not even asked
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM slack_bots")) == 1
    # a cancelled install says so
    page = app.redirect({"error": "access_denied", "state": query["state"]}, cookie)
    assert "cancelled" in page.body


def test_a_workspace_that_is_not_installed_is_refused_with_no_side_effect(
    distributed: Distributed, fake_slack: FakeSlack, engine: Engine
) -> None:
    app = distributed
    app.install(TEAM_A)
    name = "stranger"
    reply = app.client.command(
        "what is vm escape", team="TNOBODY", user="UX1", response_url=fake_slack.response_url(name)
    )
    assert reply.status == 200 and reply.body == ""  # no answer in the ack
    assert fake_slack.wait_for(lambda: fake_slack.responses(name) != [])
    assert fake_slack.responses(name)[0]["text"] == NOT_INSTALLED
    with session_factory(engine).begin() as session:
        assert session.scalar(select(func.count()).select_from(StoredAnswer)) == 0
        lookups = session.execute(text("SELECT count(*) FROM lookup_events")).scalar()
    assert lookups == 0


def test_uninstall_stops_that_workspace_and_the_other_keeps_working(
    distributed: Distributed, fake_slack: FakeSlack, engine: Engine, library: Library
) -> None:
    app = distributed
    two_workspaces(app)
    for team, admin in ADMINS:
        command(app, "daily on 09:00 UTC", team, admin, f"C{team}")
    command(app, "what is hyperjacking", TEAM_A, "UA1", f"C{TEAM_A}")

    fake_slack.uninstall(TEAM_A)  # Slack revokes A's tokens, then tells the app
    uninstalled = {"type": "app_uninstalled"}
    assert app.client.event(uninstalled, "EvUninstA", team=TEAM_A).status == 200
    with engine.connect() as conn:
        left = conn.execute(text("SELECT DISTINCT team_id FROM slack_bots")).scalars().all()
        installs = conn.execute(
            text("SELECT count(*) FROM slack_installations WHERE team_id = :t"), {"t": TEAM_A}
        ).scalar()
    assert left == [TEAM_B] and installs == 0
    with session_factory(engine).begin() as session:
        enabled = {s.team_id: s.enabled for s in session.scalars(select(Subscription)).all()}
        departed = session.get(Workspace, TEAM_A)
        assert departed is not None and departed.uninstalled_at is not None
    assert enabled == {TEAM_A: False, TEAM_B: True}

    # the next tick posts in B only
    due_now(engine, TEAM_A, TEAM_B)
    report = server.tick_once(app.settings, library)
    assert [p.team_id for p in report.posted] == [TEAM_B] and report.failed == []
    assert posted_questions(app, f"C{TEAM_A}") == []
    # A's requests are refused, B's are answered
    name = "after-uninstall"
    reply = app.client.command(
        "what is vm escape", team=TEAM_A, user="UA1", response_url=fake_slack.response_url(name)
    )
    assert reply.status == 200 and reply.body == ""
    assert fake_slack.wait_for(lambda: fake_slack.responses(name) != [])
    assert fake_slack.responses(name)[0]["text"] == NOT_INSTALLED
    assert "VM escape" in command(app, "what is vm escape", TEAM_B, "UB1", f"C{TEAM_B}")["text"]

    # A's study data is kept for the grace period, then deleted; B's stays
    core = build_core(app.settings, library, build_client(app.settings), engine)
    assert core.workspaces.purge_departed() == []
    later = datetime.now(UTC) + timedelta(days=app.settings.purge_after_days, minutes=1)
    core.workspaces.clock = lambda: later
    assert core.workspaces.purge_departed() == [TEAM_A]
    with session_factory(engine).begin() as session:
        teams = set(session.scalars(select(Subscription.team_id)).all())
        lookups = set(session.execute(text("SELECT DISTINCT team_id FROM lookup_events")).scalars())
    assert teams == {TEAM_B} and TEAM_A not in lookups


def test_a_revoked_bot_token_stops_the_workspace_and_a_reinstall_brings_it_back(
    distributed: Distributed, fake_slack: FakeSlack, engine: Engine, library: Library
) -> None:
    app = distributed
    app.install(TEAM_A)
    fake_slack.set_user("UAADMIN", is_admin=True)
    command(app, "daily on 09:00 UTC", TEAM_A, "UAADMIN", f"C{TEAM_A}")
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0BOT"]}}
    assert app.client.event(revoked, "EvRevoked", team=TEAM_A).status == 200
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM slack_bots")) == 0
    due_now(engine, TEAM_A)
    assert server.tick_once(app.settings, library).posted == []
    # installed again within the grace period: nothing is deleted, schedules wait for an admin
    assert app.install(TEAM_A).status == 200
    with session_factory(engine).begin() as session:
        workspace = session.get(Workspace, TEAM_A)
        assert workspace is not None and workspace.uninstalled_at is None
    answer = command(app, "daily on 09:00 UTC", TEAM_A, "UAADMIN", f"C{TEAM_A}")
    assert "09:00" in answer["text"], answer
    due_now(engine, TEAM_A)
    assert [p.team_id for p in server.tick_once(app.settings, library).posted] == [TEAM_A]


def rotating(serve: Serve, slack: FakeSlack, engine: Engine, **fake: Any) -> Distributed:
    """The app with token rotation on, installed in workspace A, with a daily question."""
    slack.register_app(CLIENT_ID, CLIENT_SECRET, rotation=True, **fake)
    app = start(serve, slack, engine)
    app.install(TEAM_A)
    slack.set_user("UAADMIN", is_admin=True)
    command(app, "daily on 09:00 UTC", TEAM_A, "UAADMIN", f"C{TEAM_A}")
    return app


def expires_in(engine: Engine, minutes: float) -> None:
    """Time passes: the stored token expires in `minutes` (or expired, when negative)."""
    at = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=minutes)
    with engine.begin() as conn:
        conn.execute(text("UPDATE slack_bots SET bot_token_expires_at = :at"), {"at": at})


def refreshes(slack: FakeSlack) -> list[Call]:
    return [
        c for c in slack.calls_to("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"
    ]


def clients_of_core(app: Distributed, library: Library) -> Any:
    """Each workspace's clients, as a scheduler of its own builds them."""
    core = build_core(app.settings, library, build_client(app.settings), app.engine)
    channel = core.scheduler.channel
    assert isinstance(channel, SlackChannel)
    return channel.clients


def test_rotation_refreshes_an_expired_token_once_before_a_scheduled_post(
    serve: Serve, fake_slack: FakeSlack, engine: Engine, library: Library
) -> None:
    app = rotating(serve, fake_slack, engine, refresh_seconds=0.5)
    old = app.token_of(TEAM_A)
    # twelve hours later: the token has expired at Slack, and the store says so
    fake_slack.expire(old)
    expires_in(engine, -5)
    due_now(engine, TEAM_A)
    # two schedulers find the expired token at the same moment, while Slack takes half a
    # second to refresh it: one rotates, the other waits for the new token
    clients = [clients_of_core(app, library) for _ in range(2)]
    together = threading.Barrier(2)
    tokens: list[str] = []

    def use(n: int) -> None:
        together.wait()
        tokens.append(clients[n].for_team(TEAM_A).token)

    threads = [threading.Thread(target=use, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(refreshes(fake_slack)) == 1
    new = app.token_of(TEAM_A)
    assert new != old and tokens == [new, new]
    # the workspace's share of Slack's rate limits is the same, whatever its token
    assert clients[0].for_team(TEAM_A).budget_scope() == f"team:{TEAM_A}"
    report = server.tick_once(app.settings, library)
    assert [p.team_id for p in report.posted] == [TEAM_A]
    assert [bearer(c) for c in posted_questions(app, f"C{TEAM_A}")] == [new]
    # and a request is authorized with the new token (Bolt finds nothing to rotate)
    assert "VM escape" in command(app, "what is vm escape", TEAM_A, "UA1", f"C{TEAM_A}")["text"]
    assert len(refreshes(fake_slack)) == 1


def test_the_scheduler_refreshes_tokens_before_they_expire_so_requests_never_wait(
    serve: Serve, fake_slack: FakeSlack, engine: Engine, library: Library
) -> None:
    app = rotating(serve, fake_slack, engine)
    old = app.token_of(TEAM_A)

    def answered() -> bool:
        started = time.monotonic()
        reply = command(app, "what is vm escape", TEAM_A, "UA1", f"C{TEAM_A}")
        return "VM escape" in reply["text"] and time.monotonic() - started < 1.5

    expires_in(engine, 100)  # within the 2.5 hours the scheduler rotates ahead
    assert answered() and refreshes(fake_slack) == []  # a request does not rotate it
    core = build_core(app.settings, library, build_client(app.settings), engine)
    # Slack fails the scheduler's refresh: the token still works, so nobody is shut out
    fake_slack.fail_next("oauth.v2.access", status=500)
    core.tidy()
    assert len(refreshes(fake_slack)) == 1 and app.token_of(TEAM_A) == old
    assert answered()
    # minutes from expiry, while another process holds the rotation (taken here by hand):
    # a request is answered at once with the token in hand, which still works
    expires_in(engine, 3)
    workspaces = Workspaces(session_factory(engine), lambda: datetime.now(UTC))
    owner = workspaces.take_rotation(TEAM_A, timedelta(seconds=30))
    assert owner is not None
    assert answered() and len(refreshes(fake_slack)) == 1
    workspaces.end_rotation(TEAM_A, owner)
    # the scheduler's housekeeping rotates it, with no request needed
    core.tidy()
    assert len(refreshes(fake_slack)) == 2 and app.token_of(TEAM_A) != old
    core.tidy()  # nothing more is due
    assert len(refreshes(fake_slack)) == 2
    assert answered() and len(refreshes(fake_slack)) == 2


def test_a_refresh_token_slack_will_never_take_stops_asking_for_an_hour(
    serve: Serve, fake_slack: FakeSlack, engine: Engine, library: Library
) -> None:
    app = rotating(serve, fake_slack, engine)
    old = app.token_of(TEAM_A)
    with engine.connect() as conn:
        refresh = conn.scalar(text("SELECT bot_refresh_token FROM slack_bots"))
    # the refresh token is spent elsewhere (a copy of the database, say), then time passes
    WebClient(base_url=fake_slack.base_url).oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=str(refresh),
    )
    fake_slack.expire(old)
    expires_in(engine, -5)
    due_now(engine, TEAM_A)
    report = server.tick_once(app.settings, library)
    assert report.posted == [] and report.failed == [f"C{TEAM_A}"]
    with session_factory(engine).begin() as session:
        assert session.scalars(select(DailyPost.status)).all() == ["failed"]  # not retried
    asked = len(refreshes(fake_slack))
    server.tick_once(app.settings, library)  # the next minute: Slack is not asked again
    assert len(refreshes(fake_slack)) == asked


def test_a_refresh_slack_refuses_leaves_the_daily_post_to_the_next_tick(
    serve: Serve, fake_slack: FakeSlack, engine: Engine, library: Library
) -> None:
    app = rotating(serve, fake_slack, engine)
    fake_slack.expire(app.token_of(TEAM_A))
    expires_in(engine, -5)
    due_now(engine, TEAM_A)
    fake_slack.fail_next("oauth.v2.access", status=500)
    report = server.tick_once(app.settings, library)
    # nothing was sent: the post is known not posted (not "maybe on screen"), and retried
    assert report.posted == [] and report.failed == [f"C{TEAM_A}"]
    assert posted_questions(app, f"C{TEAM_A}") == []
    with session_factory(engine).begin() as session:
        assert session.scalars(select(DailyPost.status)).all() != ["unknown"]
    report = server.tick_once(app.settings, library)
    assert [p.team_id for p in report.posted] == [TEAM_A]


def test_admins_are_per_workspace(serve: Serve, fake_slack: FakeSlack, engine: Engine) -> None:
    fake_slack.register_app(CLIENT_ID, CLIENT_SECRET)
    app = start(serve, fake_slack, engine, admins=(f"{TEAM_A}:UACHOSEN",))
    app.install(TEAM_A)
    app.install(TEAM_B)
    fake_slack.set_user("UBOWNER", is_owner=True)
    # the chosen person administers A (not a Slack admin there), not B
    a = command(app, "gaps", TEAM_A, "UACHOSEN", f"C{TEAM_A}")
    assert "Only virtsec admins" not in json.dumps(a)
    b = command(app, "gaps", TEAM_B, "UACHOSEN", f"C{TEAM_B}")
    assert "Only virtsec admins" in json.dumps(b)
    # B's own owner administers B
    owner = command(app, "gaps", TEAM_B, "UBOWNER", f"C{TEAM_B}")
    assert "Only virtsec admins" not in json.dumps(owner)


def test_bolts_not_installed_reply_goes_only_to_slacks_hosts(
    distributed: Distributed, fake_slack: FakeSlack
) -> None:
    app = distributed
    # a signed request whose response_url points off Slack's hosts (here: "localhost", the
    # same fake under another name): the reply Bolt would send is not sent anywhere
    foreign = fake_slack.response_url("elsewhere").replace("127.0.0.1", "localhost")
    reply = app.client.command("what is vm escape", team="TNOBODY", response_url=foreign)
    assert reply.status == 200
    slack_host = fake_slack.response_url("slack")
    app.client.command("what is vm escape", team="TNOBODY", response_url=slack_host)
    assert fake_slack.wait_for(lambda: fake_slack.responses("slack") != [])
    assert fake_slack.responses("elsewhere") == []


def test_one_workspace_mode_stops_the_schedules_when_the_app_is_removed(
    serve: Serve, fake_slack: FakeSlack, engine: Engine
) -> None:
    client = serve(engine)  # SLACK_BOT_TOKEN, no OAuth
    assert client.get("/slack/install").status == 404  # nothing to install
    fake_slack.set_user("UADMIN", is_admin=True)
    reply = client.command("daily on 09:00 UTC", user="UADMIN", channel="C1")
    assert reply.status == 200
    assert fake_slack.wait_for(lambda: fake_slack.responses("cmd") != [])
    assert client.event({"type": "app_uninstalled"}, "EvGone").status == 200
    with session_factory(engine).begin() as session:
        assert [s.enabled for s in session.scalars(select(Subscription)).all()] == [False]
        # the operator's workspace: its data is never deleted on a timer
        workspace = session.get(Workspace, "T0TEST")
        assert workspace is None or workspace.uninstalled_at is None


def test_the_install_pages_escape_what_slack_sends_and_abandoned_installs_are_tidied(
    distributed: Distributed, engine: Engine, library: Library
) -> None:
    app = distributed
    page = app.install(TEAM_A, name='<script>alert("x")</script> & Co')
    assert page.status == 200
    assert "<script>" not in page.body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page.body
    # two installs started and never finished leave two states behind
    app.start_install()
    app.start_install()
    with engine.begin() as conn:
        assert conn.scalar(text("SELECT count(*) FROM slack_oauth_states")) == 2
        conn.execute(
            text("UPDATE slack_oauth_states SET expire_at = :at"), {"at": datetime(2020, 1, 1)}
        )
    app.start_install()  # a fresh one stays
    core = build_core(app.settings, library, build_client(app.settings), engine)
    core.tidy()
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM slack_oauth_states")) == 1


def test_an_uninstall_redelivered_after_a_reinstall_is_ignored(
    distributed: Distributed, fake_slack: FakeSlack
) -> None:
    app = distributed
    sent = int(time.time()) - 60  # Slack sent it a minute ago; it arrives again now
    app.install(TEAM_A)
    body = {
        "token": "legacy",
        "team_id": TEAM_A,
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": "EvLate",
        "event_time": sent,
        "event": {"type": "app_uninstalled"},
    }
    reply = app.client.post(
        json.dumps(body),
        "application/json",
        headers={"X-Slack-Retry-Num": "3", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert reply.status == 200
    assert app.token_of(TEAM_A)  # the new install stands
    assert "VM escape" in command(app, "what is vm escape", TEAM_A, "UA1", f"C{TEAM_A}")["text"]


def test_an_organization_wide_install_is_refused_with_a_clear_page(
    distributed: Distributed, fake_slack: FakeSlack, engine: Engine
) -> None:
    app = distributed
    url, cookie = app.start_install()
    page = app.redirect(fake_slack.approve(url, TEAM_A, org=True), cookie)
    assert "Nothing was installed" in page.body and "each workspace" in page.body
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM slack_bots")) == 0
