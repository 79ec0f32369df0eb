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

The lifecycle never commits: :meth:`Lifecycle.fire` changes the account and adds an audit row
to the session; the calling flow commits both together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transitions import Machine, MachineError

REQUESTED = "requested"
ACTIVATED = "activated"
LOCKED = "locked"
RESET = "reset"


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


#: The package's states. ``locked`` accounts log in again once the lock expires (the
#: authentication flow fires ``unlock`` first) or with an emailed temporary password.
STATES: tuple[StateSpec, ...] = (
    StateSpec(REQUESTED, False, "applied for; waiting for activation"),
    StateSpec(ACTIVATED, True, "active"),
    StateSpec(LOCKED, False, "locked after too many failed logins"),
    StateSpec(RESET, True, "a temporary password has been mailed; the old one still works"),
)

TRANSITIONS: tuple[TransitionSpec, ...] = (
    TransitionSpec("activate", (REQUESTED,), ACTIVATED, "activation link confirmed"),
    TransitionSpec("lock", (ACTIVATED, RESET), LOCKED, "too many failed logins"),
    TransitionSpec("unlock", (LOCKED,), ACTIVATED, "lock expired or operator unlock"),
    TransitionSpec("request_reset", (ACTIVATED, RESET), RESET, "temporary password mailed"),
    TransitionSpec("complete_reset", (RESET, LOCKED), ACTIVATED, "temporary password used"),
    TransitionSpec("cancel_reset", (RESET,), ACTIVATED, "logged in with the old password"),
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
            self.add_transition(t.trigger, list(t.sources), t.dest, description=t.description)

    @classmethod
    def default(cls) -> Lifecycle:
        """The package's lifecycle: requested → activated → locked / reset."""
        return cls(states={s.name: s for s in STATES}, transitions=list(TRANSITIONS))

    def add_state(self, name: str, *, can_log_in: bool = False, description: str = "") -> None:
        """Add a state. States are plain strings, so no schema change is needed."""
        if name in self.states:
            raise ValueError(f"state {name!r} already exists")
        if len(name) > 32:
            raise ValueError("state names are at most 32 characters (the column's size)")
        self.states[name] = StateSpec(name, can_log_in, description)
        self.machine.add_state(name)

    def add_transition(
        self, trigger: str, source: str | list[str], dest: str, *, description: str = ""
    ) -> None:
        """Add an event from ``source`` (one state or a list) to ``dest``."""
        sources = (source,) if isinstance(source, str) else tuple(source)
        for name in (*sources, dest):
            if name not in self.states:
                raise ValueError(f"unknown state {name!r}; add it with add_state() first")
        self.transitions.append(TransitionSpec(trigger, sources, dest, description))
        self.machine.add_transition(trigger, list(sources), dest)

    def can_log_in(self, state: str) -> bool:
        """Whether an account in ``state`` may log in."""
        spec = self.states.get(state)
        return bool(spec and spec.can_log_in)

    def allowed_events(self, state: str) -> list[str]:
        """The events an account in ``state`` may take, in definition order."""
        seen: dict[str, None] = {}
        for t in self.transitions:
            if state in t.sources:
                seen.setdefault(t.trigger)
        return list(seen)

    def can(self, account: Any, event: str) -> bool:
        """Whether ``event`` is legal for ``account`` now."""
        return event in self.allowed_events(account.state)

    def fire(self, account: Any, event: str, **audit: Any) -> str:
        """Apply ``event`` to ``account`` and record it in the audit table.

        Raises :class:`IllegalTransition` (and changes nothing) when the event is unknown or not
        allowed from the account's state. Returns the new state. Does not commit.
        """
        from .audit import record  # the audit table needs the app; import late

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

    def to_mermaid(self) -> str:
        """The lifecycle as a Mermaid ``stateDiagram-v2``, host additions included."""
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for t in self.transitions:
            for source in t.sources:
                lines.append(f"    {source} --> {t.dest}: {t.trigger}")
        return "\n".join(lines) + "\n"
