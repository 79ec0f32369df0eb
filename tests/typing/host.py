"""A small host portal, written as a strictly typed host would write it.

``tests/test_typing.py`` runs ``mypy --strict`` on this file: every public name a host uses
(the extension, the decorators, the account, the admin pages, the lifecycle, the migration
helpers) must type-check without a ``# type: ignore``. It is never imported by the tests.
"""

from __future__ import annotations

from flask import Flask, abort, session
from flask_sqlalchemy import SQLAlchemy

from flask_industry_auth import (
    ACTIVATED,
    LOCKED,
    RESET,
    AccountAdapter,
    AccountAdmin,
    AccountMixin,
    IllegalTransition,
    IndustryAuth,
    Lifecycle,
    StateSpec,
    TransitionSpec,
    account_required,
    current_account,
    downgrade_tables,
    electronic_filing_required,
    upgrade_tables,
)
from flask_industry_auth.migrate import upgrade

#: The portal's own state: the agency suspends a company under investigation.
SUSPENDED = "suspended"


class PortalAdapter(AccountAdapter):
    """Longer account ids than the package's default."""

    account_id_length = 10

    def is_safe_redirect(self, target: str | None) -> bool:
        return super().is_safe_redirect(target) and not (target or "").startswith("/admin")


db = SQLAlchemy()
auth = IndustryAuth(db=db, adapter=PortalAdapter())


def describe(account: AccountMixin) -> str:
    kind = "certificate" if account.is_certificate_account else "non-certificate"
    return f"{account.business_name} ({account.business_id}), {account.account_id}, {kind}"


def is_staff() -> bool:
    return session.get("staff_role") == "account-staff"


def staff_name() -> str:
    return f"staff:{session.get('staff_name', '?')}"


def extend_lifecycle(lifecycle: Lifecycle) -> list[TransitionSpec]:
    lifecycle.add_state(SUSPENDED, can_log_in=False, description="under investigation")
    lifecycle.add_transition("suspend", [ACTIVATED, RESET, LOCKED], SUSPENDED)
    lifecycle.add_transition("resume", SUSPENDED, ACTIVATED, description="cleared")
    spec: StateSpec = lifecycle.states[SUSPENDED]
    if spec.can_log_in:
        raise RuntimeError(f"{spec.name} must not allow logins")
    return [t for t in lifecycle.transitions if t.operator and t.leaves(ACTIVATED)]


def suspend(account: AccountMixin, reason: str) -> str:
    lifecycle = auth.get_lifecycle()
    if not lifecycle.can(account, "suspend"):
        return account.state
    try:
        state: str = lifecycle.fire(account, "suspend", actor=staff_name(), detail=reason)
    except IllegalTransition as refused:
        return refused.state
    db.session.commit()
    return state


def create_app(database_url: str = "sqlite:///portal.sqlite") -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="not-a-real-secret",
        SQLALCHEMY_DATABASE_URI=database_url,
        INDUSTRY_AUTH_EXTERNAL_URL="https://portal.example.gov.tw",
    )
    db.init_app(app)
    auth.init_app(app)
    AccountAdmin(app, can_access=is_staff, actor=staff_name, url_prefix="/staff/accounts")
    operator_transitions = extend_lifecycle(auth.get_lifecycle(app))
    app.config["PORTAL_OPERATOR_EVENTS"] = [t.trigger for t in operator_transitions]

    @app.get("/apply/paper")
    @account_required
    def paper() -> str:
        account = current_account()
        if account is None:  # account_required let no one else in
            abort(401)
        if account.can_file_electronically:
            return f"electronic or paper filing for {describe(account)}"
        return f"paper filing for {describe(account)}"

    @app.get("/apply/electronic/<int:form_id>")
    @electronic_filing_required
    def electronic(form_id: int) -> tuple[str, int]:
        return f"form {form_id}", 200

    @app.post("/staff/suspend/<account_id>")
    def staff_suspend(account_id: str) -> str:
        if not is_staff():
            abort(403)
        found: AccountMixin | None = db.session.scalar(
            db.select(auth.account_model).filter_by(account_id=account_id)
        )
        if found is None:
            abort(404)
        return suspend(found, "under investigation")

    return app


def migrate(app: Flask, revision: str | None = None) -> None:
    """What the portal's deploy script runs (``flask industry-auth migrate`` does the same)."""
    with app.app_context():
        if revision is None:
            upgrade_tables()
        else:
            upgrade(revision)


def roll_back(app: Flask, revision: str) -> None:
    with app.app_context():
        downgrade_tables(revision)
