"""Safeguarding reminder emails against a real local SMTP server (aiosmtpd), never a mock.

A flag due soon is sent once; a second run within 12 hours sends nothing; once the last
reminder is older than that it is sent again. The same happens from the ``walktalk safeguarding
remind`` command and from the service's own background task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.app import create_app
from service.cli import main
from service.mail import remind
from service.settings import Settings
from tests.conftest import _free_port
from tests.test_admin_queues import disclosed_walk


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """Keep the message and its envelope's recipients; answer 250."""
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free loopback port and what it received."""
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def with_mail(settings: Settings, port: int) -> Settings:
    """``settings`` with email reminders on, to the local server."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_from": "walktalk@example.org",
            "smtp_to": ["as-supervisors@example.org", "duty@example.org"],
            "public_url": "https://walktalk.example.org",
        }
    )


@pytest.fixture
def sql(app_settings: Settings) -> Iterator[Callable[..., Any]]:
    """Run one statement against the app's database."""
    engine = create_engine(app_settings.database_url or "")

    def run(statement: str, **params: Any) -> Any:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.scalar() if result.returns_rows else None

    yield run
    engine.dispose()


def test_reminder_once_per_twelve_hours(
    client: TestClient,
    people: dict,
    app_settings: Settings,
    inbox: tuple[Inbox, int],
    sql: Callable[..., Any],
) -> None:
    """To, Subject and body as the supervisors need them; nothing of the buddy; not twice."""
    handler, port = inbox
    due = disclosed_walk(client, people, 5, 18)
    overdue = disclosed_walk(client, people, 6, 19)
    later = disclosed_walk(client, people, 7, 20)
    sql("UPDATE safeguarding SET due_at = now() - interval '2 hours' WHERE walk_id = :id",
        id=overdue)
    sql("UPDATE safeguarding SET due_at = now() + interval '5 days' WHERE walk_id = :id",
        id=later)
    settings = with_mail(app_settings, port)
    engine = create_engine(settings.database_url or "")
    try:
        done = remind(engine, settings, settings.public_url)
        assert done.email_on and done.flags == 2
        assert len(handler.messages) == 1
        recipients, message = handler.messages[0]
        assert sorted(recipients) == ["as-supervisors@example.org", "duty@example.org"]
        assert message["To"] == "as-supervisors@example.org, duty@example.org"
        assert message["From"] == "walktalk@example.org"
        assert message["Subject"] == (
            "Walk and Talk: 2 safeguarding flags need a reference, 1 overdue"
        )
        body = message.get_payload(decode=True).decode()
        assert f"https://walktalk.example.org/admin/safeguarding/{due}" in body
        assert f"https://walktalk.example.org/admin/safeguarding/{overdue}" in body
        assert later not in body  # due in five days: not yet
        assert "Waterloo" in body and "OVERDUE" in body and "PC Example" in body
        for buddy_detail in ("07700", "B-E05011095", "Bankside"):
            assert buddy_detail not in body
        assert sql("SELECT count(*) FROM safeguarding WHERE reminded_at IS NOT NULL") == 2

        again = remind(engine, settings, settings.public_url)
        assert again.flags == 0 and len(handler.messages) == 1

        # Thirteen hours on, the overdue flag (still without a reference) is sent again.
        sql("UPDATE safeguarding SET reminded_at = now() - interval '13 hours' "
            "WHERE walk_id = :id", id=overdue)
        third = remind(engine, settings, settings.public_url)
        assert third.flags == 1 and len(handler.messages) == 2
        assert handler.messages[1][1]["Subject"] == (
            "Walk and Talk: 1 safeguarding flag needs a reference, 1 overdue"
        )
    finally:
        engine.dispose()


def test_no_settings_no_email(
    client: TestClient, people: dict, app_settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    """Without WALKTALK_SMTP_HOST nothing is sent and nothing is marked."""
    handler, _ = inbox
    disclosed_walk(client, people, 8, 18)
    engine = create_engine(app_settings.database_url or "")
    try:
        done = remind(engine, app_settings, app_settings.public_url)
    finally:
        engine.dispose()
    assert not done.email_on and done.flags == 0 and handler.messages == []


def test_cli_command(
    client: TestClient,
    people: dict,
    app_settings: Settings,
    inbox: tuple[Inbox, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`walktalk safeguarding remind` sends the reminder (for cron), then nothing on a rerun."""
    handler, port = inbox
    disclosed_walk(client, people, 9, 18)
    monkeypatch.setenv("DATABASE_URL", app_settings.database_url or "")
    monkeypatch.setenv("WALKTALK_HOME", str(app_settings.home))
    monkeypatch.setenv("WALKTALK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("WALKTALK_SMTP_PORT", str(port))
    monkeypatch.setenv("WALKTALK_SMTP_FROM", "walktalk@example.org")
    monkeypatch.setenv("WALKTALK_SMTP_TO", "as-supervisors@example.org, duty@example.org")
    assert main(["safeguarding", "remind"]) == 0
    assert "1 flag(s) mentioned" in capsys.readouterr().out
    assert len(handler.messages) == 1
    assert sorted(handler.messages[0][0]) == ["as-supervisors@example.org", "duty@example.org"]
    assert main(["safeguarding", "remind"]) == 0
    assert "0 flag(s) mentioned" in capsys.readouterr().out
    assert len(handler.messages) == 1
    monkeypatch.delenv("WALKTALK_SMTP_HOST")
    assert main(["safeguarding", "remind"]) == 0
    assert "email reminders are off" in capsys.readouterr().err


def test_service_task_sends_and_survives_a_dead_server(
    client: TestClient,
    people: dict,
    app_settings: Settings,
    inbox: tuple[Inbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The lifespan's task sends at start; a mail server that is down is logged, not fatal."""
    handler, port = inbox
    disclosed_walk(client, people, 10, 18)
    with TestClient(create_app(with_mail(app_settings, port))) as running:
        deadline = time.monotonic() + 20
        while not handler.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(handler.messages) == 1
        assert running.get("/healthz").status_code == 200
    dead = with_mail(app_settings, _free_port()).model_copy(update={"public_url": "http://x"})
    disclosed_walk(client, people, 11, 18)
    with caplog.at_level("ERROR"), TestClient(create_app(dead)) as running:
        deadline = time.monotonic() + 20
        while "could not be sent" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "safeguarding reminders could not be sent" in caplog.text
        assert running.get("/healthz").status_code == 200
    assert len(handler.messages) == 1
