"""E-mail backends chosen by ``mail.backend``: the console (default) or SMTP."""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage
from typing import Any, Protocol


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


class ConsoleMailer:
    """Prints e-mails on standard output: the demo and development default."""

    def __init__(self, sender: str, stream: Any = None) -> None:
        self.sender = sender
        self.stream = stream
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))
        out = self.stream or sys.stdout
        print(f"--- e-mail from {self.sender} to {to}\nSubject: {subject}\n\n{body}\n---", file=out)


class SmtpMailer:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def send(self, to: str, subject: str, body: str) -> None:
        c = self.config
        msg = EmailMessage()
        msg["From"] = c["sender"]
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        with smtplib.SMTP(c["host"], c["port"], timeout=c["timeout_seconds"]) as smtp:
            if c["starttls"]:
                smtp.starttls()
            if c["username"]:
                smtp.login(c["username"], c["password"])
            smtp.send_message(msg)


def make_mailer(config: dict[str, dict[str, Any]]) -> Mailer:
    mail = config["mail"]
    if mail["backend"] == "smtp":
        return SmtpMailer(mail)
    return ConsoleMailer(mail["sender"])
