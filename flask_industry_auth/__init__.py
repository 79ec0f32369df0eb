"""flask_industry_auth: applicant accounts for Taiwan government Flask portals.

Mount with::

    db = SQLAlchemy(app)
    auth = IndustryAuth(app, db=db)

See the README for configuration, templates, the lifecycle and migrations.
"""

from __future__ import annotations

from . import signals, signing
from .adapter import AccountAdapter
from .admin import AccountAdmin
from .config import ConfigError
from .extension import IndustryAuth
from .filing import account_required, current_account, electronic_filing_required
from .lifecycle import (
    ACTIVATED,
    DELETED,
    DISABLED,
    LOCKED,
    PENDING_APPROVAL,
    REJECTED,
    REQUESTED,
    RESET,
    IllegalTransition,
    Lifecycle,
    StateSpec,
    TransitionSpec,
)
from .migrate import MigrationError
from .migrate import downgrade as downgrade_tables
from .migrate import upgrade as upgrade_tables
from .models import (
    BUSINESS_CERTIFICATE,
    CITIZEN_CERTIFICATE,
    NON_CERTIFICATE,
    AccountMixin,
)
from .state import get_state

__all__ = [
    "ACTIVATED",
    "BUSINESS_CERTIFICATE",
    "CITIZEN_CERTIFICATE",
    "DELETED",
    "DISABLED",
    "LOCKED",
    "NON_CERTIFICATE",
    "PENDING_APPROVAL",
    "REJECTED",
    "REQUESTED",
    "RESET",
    "AccountAdapter",
    "AccountAdmin",
    "AccountMixin",
    "ConfigError",
    "IllegalTransition",
    "IndustryAuth",
    "Lifecycle",
    "MigrationError",
    "StateSpec",
    "TransitionSpec",
    "account_required",
    "current_account",
    "downgrade_tables",
    "electronic_filing_required",
    "get_state",
    "signals",
    "signing",
    "upgrade_tables",
]

__version__ = "0.1.0"
