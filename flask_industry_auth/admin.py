"""The agency's pages for applicant accounts: search, an account's page with its history and
the actions open to staff, the 自然人憑證 delegations to approve or revoke, and the lifecycle
as a picture. Optional, mounted apart::

    from flask_industry_auth.admin import AccountAdmin

    AccountAdmin(
        app,
        can_access=lambda: current_user.is_authenticated and current_user.has_role("staff"),
    )

``can_access`` is required: without it the pages would be open to anyone, so the blueprint
refuses to mount. The buttons are the lifecycle's operator transitions for the account's
current state, so a state and transitions a host adds show up with their own buttons. Every
action goes through :mod:`flask_industry_auth.flows.operations` or, for delegations,
:mod:`flask_industry_auth.flows.delegation` (audited with ``actor``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import validate_csrf
from markupsafe import Markup
from wtforms import ValidationError

from . import dates
from .flows import delegation as delegation_flow
from .flows import find_account, operations
from .hooks import error_page, security_headers
from .i18n import gettext as _
from .i18n import speak_applicant_locale, text_of
from .lifecycle import IllegalTransition
from .models import DELEGATION_AUTHORIZED, DELEGATION_PENDING, DELEGATION_REVOKED
from .rendering import template_context
from .resources import resource_dir
from .state import EXTENSION_KEY, get_state
from .templating import PackagedTemplateLoader

ADMIN_KEY = "industry_auth_admin"

log = logging.getLogger(__name__)


class AccountAdmin:
    """The admin blueprint (``industry_auth_admin``), the Flask extension way.

    :param can_access: called for every request of the admin pages; a false answer gets
        403. Required.
    :param actor: returns the name the audit trail records for the staff member (default:
        ``admin:`` and the Flask-Login id of ``current_user``).
    :param url_prefix: where the pages are mounted.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        can_access: Callable[[], bool] | None = None,
        actor: Callable[[], str] | None = None,
        url_prefix: str = "/account-admin",
    ) -> None:
        self.can_access = can_access
        self.actor = actor or _default_actor
        self.url_prefix = url_prefix
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Mount the pages on ``app`` (after ``IndustryAuth.init_app``)."""
        if self.can_access is None:
            raise RuntimeError(
                "AccountAdmin needs can_access: a function that says whether the current "
                "user may manage applicant accounts (for example a staff role check)"
            )
        if EXTENSION_KEY not in app.extensions:
            raise RuntimeError("call IndustryAuth.init_app(app) before AccountAdmin.init_app(app)")
        app.extensions[ADMIN_KEY] = self
        app.register_blueprint(blueprint, url_prefix=self.url_prefix)


def _default_actor() -> str:
    from flask_login import current_user

    user_id = current_user.get_id() if current_user and current_user.is_authenticated else "?"
    return f"admin:{user_id}"[:64]


def _admin() -> AccountAdmin:
    return current_app.extensions[ADMIN_KEY]


blueprint = Blueprint(
    "industry_auth_admin", __name__, template_folder=str(resource_dir("templates"))
)
# The admin templates too are reachable as "industry_auth/packaged/admin/<name>".
blueprint.jinja_loader = PackagedTemplateLoader(resource_dir("templates"))
blueprint.context_processor(template_context)
speak_applicant_locale(blueprint)


@blueprint.context_processor
def _labels() -> dict:
    return {
        "state_label": _state_label,
        "event_label": _event_label,
        "outcome_label": _outcome_label,
        "delegation_status_label": _delegation_status_label,
        # For the heading of a table whose times are written without their zone.
        "time_zone": dates.zone_name,
    }


def _state_label(state: str) -> str:
    return text_of(get_state().lifecycle.state_label(state))


def _event_label(event: str) -> str:
    return text_of(get_state().lifecycle.event_label(event))


def _outcome_label(outcome: str) -> str:
    return text_of(get_state().lifecycle.outcome_label(outcome))


def _delegation_status_label(status: str) -> str:
    labels = {
        DELEGATION_PENDING: _("Waiting"),
        DELEGATION_AUTHORIZED: _("Authorized"),
        DELEGATION_REVOKED: _("Revoked"),
    }
    return labels.get(status, status)


def _applicant_is_current_user() -> bool:
    """Whether Flask-Login's ``current_user`` is an applicant account of this package (a
    portal that shares the login, ``INDUSTRY_AUTH_SHARE_LOGIN``)."""
    if getattr(current_app, "login_manager", None) is None:
        return False
    from flask_login import current_user

    user = getattr(current_user, "_get_current_object", lambda: current_user)()
    return isinstance(user, get_state().models.Account)


def _may_enter() -> bool:
    """The host's ``can_access``. When the request's ``current_user`` is an applicant of this
    package, a check written for the host's staff users (``current_user.has_role(...)``)
    meets an account it does not know: failing on it, or any answer but ``True`` itself,
    is a refusal. Only a check that says ``True`` outright (one that does not look at
    ``current_user``: a staff network, say) lets such a request in."""
    if not _applicant_is_current_user():
        return bool(_admin().can_access())
    try:
        answer = _admin().can_access()
    except (AttributeError, TypeError, LookupError) as error:
        log.info("flask_industry_auth: admin refused to an applicant (can_access: %r)", error)
        return False
    return answer is True


@blueprint.before_request
def _guard():
    if not _may_enter():
        abort(403)
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            abort(400, description="csrf")


# The applicant pages' headers and error page apply here too.
blueprint.after_request(security_headers)
for _code in (400, 403, 404, 405):
    blueprint.register_error_handler(_code, error_page)


@blueprint.get("/")
def search():
    """Search accounts by account id, 統一編號, email or business name, and by state."""
    text = request.args.get("q", "").strip()[:254]
    state = request.args.get("state") or None
    lifecycle = get_state().lifecycle
    if state not in lifecycle.states:
        state = None
    page = request.args.get("page", "1")
    result = operations.search(
        text=text or None, state=state, page=int(page) if page.isdigit() else 1
    )
    from .mail import mail_counts

    return render_template(
        "industry_auth/admin/search.html",
        mail_counts=mail_counts(),
        result=result,
        text=text,
        state=state,
        states=list(lifecycle.states),
    )


@blueprint.get("/accounts/<account_id>")
def account(account_id: str):
    """An account: state, type, basic data, its audit history, the actions open now."""
    found = find_account(account_id)
    if found is None:
        abort(404)
    lifecycle = get_state().lifecycle
    return render_template(
        "industry_auth/admin/account.html",
        account=found,
        events=[e for e in lifecycle.operator_events(found.state) if e != "delete"],
        can_delete="delete" in lifecycle.operator_events(found.state),
        reason_required={
            e
            for e in lifecycle.operator_events(found.state)
            if lifecycle.requires_reason(e, found.state)
        },
        history=list(operations.audit_trail(account_id=found.account_id, limit=100)),
        delegation_count=len(_delegations_of(found)),
    )


@blueprint.post("/accounts/<account_id>/events/<event>")
def perform(account_id: str, event: str):
    """Take one operator transition (a button of the account page)."""
    if event == "delete":
        return _delete(account_id)
    try:
        operations.perform(
            account_id, event, actor=_admin().actor(), reason=request.form.get("reason")
        )
    except operations.AccountNotFound:
        abort(404)
    except operations.ReasonRequired:
        flash(_("Not done: give a reason; it is mailed to the applicant."), "error")
    except operations.ReasonTooLong:
        flash(
            _(
                "Not done: the reason is longer than %(max)d characters; shorten it.",
                max=operations.MAX_REASON_LENGTH,
            ),
            "error",
        )
    except (operations.OperationRefused, IllegalTransition):
        flash(_not_open(), "error")
    else:
        flash(_("Done: %(action)s.", action=_event_label(event)), "success")
    return redirect(url_for(".account", account_id=account_id))


def _not_open() -> str:
    return _("Not done: this action is not open for the account's current state. Look again.")


def _delete(account_id: str):
    found = find_account(account_id)
    if found is None:
        abort(404)
    if request.form.get("confirm", "").strip().upper() != found.account_id:
        flash(_("Not deleted: type the account ID to confirm."), "error")
        return redirect(url_for(".account", account_id=account_id))
    name = operations.delete(found.account_id, actor=_admin().actor())
    flash(
        _("Deleted. Its audit trail remains under %(name)s.", name=name),
        "success",
    )
    return redirect(url_for(".search"))


@blueprint.post("/accounts/<account_id>/resend-activation")
def resend_activation(account_id: str):
    """A new activation mail for an account awaiting activation."""
    try:
        operations.resend_activation(account_id, actor=_admin().actor())
    except operations.AccountNotFound:
        abort(404)
    except operations.OperationRefused:
        flash(_not_open(), "error")
    else:
        flash(_("Done: the activation mail is on its way."), "success")
    return redirect(url_for(".account", account_id=account_id))


# -- who may act for a company with a 自然人憑證 (flows.delegation) -------------------------

DELEGATION_STATUSES = (DELEGATION_PENDING, DELEGATION_AUTHORIZED, DELEGATION_REVOKED)
_MAX_ID = 2**31 - 1


def _delegations_of(account) -> list:
    return delegation_flow.of_account(account)


def _account_ids(delegations) -> dict[int, str]:
    """The account id (電子身分帳號) of each delegation's account, by primary key."""
    state = get_state()
    Account = state.models.Account
    keys = {d.account_pk for d in delegations}
    if not keys:
        return {}
    rows = state.db.session.execute(
        sa.select(Account.id, Account.account_id).where(Account.id.in_(keys))
    )
    return {pk: account_id for pk, account_id in rows}


