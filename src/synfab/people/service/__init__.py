"""People use cases: accounts and sign-in, the audit log, and (later) tokens, signatures, skills.

One module per subject; everything is imported from here (`from synfab.people import service`).
"""

from synfab.people.service.accounts import (  # noqa: F401
    Principal, attempt_sign_in, authenticate, create_user, end_session, ensure_builtin_roles, grant_role, hash_password, list_users, principal_for, resolve_session, start_session, touch_session,
)
from synfab.people.service.audit import (  # noqa: F401
    AuditProblem, audit_query, note_security_event, verify_audit_chain, write_audit,
)
