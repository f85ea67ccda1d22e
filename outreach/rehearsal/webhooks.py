"""The simulator's webhooks delivered into the throw-away app in-process, signed as Twilio
signs them, so that every request still passes the signature check first."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from twilio.request_validator import RequestValidator


class AppDeliverer:
    def __init__(self, app: Flask, auth_token: str) -> None:
        self.client = app.test_client()
        self.validator = RequestValidator(auth_token)

    def __call__(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = self.client.post(
            path,
            data=params,
            base_url=f"{parts.scheme}://{parts.netloc}",
            headers={"X-Twilio-Signature": self.validator.compute_signature(url, params)},
        )
        return response.status_code, response.get_data(as_text=True)
