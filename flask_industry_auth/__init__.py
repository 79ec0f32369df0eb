"""flask_industry_auth: applicant accounts for Taiwan government Flask portals.

Mount with::

    db = SQLAlchemy(app)
    auth = IndustryAuth(app, db=db)

See the README for configuration, templates, the lifecycle and migrations.
"""

from .adapter import AccountAdapter
from .extension import IndustryAuth, get_state
from .filing import account_required, current_account, electronic_filing_required
from .lifecycle import IllegalTransition, Lifecycle
from .models import (
    BUSINESS_CERTIFICATE,
    CITIZEN_CERTIFICATE,
    NON_CERTIFICATE,
)

__all__ = [
    "BUSINESS_CERTIFICATE",
    "CITIZEN_CERTIFICATE",
    "NON_CERTIFICATE",
    "AccountAdapter",
    "IllegalTransition",
    "IndustryAuth",
    "Lifecycle",
    "account_required",
    "current_account",
    "electronic_filing_required",
    "get_state",
]

__version__ = "0.1.0"
