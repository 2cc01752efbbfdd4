"""The baseline for benchmarks/http_bench.py: a Bolt app whose /virtsec handler only acks."""

from __future__ import annotations

import os

from slack_bolt import App
from slack_sdk import WebClient

from handlers.wsgi import make_wsgi_app

app = App(
    client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
)


@app.command("/virtsec")
def virtsec(ack):  # type: ignore[no-untyped-def]
    """Acknowledge and do nothing else."""
    ack()


application = make_wsgi_app(app, lambda: (True, "none"), os.environ["SLACK_SIGNING_SECRET"])