def _delegation_filters(source) -> dict:
    """The list's filters from ``source`` (query or form), unknown values dropped."""
    status = source.get("status") or None
    account_id = (source.get("account") or "").strip()[:32] or None
    return {
        "status": status if status in DELEGATION_STATUSES else None,
        "account": account_id,
    }


@blueprint.get("/delegations")
def delegations():
    """Every 自然人憑證 delegation (or one status's, or one account's), newest first, with
    Approve (pending) and Revoke (pending or authorized)."""
    filters = _delegation_filters(request.args)
    rows = delegation_flow.listed(filters["status"])
    if filters["account"]:
        found = find_account(filters["account"])
        rows = [d for d in rows if found is not None and d.account_pk == found.id]
    return render_template(
        "industry_auth/admin/delegations.html",
        delegations=rows,
        account_ids=_account_ids(rows),
        statuses=DELEGATION_STATUSES,
        **filters,
    )


@blueprint.post("/delegations/<int:delegation_id>/approve")
def approve_delegation(delegation_id: int):
    """Staff authorize a pending delegation (binding the card when it was asked to)."""
    return _delegation_action(
        delegation_id,
        delegation_flow.authorize_by_staff,
        _("Done: delegation #%(id)d is approved.", id=delegation_id),
    )


@blueprint.post("/delegations/<int:delegation_id>/revoke")
def revoke_delegation(delegation_id: int):
    """Staff withdraw a pending or authorized delegation: the account files on paper again."""
    return _delegation_action(
        delegation_id,
        delegation_flow.revoke_by_staff,
        _("Done: delegation #%(id)d is revoked.", id=delegation_id),
    )


