/* claims.h: one function per JWT claim check (RFC 7519 section 4.1, api.html#token-checks), each
 * handling missing / malformed / out of window, shared by our tokens (jwt.c) and Google's ID
 * tokens (google.c). No I/O: each returns its outcome and fills err (status SA_ERR_INVALID,
 * err->msg naming the claim and why, never its value) when the claim is not acceptable. */
#ifndef SA_CLAIMS_H
#define SA_CLAIMS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "core/sa_error.h"
#include "token/jwt.h"

typedef enum sa_claim_result {
    SA_CLAIM_OK,
    SA_CLAIM_ABSENT,         /* not in the claims (acceptable for the optional ones) */
    SA_CLAIM_MALFORMED,      /* present but of the wrong JSON type or size */
    SA_CLAIM_OUT_OF_WINDOW   /* a time outside now +/- leeway */
} sa_claim_result;

/* The time rules, in unix seconds, arithmetic clamped to the int64 range so that no value of
 * a token or setting overflows: expired when exp <= now - leeway; early (iat, nbf) when
 * t > now + leeway. */
bool sa_claim_expired(int64_t exp, int64_t now, int64_t leeway);
bool sa_claim_early(int64_t t, int64_t now, int64_t leeway);

/* exp: required; an integer with exp > now - leeway. *exp receives it (0 unless present and
 * an integer). Messages: "exp missing", "exp is not an integer", "token expired". */
sa_claim_result sa_claim_exp(json_object *claims, int64_t now, int64_t leeway, int64_t *exp,
                             sa_error *err);

/* iat: an integer <= now + leeway; ABSENT (with *iat 0, err untouched) when missing, which
 * our tokens accept and Google's do not. Messages: "iat is not an integer", "iat in the
 * future". */
sa_claim_result sa_claim_iat(json_object *claims, int64_t now, int64_t leeway, int64_t *iat,
                             sa_error *err);

/* nbf: optional; when present an integer <= now + leeway. ABSENT when missing (err
 * untouched). Messages: "nbf is not an integer", "not valid yet (nbf)". */
sa_claim_result sa_claim_nbf(json_object *claims, int64_t now, int64_t leeway, sa_error *err);

/* jti: a string of 1..SA_JTI_LEN bytes (simplejwt's uuid4().hex is 32; a longer one is
 * refused, never cut), copied NUL-terminated into jti (SA_JTI_LEN + 1 bytes). */
bool sa_claim_jti(json_object *claims, char jti[SA_JTI_LEN + 1], sa_error *err);

/* user_id: a string of 1..SA_USER_ID_MAX bytes, or a JSON integer read as its decimal
 * string, into user_id (SA_USER_ID_MAX + 1 bytes). */
bool sa_claim_user_id(json_object *claims, char user_id[SA_USER_ID_MAX + 1], sa_error *err);

/* sid: absent (sid set to ""), or a string of 1..SA_SID_LEN bytes copied into sid
 * (SA_SID_LEN + 1 bytes). */
bool sa_claim_sid(json_object *claims, char sid[SA_SID_LEN + 1], sa_error *err);

/* token_type: must be a string (false, "token_type missing or not a string", otherwise);
 * *is_expected says whether it is `expected`'s name ("access", "refresh"). The caller
 * decides when a wrong type counts (jwt.c: only after every other check passed). */
bool sa_claim_token_type(json_object *claims, sa_token_type expected, bool *is_expected,
                         sa_error *err);

/* The name simplejwt writes for a token type: "access" or "refresh". */
const char *sa_claim_token_type_name(sa_token_type type);

/* aud (RFC 7519 4.1.3, as PyJWT reads it): with want non-empty, a string equal to it or an
 * array of strings holding it; with want "", no aud at all (a token naming an audience was
 * meant for another service). Message: "wrong or unexpected audience". */
bool sa_claim_audience(json_object *claims, const char *want, sa_error *err);

/* iss: with want non-empty, a string equal to it; with want "", anything. Message: "wrong
 * issuer". */
bool sa_claim_issuer(json_object *claims, const char *want, sa_error *err);

/* A JOSE header (RFC 7515 section 4) of len bytes that is not byte-identical to one we mint: a
 * JSON object (no duplicate keys, any member order) whose alg is exactly "HS256", without
 * crit (we implement no extension: RFC 7515 4.1.11), with typ and kid strings when present.
 * kid (SA_KID_MAX + 1 bytes) receives the kid, "" when none or longer than SA_KID_MAX (then
 * no directory key can match). */
bool sa_claim_header(const unsigned char *raw, size_t len, char *kid, sa_error *err);

#endif
