"""The audit trail: every transition and every login success or failure.

Rows are added to the current session and committed by the flow, together with the change
they describe. Never pass a password or token in ``detail``.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context

from .state import get_state


def client_ip() -> str | None:
    """The client address of the current request, if any (trusted proxies considered)."""
    from .ratelimit import client_ip as address

    return address() if has_request_context() else None


def record(
    account: Any | None,
    *,
    event: str,
    outcome: str,
    from_state: str | None = None,
    to_state: str | None = None,
    actor: str | None = None,
    detail: str | None = None,
    account_id: str | None = None,
) -> None:
    """Add one audit row to the session (not committed)."""
    state = get_state()
    row = state.models.AuditEvent(
        account_pk=getattr(account, "id", None),
        account_id=(getattr(account, "account_id", None) or account_id or "")[:32] or None,
        event=event,
        from_state=from_state,
        to_state=to_state,
        outcome=outcome,
        client_ip=client_ip(),
        actor=actor,
        detail=detail[:200] if detail else None,
    )
    state.db.session.add(row)
