"""The users and passwords of the test registries: htpasswd's Basic user, and the token
server's users with what each may do."""

BASIC_USER, BASIC_PASSWORD = "alice", "s3cret-Basic-pw"
TOKEN_USERS = {"admin": "admin-Token-pw", "reader": "reader-Token-pw"}
TOKEN_GRANTS = {"admin": {"*"}, "reader": {"pull"}}