def _delegation_action(delegation_id: int, action, done: str):
    # An id no INTEGER column holds is no delegation (not a database error).
    chosen = delegation_flow.get(delegation_id)
    if chosen is None:
        abort(404)
    try:
        action(chosen, _admin().actor())
    except delegation_flow.DelegationRefused as refused:
        # A second click, or another staff member was first: nothing changed.
        flash(_delegation_refusal(refused.reason), "error")
    else:
        flash(done, "success")
    # Back to the list the button was on.
    filters = {k: v for k, v in _delegation_filters(request.form).items() if v}
    return redirect(url_for(".delegations", **filters))


def _delegation_refusal(reason: str) -> str:
    if reason == "not_pending":
        return _("Not done: this delegation is no longer waiting for approval. Look again.")
    if reason == "not_authorized":
        return _("Not done: this delegation is already revoked. Look again.")
    if reason == "card_taken":
        return _(
            "Not approved: the card is bound to another account now. Revoke this request, "
            "or free the card first."
        )
    return _("Not done: this action is not open for the delegation now. Look again.")


@blueprint.get("/lifecycle")
def lifecycle():
    """The account lifecycle, host additions included, as a picture and as Mermaid."""
    machine = get_state().lifecycle
    # The SVG is built by the package from the lifecycle's names, all escaped.
    svg = Markup(machine.to_svg())  # noqa: S704
    return render_template(
        "industry_auth/admin/lifecycle.html",
        svg=svg,
        mermaid=machine.to_mermaid(),
        states=machine.states,
        transitions=machine.transitions,
    )


# -- the outbox: how much mail waits, failed mail sent again (flask_industry_auth.mail) -------


@blueprint.get("/mail")
def mail():
    """How much mail is pending, deferred and failed, and the failed mail, to requeue."""
    from .mail import failed_mail, mail_counts

    return render_template(
        "industry_auth/admin/mail.html", mail_counts=mail_counts(), failed=failed_mail()
    )


@blueprint.post("/mail/requeue")
def requeue_mail():
    """Send failed mail again: one (``id``) or every failed mail (``all``)."""
    from .mail import dispatch, requeue_mail

    if request.form.get("all"):
        ids = None
    else:
        chosen = request.form.get("id", "")
        if not chosen.isdigit() or int(chosen) > _MAX_ID:
            abort(400)
        ids = [int(chosen)]
    requeued = requeue_mail(ids)
    if requeued:
        dispatch()  # thread delivery sends it now; workers take it otherwise
        flash(_("Done: %(count)d mail(s) queued again.", count=len(requeued)), "success")
    else:
        flash(_("Not done: no such failed mail. Look again."), "error")
    return redirect(url_for(".mail"))
