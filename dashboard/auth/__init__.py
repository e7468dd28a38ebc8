"""Sign-in, sessions, agency tokens, the request gate and the audit trail."""
