"""The account lifecycle: states and transitions as data, on one shared state machine.

Every account's ``state`` is a plain string column. One ``transitions.Machine`` per app (built
with ``model=None`` and ``auto_transitions=False``) drives all accounts through
``machine.events[name].trigger(account)``: no per-object machine, and no ``to_<state>()`` back
door around the rules below.

Hosts extend the lifecycle after ``init_app`` without touching this package or the schema::

    lifecycle = auth.get_lifecycle(app)
    lifecycle.add_state("suspended", can_log_in=False)
    lifecycle.add_transition("suspend", ["activated", "reset", "locked"], "suspended")
    lifecycle.add_transition("resume", "suspended", "activated")

A transition marked ``operator=True`` (the default for host additions) is one agency staff may
take (``flask industry-auth`` and the admin blueprint show it); the others are the
applicant's own doing (activating, resetting a password). A transition from ``"*"`` leaves
every state, host-added ones included (``delete``).

``INDUSTRY_AUTH_REQUIRE_APPROVAL`` adds a review step with :func:`add_approval`, the same way a
host adds its own states.

Each transition is complete data: whether staff may take it, whether it needs a reason, the
mail the applicant gets, its label, what it does in the transaction (``effects``) and what runs
after the commit (``after_commit``). Each state says whether it may log in, its label and the
message shown to someone who gave the right password for an account in it. The package's own
behaviour is declared the same way, so an event has one path to its effects whoever fires it
(a flow, the CLI, the admin pages, host code). Entering a state that may not log in ends the
account's sessions.

The lifecycle never commits: :meth:`Lifecycle.fire` changes the account and adds an audit row
(and any mail) to the session; the caller commits them together. This module imports nothing
of Flask: the package connects mail and after-commit callbacks with :meth:`Lifecycle.bind`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from transitions import Machine, MachineError

from .audit_labels import AUDIT_EVENTS, OUTCOMES
from .diagram import lifecycle_svg
from .refusals import Refused

if TYPE_CHECKING:
    from .models import AccountMixin


def N_(message: str) -> str:  # the gettext convention for "translated later"
    """Mark ``message`` for the catalogs; it is translated where it is shown."""
    return message


REQUESTED = "requested"
ACTIVATED = "activated"
LOCKED = "locked"
RESET = "reset"
DISABLED = "disabled"
DELETED = "deleted"
PENDING_APPROVAL = "pending_approval"
REJECTED = "rejected"
#: A transition source meaning every state.
ANY = "*"


@dataclass(frozen=True)
class Change:
    """One transition as it happened: what effects, mail and after-commit callbacks get."""

    account: Any
    event: str
    from_state: str
    to_state: str
    actor: str | None = None
    reason: str | None = None


#: What runs for a transition: in the transaction (``effects``) or after the commit.
Callback = Callable[[Change], None]


@dataclass(frozen=True)
class StateSpec:
    """A state and what it allows."""

    name: str
    #: Whether an account in this state may log in with the right credentials.
    can_log_in: bool = False
    description: str = ""
    #: The state's name for staff: a catalog message id (``N_("…")``, translated when shown),
    #: a lazy string of the host's own catalogs, or a dict by locale (``{"zh_Hant_TW": …,
    #: "en": …}``); ``None`` shows ``name``.
    label: Any = None
    #: What someone who gave the right password for an account in this state is told (only
    #: then: to anyone else the login fails like any other); ``None``: the generic message.
    login_message: Any = None


@dataclass(frozen=True)
class TransitionSpec:
    """An event that moves an account from one of ``sources`` to ``dest``."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    description: str = ""
    #: Whether agency staff may take it (CLI, admin blueprint).
    operator: bool = True
    #: Whether it needs a reason (kept in the audit trail, and given to its mail).
    requires_reason: bool = False
    #: The mail the applicant gets (``industry_auth/email/<mail>_*``), with ``reason`` and
    #: ``event`` in its context.
    mail: str | None = None
    #: The event's name for staff (see :attr:`StateSpec.label`).
    label: Any = None
    #: Run in the transaction, after the state changed (change the account, queue rows).
    effects: tuple[Callback, ...] = ()
    #: Run once after the commit (send, notify, write elsewhere); never after a rollback.
    after_commit: tuple[Callback, ...] = ()

    def leaves(self, state: str) -> bool:
        """Whether this transition may start from ``state``."""
        return state in self.sources or (ANY in self.sources and state != self.dest)


