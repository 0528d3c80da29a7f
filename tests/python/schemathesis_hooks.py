"""Schemathesis hooks for the contract run (tests/tests/scenarios/openapi_contract.rs).

A document promises which requests are well formed; it cannot promise that a cart is full, that a mailed code is
right or that a course belongs to the caller. So instead of schemathesis' positive_data_acceptance (which takes
any 400 or 422 for a broken promise), this check holds the server to what the problem codes say: a request the
document allows is never refused as malformed or invalid in shape. Refusals by the domain's rules keep their
own codes (cart_empty, verification_code_invalid, ...) and pass.
"""

import schemathesis

# The problem codes that mean "this request breaks the published shape". Not payload_too_large: the body limit
# (1 MiB) is the transport's, which no schema states (a string within its maxLength can still be escaped past it).
SHAPE_CODES = {
    "malformed_request",
    "validation_failed",
    "invalid_text",
    "unsupported_media_type",
}


@schemathesis.check
def allowed_requests_are_well_formed(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if not 400 <= response.status_code < 500:
        return None
    try:
        code = response.json().get("code")
    except Exception as error:
        raise AssertionError(f"a {response.status_code} that is not problem JSON: {error}")
    if code in SHAPE_CODES:
        raise AssertionError(f"a request the document allows was refused as {code}: {response.text[:600]}")
    return None
