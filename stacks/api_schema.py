"""The JSON schemas API Gateway checks POST /signup and POST /referrals/{userId}/reverse bodies
against (draft 4, as API Gateway requires).

The function re-checks everything and stays the authority; this refuses malformed bodies before
they cost an invocation. It must never refuse a body the function accepts:
tests/unit/test_api_schema.py checks that on examples and generated bodies.
"""

ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
MAX_EMAIL_LENGTH = 254

SIGNUP_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Signup",
    "type": "object",
    "required": ["userId"],
    "additionalProperties": False,
    "properties": {
        "userId": {"type": "string", "pattern": ID_PATTERN},
        # null means "absent" to the function (clients often serialise unset fields that way).
        "referralCode": {"type": ["string", "null"], "pattern": ID_PATTERN},
        "email": {"type": ["string", "null"], "maxLength": MAX_EMAIL_LENGTH, "pattern": "^[^@]+@[^@]+$"},
    },
}

# Mirrors referrals.admin_requests.MAX_REASON_CHARACTERS.
MAX_REASON_CHARACTERS = 500

REVERSE_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Reverse",
    "type": "object",
    "required": ["reason"],
    "additionalProperties": False,
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON_CHARACTERS}},
}