class ReasonRequired(Refused, ValueError):
    """The event needs a reason and none was given. Nothing was changed."""

    code = "reason_required"


def end_sessions(account: Any) -> None:
    """End every session of ``account``: its session id embeds this value."""
    account.session_uniquifier = secrets.token_hex(16)


def _clear_lock(change: Change) -> None:
    change.account.failed_logins = 0
    change.account.locked_until = None


def _withdraw_temporary_password(change: Change) -> None:
    change.account.temp_password_hash = change.account.temp_password_expires_at = None


def _end_staff_lock(change: Change) -> None:
    # A temporary password asked for before or during a staff lock was refused while it
    # lasted (it may be what staff locked the account over); unlocking does not revive it.
    # A lock after failed logins (it has an end) keeps it: it is the owner's way back.
    if change.account.locked_until is None:
        _withdraw_temporary_password(change)
    _clear_lock(change)


def _lock_until_unlocked(change: Change) -> None:
    # Until unlocked (the failed-login flow then sets when the lock ends by itself).
    change.account.locked_until = None


# Two kinds of lock share the state ``locked``, told apart by ``locked_until``:
#
# - the lock after too many failed logins has an end (``locked_until``): it protects the owner
#   from a guesser, so it ends by itself, and the owner may end it sooner with the emailed
#   temporary password (forgot password);
# - a lock with no end is staff's decision (``lock`` fired by an operator, or a host's own
#   transition into ``locked``): only staff end it, and forgot password does not.
#
# The end time is what makes a lock the owner's to lift, so it is also what tells the kinds
# apart: no new column or state (hosts' transitions to and from ``locked`` keep working), and
# a lock without an end, whoever made it, is the safe kind, lifted by staff alone.


def lock_ends_by_itself(account: Any) -> bool:
    """Whether ``account`` is locked after failed logins: the lock ends at
    ``account.locked_until``, and an emailed temporary password lifts it sooner."""
    return account.state == LOCKED and account.locked_until is not None


def locked_by_staff(account: Any) -> bool:
    """Whether ``account`` is locked until staff unlock it: no end time, and forgot password
    neither issues a temporary password nor lets an earlier one unlock it."""
    return account.state == LOCKED and account.locked_until is None


#: The package's states. ``locked`` accounts log in again once a lock after failed logins
#: expires (the authentication flow fires ``unlock`` first) or with an emailed temporary
#: password; a lock by staff lasts until staff unlock (see :func:`locked_by_staff`).
STATES: tuple[StateSpec, ...] = (
    StateSpec(REQUESTED, False, "applied for; waiting for activation", N_("Awaiting activation")),
    StateSpec(ACTIVATED, True, "active", N_("Active")),
    StateSpec(
        LOCKED,
        False,
        "locked after too many failed logins (until locked_until), or by an operator (until "
        "unlocked)",
        N_("Locked"),
    ),
    StateSpec(
        RESET,
        True,
        "a temporary password has been mailed; the old one still works",
        N_("Temporary password mailed"),
    ),
    StateSpec(
        DISABLED,
        False,
        "disabled by an operator or after a long time without login",
        N_("Disabled (停用)"),
    ),
    StateSpec(
        DELETED,
        False,
        "deleted: personal data removed, audit trail pseudonymised",
        N_("Deleted (刪除)"),
    ),
)

TRANSITIONS: tuple[TransitionSpec, ...] = (
    TransitionSpec(
        "activate",
        (REQUESTED,),
        ACTIVATED,
        "activation link confirmed",
        False,
        label=N_("Activate the account"),
    ),
    TransitionSpec(
        "lock",
        (ACTIVATED, RESET),
        LOCKED,
        "too many failed logins, or an operator",
        label=N_("Lock"),
        effects=(_lock_until_unlocked,),
    ),
    TransitionSpec(
        "unlock",
        (LOCKED,),
        ACTIVATED,
        "lock expired or operator unlock",
        label=N_("Unlock"),
        effects=(_end_staff_lock,),
    ),
    TransitionSpec(
        "request_reset",
        (ACTIVATED, RESET),
        RESET,
        "temporary password mailed",
        False,
        label=N_("Temporary password requested"),
    ),
    TransitionSpec(
        "complete_reset",
        (RESET, LOCKED),
        ACTIVATED,
        "temporary password used",
        False,
        label=N_("Temporary password used"),
    ),
    TransitionSpec(
        "cancel_reset",
        (RESET,),
        ACTIVATED,
        "logged in with the old password",
        False,
        label=N_("Temporary password withdrawn"),
        effects=(_withdraw_temporary_password,),
    ),
    TransitionSpec(
        "disable",
        (ACTIVATED, LOCKED, RESET),
        DISABLED,
        "停用: no more logins",
        label=N_("Disable (停用)"),
    ),
    TransitionSpec(
        "enable",
        (DISABLED,),
        ACTIVATED,
        "啟用 again",
        label=N_("Enable (啟用)"),
        # A temporary password from before the account was disabled does not come back.
        effects=(_withdraw_temporary_password, _clear_lock),
    ),
    TransitionSpec(
        "delete", (ANY,), DELETED, "刪除: personal data removed", label=N_("Delete (刪除)")
    ),
)


