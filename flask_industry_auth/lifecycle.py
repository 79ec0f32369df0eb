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

The lifecycle never commits: :meth:`Lifecycle.fire` changes the account and adds an audit row
to the session; the calling flow commits both together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from transitions import Machine, MachineError

if TYPE_CHECKING:
    from .models import AccountMixin

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
class StateSpec:
    """A state and what it allows."""

    name: str
    #: Whether an account in this state may log in with the right credentials.
    can_log_in: bool = False
    description: str = ""


@dataclass(frozen=True)
class TransitionSpec:
    """An event that moves an account from one of ``sources`` to ``dest``."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    description: str = ""
    #: Whether agency staff may take it (CLI, admin blueprint).
    operator: bool = True

    def leaves(self, state: str) -> bool:
        """Whether this transition may start from ``state``."""
        return state in self.sources or (ANY in self.sources and state != self.dest)


#: The package's states. ``locked`` accounts log in again once the lock expires (the
#: authentication flow fires ``unlock`` first) or with an emailed temporary password.
STATES: tuple[StateSpec, ...] = (
    StateSpec(REQUESTED, False, "applied for; waiting for activation"),
    StateSpec(ACTIVATED, True, "active"),
    StateSpec(LOCKED, False, "locked after too many failed logins, or by an operator"),
    StateSpec(RESET, True, "a temporary password has been mailed; the old one still works"),
    StateSpec(DISABLED, False, "disabled by an operator or after a long time without login"),
    StateSpec(DELETED, False, "deleted: personal data removed, audit trail pseudonymised"),
)

TRANSITIONS: tuple[TransitionSpec, ...] = (
    TransitionSpec("activate", (REQUESTED,), ACTIVATED, "activation link confirmed", False),
    TransitionSpec("lock", (ACTIVATED, RESET), LOCKED, "too many failed logins, or an operator"),
    TransitionSpec("unlock", (LOCKED,), ACTIVATED, "lock expired or operator unlock"),
    TransitionSpec("request_reset", (ACTIVATED, RESET), RESET, "temporary password mailed", False),
    TransitionSpec("complete_reset", (RESET, LOCKED), ACTIVATED, "temporary password used", False),
    TransitionSpec("cancel_reset", (RESET,), ACTIVATED, "logged in with the old password", False),
    TransitionSpec("disable", (ACTIVATED, LOCKED, RESET), DISABLED, "停用: no more logins"),
    TransitionSpec("enable", (DISABLED,), ACTIVATED, "啟用 again"),
    TransitionSpec("delete", (ANY,), DELETED, "刪除: personal data removed"),
)


class IllegalTransition(Exception):
    """An event that the account's current state does not allow. Nothing was changed."""

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

    def __post_init__(self) -> None:
        # ``initial`` is required by transitions but unused: accounts carry their own state.
        self.machine = Machine(
            model=None,
            states=[],
            initial=None,
            auto_transitions=False,
            model_attribute="state",
        )
        specs_states, specs_transitions = list(self.states.values()), list(self.transitions)
        self.states, self.transitions = {}, []
        for state in specs_states:
            self.add_state(state.name, can_log_in=state.can_log_in, description=state.description)
        for t in specs_transitions:
            self.add_transition(
                t.trigger, list(t.sources), t.dest, description=t.description, operator=t.operator
            )

    @classmethod
    def default(cls) -> Lifecycle:
        """The package's lifecycle: requested → activated → locked / reset."""
        return cls(states={s.name: s for s in STATES}, transitions=list(TRANSITIONS))

    def add_state(self, name: str, *, can_log_in: bool = False, description: str = "") -> None:
        """Add a state. States are plain strings, so no schema change is needed."""
        if name in self.states or name == ANY:
            raise ValueError(f"state {name!r} already exists")
        if len(name) > 32:
            raise ValueError("state names are at most 32 characters (the column's size)")
        self.states[name] = StateSpec(name, can_log_in, description)
        self.machine.add_state(name)
        for t in self.transitions:  # transitions from every state leave this one too
            if t.leaves(name) and ANY in t.sources:
                self.machine.add_transition(t.trigger, name, t.dest)

    def add_transition(
        self,
        trigger: str,
        source: str | list[str],
        dest: str,
        *,
        description: str = "",
        operator: bool = True,
    ) -> None:
        """Add an event from ``source`` (one state, a list, or ``"*"`` for every state) to
        ``dest``. ``operator=False`` keeps it off the staff's buttons and commands."""
        sources = (source,) if isinstance(source, str) else tuple(source)
        for name in (*sources, dest):
            if name not in self.states and name != ANY:
                raise ValueError(f"unknown state {name!r}; add it with add_state() first")
        if dest == ANY:
            raise ValueError("a transition needs a real destination state")
        spec = TransitionSpec(trigger, sources, dest, description, operator)
        self.transitions.append(spec)
        for state in self.states:
            if spec.leaves(state):
                self.machine.add_transition(trigger, state, dest)

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
        detail: str | None = None,
    ) -> str:
        """Apply ``event`` to ``account`` and record it in the audit table, with ``actor``
        (who did it, such as ``"staff:chen"``) and ``detail`` (why).

        Raises :class:`IllegalTransition` (and changes nothing) when the event is unknown or not
        allowed from the account's state. Returns the new state. Does not commit.
        """
        from .audit import record  # the audit table needs the app; import late

        audit = {"actor": actor, "detail": detail}
        before = account.state
        if event not in self.machine.events:
            raise IllegalTransition(event, before, f"unknown event {event!r}")
        try:
            self.machine.events[event].trigger(account)
        except MachineError as exc:
            record(
                account, event=event, from_state=before, to_state=before, outcome="refused", **audit
            )
            raise IllegalTransition(event, before) from exc
        record(
            account, event=event, from_state=before, to_state=account.state, outcome="ok", **audit
        )
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
        from .diagram import lifecycle_svg

        return lifecycle_svg(self)


def add_approval(lifecycle: Lifecycle) -> None:
    """The review step of ``INDUSTRY_AUTH_REQUIRE_APPROVAL``: applications start in
    ``pending_approval``; staff ``approve`` (the activation mail goes out) or ``reject`` (the
    reason is mailed); a rejected applicant may apply again."""
    lifecycle.add_state(PENDING_APPROVAL, description="applied for; waiting for staff review")
    lifecycle.add_state(REJECTED, description="application rejected by staff")
    lifecycle.add_transition(
        "approve", PENDING_APPROVAL, REQUESTED, description="staff approved the application"
    )
    lifecycle.add_transition(
        "reject", PENDING_APPROVAL, REJECTED, description="staff rejected the application"
    )
    lifecycle.add_transition(
        "reapply", REJECTED, PENDING_APPROVAL, description="applied again", operator=False
    )
    lifecycle.initial = PENDING_APPROVAL
