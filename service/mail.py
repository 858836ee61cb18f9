"""Safeguarding reminders by email to the supervisors' shared mailbox.

Sent with the standard library (``smtplib``, ``email.message``) when ``WALKTALK_SMTP_HOST``,
``_FROM`` and ``_TO`` are set; otherwise nothing is sent and the queue page says reminders are
off. One message lists every flag due soon or overdue whose last reminder is over
``REMIND_EVERY_HOURS`` old: the walk's date, ward, officer and a link, never anything about the
buddy or what was disclosed (the service does not hold that).
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.queries import queues
from service.settings import Settings

log = logging.getLogger("walktalk.mail")

#: A flag is reminded about at most this often.
REMIND_EVERY_HOURS = 12
LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Reminded:
    """What a reminder run did: flags mentioned, and whether email is configured."""

    flags: int
    email_on: bool


def _when(value: datetime | None) -> str:
    return value.astimezone(LONDON).strftime("%a %d %b %Y %H:%M") if value else "not set"


def reminder_message(
    settings: Settings, flags: list[dict[str, Any]], base_url: str
) -> EmailMessage:
    """The email about ``flags``: one line each with the walk's date, ward and a link."""
    overdue = sum(1 for f in flags if f["state"] == "overdue")
    message = EmailMessage()
    message["From"] = settings.smtp_from or ""
    message["To"] = ", ".join(settings.smtp_to)
    noun = "flag needs" if len(flags) == 1 else "flags need"
    message["Subject"] = (
        f"Walk and Talk: {len(flags)} safeguarding {noun} a reference"
        + (f", {overdue} overdue" if overdue else "")
    )
    lines = [
        "A crime or intelligence was disclosed on these walks and the reference of the report",
        "made the usual way has not been added yet.",
        "",
    ]
    for f in flags:
        state = "OVERDUE" if f["state"] == "overdue" else "due"
        walked = f["actual_start"] or f["planned_start"]
        lines += [
            f"- {state} {_when(f['due_at'])}: walk of {_when(walked)} in {f['ward_name']}"
            f" (officer {f['officer_name']})",
            f"  {base_url.rstrip('/')}/admin/safeguarding/{f['walk_id']}",
        ]
    lines += [
        "",
        "Review them in the safeguarding queue: " + base_url.rstrip("/") + "/admin/safeguarding",
        f"You get this reminder at most once every {REMIND_EVERY_HOURS} hours per flag.",
    ]
    message.set_content("\n".join(lines))
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    """Deliver ``message`` through the configured SMTP server (raises on failure)."""
    assert settings.smtp_host  # callers check settings.email_on first
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(message)


def remind(engine: Engine, settings: Settings, base_url: str) -> Reminded:
    """Email one reminder about the flags due soon or overdue, and note when it went.

    The flags stay locked while the message is sent, and ``reminded_at`` is set in the same
    transaction: if sending fails nothing is marked, so the next run tries again.
    """
    if not settings.email_on:
        return Reminded(flags=0, email_on=False)
    with Session(engine) as session, session.begin():
        flags = queues.reminders_to_send(
            session, settings.safeguarding_due_soon_hours, REMIND_EVERY_HOURS
        )
        if flags:
            send(settings, reminder_message(settings, flags, base_url))
            queues.mark_reminded(session, [f["walk_id"] for f in flags])
    if flags:
        log.info("safeguarding reminder sent about %d flag(s)", len(flags))
    return Reminded(flags=len(flags), email_on=True)