class IllegalTransition(Refused):
    """An event that the account's current state does not allow. Nothing was changed."""

    code = "illegal_transition"

    def __init__(self, event: str, state: str, reason: str = "") -> None:
        self.event = event
        self.state = state
        super().__init__(reason or f"cannot {event!r} an account in state {state!r}")


@dataclass
class Lifecycle:
    """The states and transitions of one app, and the shared machine that enforces them."""

    states: dict[str, StateSpec] = field(default_factory=dict)
    transitions: list[TransitionSpec] = field(default_factory=list)
    #: The state a new application starts in.
    initial: str = REQUESTED
    #: The audit trail's outcomes by code, and its events that are not transitions, with
    #: their labels for staff (see :mod:`~flask_industry_auth.audit_labels`).
    outcomes: dict[str, Any] = field(default_factory=lambda: dict(OUTCOMES))
    audit_events: dict[str, Any] = field(default_factory=lambda: dict(AUDIT_EVENTS))

    def __post_init__(self) -> None:
        # ``initial`` is required by transitions but unused: accounts carry their own state.
        self.machine = Machine(
            model=None,
            states=[],
            initial=None,
            auto_transitions=False,
            model_attribute="state",
        )
        #: The package's ports (see :meth:`bind`): queue a mail, run after the commit.
        self._recorder: Callable[..., None] | None = None
        self._mailer: Callable[[Change, str], None] | None = None
        self._on_commit: Callable[[Change, tuple[Callback, ...]], None] | None = None
        specs_states, specs_transitions = list(self.states.values()), list(self.transitions)
        self.states, self.transitions = {}, []
        for state in specs_states:
            self._add_state_spec(state)
        for t in specs_transitions:
            self._add_transition_spec(t)

    @classmethod
    def default(cls) -> Lifecycle:
        """The package's lifecycle: requested → activated → locked / reset."""
        return cls(states={s.name: s for s in STATES}, transitions=list(TRANSITIONS))

    def bind(
        self,
        *,
        recorder: Callable[..., None],
        mailer: Callable[[Change, str], None],
        on_commit: Callable[[Change, tuple[Callback, ...]], None],
    ) -> None:
        """Connect the lifecycle to an app (``init_app`` does): ``recorder(account, **row)``
        adds an audit row, ``mailer(change, kind)`` queues a transition's mail, both in the
        transaction; ``on_commit(change, callbacks)`` runs the callbacks (and sends the
        package's signals) after the commit. Unbound, nothing is recorded or mailed and
        after-commit callbacks run at once."""
        self._recorder, self._mailer, self._on_commit = recorder, mailer, on_commit

    def _record(self, account: Any, **row: Any) -> None:
        if self._recorder is not None:
            self._recorder(account, **row)

    def add_state(
        self,
        name: str,
        *,
        can_log_in: bool = False,
        description: str = "",
        label: Any = None,
        login_message: Any = None,
    ) -> None:
        """Add a state. States are plain strings, so no schema change is needed. ``label``
        and ``login_message`` as in :class:`StateSpec`."""
        if name in self.states or name == ANY:
            raise ValueError(f"state {name!r} already exists")
        if len(name) > 32:
            raise ValueError("state names are at most 32 characters (the column's size)")
        self._add_state_spec(StateSpec(name, can_log_in, description, label, login_message))

    def _add_state_spec(self, spec: StateSpec) -> None:
        self.states[spec.name] = spec
        self.machine.add_state(spec.name)
        for t in self.transitions:  # transitions from every state leave this one too
            if t.leaves(spec.name) and ANY in t.sources:
                self.machine.add_transition(t.trigger, spec.name, t.dest)

    def add_transition(
        self,
        trigger: str,
        source: str | list[str],
        dest: str,
        *,
        description: str = "",
        operator: bool = True,
        requires_reason: bool = False,
        mail: str | None = None,
        label: Any = None,
        effects: Iterable[Callback] = (),
        after_commit: Iterable[Callback] = (),
    ) -> None:
        """Add an event from ``source`` (one state, a list, or ``"*"`` for every state) to
        ``dest``; the keywords are those of :class:`TransitionSpec` (``operator=False`` keeps
        it off the staff's buttons and commands)."""
        sources = (source,) if isinstance(source, str) else tuple(source)
        self._add_transition_spec(
            TransitionSpec(
                trigger,
                sources,
                dest,
                description,
                operator,
                requires_reason,
                mail,
                label,
                tuple(effects),
                tuple(after_commit),
            )
        )

    def _add_transition_spec(self, spec: TransitionSpec) -> None:
        for name in (*spec.sources, spec.dest):
            if name not in self.states and name != ANY:
                raise ValueError(f"unknown state {name!r}; add it with add_state() first")
        if spec.dest == ANY:
            raise ValueError("a transition needs a real destination state")
        self.transitions.append(spec)
        for state in self.states:
            if spec.leaves(state):
                self.machine.add_transition(spec.trigger, state, spec.dest)

    def on(
        self,
        event: str,
        *,
        effect: Callback | None = None,
        after_commit: Callback | None = None,
    ) -> None:
        """Add an ``effect`` (in the transaction) or an ``after_commit`` callback to every
        transition named ``event``, the package's included."""
        specs = [i for i, t in enumerate(self.transitions) if t.trigger == event]
        if not specs:
            raise ValueError(f"unknown event {event!r}")
        for i in specs:
            t = self.transitions[i]
            self.transitions[i] = replace(
                t,
                effects=t.effects + ((effect,) if effect else ()),
                after_commit=t.after_commit + ((after_commit,) if after_commit else ()),
            )

    def spec(self, event: str, state: str) -> TransitionSpec | None:
        """The transition ``event`` takes from ``state``, if any."""
        return next((t for t in self.transitions if t.trigger == event and t.leaves(state)), None)

    def requires_reason(self, event: str, state: str) -> bool:
        """Whether ``event`` from ``state`` needs a reason."""
        spec = self.spec(event, state)
        return bool(spec and spec.requires_reason)

    def state_label(self, state: str) -> Any:
        """The staff's name for ``state`` (a message id to translate, or a lazy string)."""
        spec = self.states.get(state)
        return spec.label if spec and spec.label is not None else state

    def event_label(self, event: str) -> Any:
        """The staff's name for ``event`` (a message id to translate, or a lazy string): a
        transition's label, else an audit event's (:meth:`add_audit_event`), else ``event``."""
        spec = next((t for t in self.transitions if t.trigger == event and t.label), None)
        if spec:
            return spec.label
        label = self.audit_events.get(event)
        return event if label is None else label

    def outcome_label(self, outcome: str) -> Any:
        """The staff's name for an audit row's ``outcome`` (:meth:`add_outcome`), else
        ``outcome`` itself."""
        label = self.outcomes.get(outcome)
        return outcome if label is None else label

    def add_outcome(self, code: str, *, label: Any) -> None:
        """Label an outcome the host records in the audit trail (or relabel the package's);
        ``label`` as in :class:`StateSpec`. The code stays visible to staff beside it."""
        self.outcomes[code] = label

    def add_audit_event(self, name: str, *, label: Any) -> None:
        """Label an event the host records in the audit trail that is not a transition
        (a transition has its own ``label``)."""
        self.audit_events[name] = label

    def login_message(self, state: str) -> Any:
        """What someone with the right password for an account in ``state`` is told, or
        ``None`` for the generic login failure."""
        spec = self.states.get(state)
        return spec.login_message if spec else None

    def can_log_in(self, state: str) -> bool:
        """Whether an account in ``state`` may log in."""
        spec = self.states.get(state)
        return bool(spec and spec.can_log_in)

    def allowed_events(self, state: str) -> list[str]:
        """The events an account in ``state`` may take, in definition order."""
        seen: dict[str, None] = {}
        # Transitions from every state ("*", such as delete) come last.
        for t in sorted(self.transitions, key=lambda t: ANY in t.sources):
            if t.leaves(state):
                seen.setdefault(t.trigger)
        return list(seen)

    def operator_events(self, state: str) -> list[str]:
        """The events agency staff may take for an account in ``state`` (buttons, CLI)."""
        operator = {t.trigger for t in self.transitions if t.operator and t.leaves(state)}
        return [event for event in self.allowed_events(state) if event in operator]

    def can(self, account: AccountMixin, event: str) -> bool:
        """Whether ``event`` is legal for ``account`` now."""
        return event in self.allowed_events(account.state)

    def fire(
        self,
        account: AccountMixin,
        event: str,
        *,
        actor: str | None = None,
        reason: str | None = None,
        detail: str | None = None,
    ) -> str:
        """Apply ``event`` to ``account``: the state changes, the audit trail records it with
        ``actor`` (who did it, such as ``"staff:chen"``) and ``reason`` (or ``detail``: why,
        not mailed), the transition's effects run and its mail is queued; after the commit,
        its callbacks run and the package's signals go out.

        Raises :class:`IllegalTransition` when the event is unknown or not allowed from the
        account's state, and :class:`ReasonRequired` when it needs a reason; nothing is
        changed then. Returns the new state. Does not commit.
        """
        before = account.state
        reason = (reason or "").strip()[:200] or None
        audit = {"actor": actor, "detail": reason or detail}
        if event not in self.machine.events:
            raise IllegalTransition(event, before, f"unknown event {event!r}")
        spec = self.spec(event, before)
        if spec is not None and spec.requires_reason and not reason:
            raise ReasonRequired(f"{event!r} needs a reason")
        try:
            self.machine.events[event].trigger(account)
        except MachineError as exc:
            self._record(
                account, event=event, from_state=before, to_state=before, outcome="refused", **audit
            )
            raise IllegalTransition(event, before) from exc
        assert spec is not None  # the machine knows only the specs' transitions
        self._record(
            account, event=event, from_state=before, to_state=account.state, outcome="ok", **audit
        )
        change = Change(account, event, before, account.state, actor, reason)
        if not self.can_log_in(account.state):
            end_sessions(account)  # ASVS 7.4.2: a state that may not log in ends every session
        for effect in spec.effects:
            effect(change)
        if spec.mail and self._mailer is not None:
            self._mailer(change, spec.mail)
        if self._on_commit is not None:
            self._on_commit(change, spec.after_commit)
        else:
            for callback in spec.after_commit:
                callback(change)
        return account.state

    def edges(self) -> list[tuple[str, str, str]]:
        """Every (source, destination, event) of the lifecycle, ``"*"`` spelled out."""
        return [
            (state, t.dest, t.trigger)
            for t in self.transitions
            for state in self.states
            if t.leaves(state)
        ]

    def to_mermaid(self) -> str:
        """The lifecycle as a Mermaid ``stateDiagram-v2``, host additions included."""
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for source, dest, event in self.edges():
            lines.append(f"    {source} --> {dest}: {event}")
        return "\n".join(lines) + "\n"

    def to_svg(self) -> str:
        """The lifecycle as an SVG picture, host additions included (see ``diagram``)."""
        return lifecycle_svg(self)


def add_approval(lifecycle: Lifecycle) -> None:
    """The review step of ``INDUSTRY_AUTH_REQUIRE_APPROVAL``: applications start in
    ``pending_approval``; staff ``approve`` (the activation mail goes out) or ``reject`` (the
    reason is mailed); a rejected applicant may apply again."""
    lifecycle.add_state(
        PENDING_APPROVAL,
        description="applied for; waiting for staff review",
        label=N_("Awaiting approval"),
    )
    lifecycle.add_state(REJECTED, description="application rejected by staff", label=N_("Rejected"))
    # Approving queues the activation mail: the package adds that effect (it needs the app).
    lifecycle.add_transition(
        "approve",
        PENDING_APPROVAL,
        REQUESTED,
        description="staff approved the application",
        label=N_("Approve the application"),
    )
    lifecycle.add_transition(
        "reject",
        PENDING_APPROVAL,
        REJECTED,
        description="staff rejected the application",
        requires_reason=True,
        mail="application_rejected",
        label=N_("Reject the application"),
    )
    lifecycle.add_transition(
        "reapply",
        REJECTED,
        PENDING_APPROVAL,
        description="applied again",
        operator=False,
        label=N_("Apply again"),
    )
    lifecycle.initial = PENDING_APPROVAL
