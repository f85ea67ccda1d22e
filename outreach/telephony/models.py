"""What the telephony part keeps besides attempts: the health of the gateway."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from outreach.db import Base


class GatewayHealth(Base):
    """Whether the gateway has been failing, since when, and what was done about it.

    One row per backend name. ``failing_since`` is set by the first failed request of a
    series and cleared by the next success; ``failover_on`` records the day the IVR tasks
    were moved to the staff queue, so that it happens (and the managers hear of it) once.
    """

    __tablename__ = "gateway_health"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    last_ok_at: Mapped[datetime | None]
    failover_on: Mapped[date | None]
