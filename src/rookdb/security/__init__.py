"""Security: API keys, roles, the master key that seals stored secrets, Studio sessions and CSRF.

    keys.py     API keys (hash at rest, shown once, revocable)
    roles.py    roles, actions, which action a route needs
    secrets.py  the master key; AES-256-GCM sealing of stored secrets; rotation
    session.py  signed Studio session cookies and CSRF tokens

Core pieces free of HTTP: the server's gate (`rookdb.server.auth`) and the
Studio's login page call into them.
"""
