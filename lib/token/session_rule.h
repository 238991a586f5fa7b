/* session_rule.h: the session rules of api.html#tokens, #sessions, #verify and #logout as pure
 * functions: given the facts (a session record, the presented token's claims, the user's
 * not-before time, now, the settings) they return an outcome, and change nothing but the
 * record they are handed. No store, no I/O, no answer, no log: the store runs them inside its
 * transaction
 * (store_session.c, store_sidless.c), and api/session.c maps their outcomes to answers. */
#ifndef SA_SESSION_RULE_H
#define SA_SESSION_RULE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/sa_error.h"
#include "token/jwt.h"

/* A login session as the store keeps it: jtis and times only, never a token. */
typedef struct sa_session {
    char sid[SA_SID_LEN + 1];
    char user_id[SA_USER_ID_MAX + 1];
    char current_jti[SA_JTI_LEN + 1];   /* the refresh token now valid */
    char previous_jti[SA_JTI_LEN + 1];  /* the one it replaced, honoured until replaced_at + grace */
    int64_t created_at;
    int64_t replaced_at;       /* when previous_jti was replaced */
    int64_t current_iat;       /* iat/exp of the current refresh token, so the grace answer */
    int64_t current_exp;       /*   can re-mint it byte-identically */
    int64_t expires_at;        /* purge after this */
    bool revoked;
} sa_session;

/* What a refresh does to a session. */
typedef enum sa_rotate_result {
    SA_ROTATE_ROTATED,  /* the current token: replaced by the successor */
    SA_ROTATE_GRACE,    /* the replaced one within grace: the current token is answered again */
    SA_ROTATE_REUSE,    /* any other jti of the session: the session is revoked */
    SA_ROTATE_REVOKED,  /* the session was revoked already (or the token refused outright) */
    SA_ROTATE_KEPT      /* no rotation asked (no successor): alive, nothing changed */
} sa_rotate_result;

/* The rotation rule for presented_jti on session s at now (unix seconds), grace seconds
 * (api.html#verify): REVOKED when s is revoked; ROTATED when presented_jti is s's current
 * jti; GRACE when it is the previous jti and now <= replaced_at + grace (grace >= 0; a clock
 * gone back, now < replaced_at, is inside); else REUSE. Never KEPT. Security: jtis compared in
 * constant time; an empty jti never matches. */
sa_rotate_result sa_session_rule_judge(const sa_session *s, const char *presented_jti,
                                       int64_t now, int64_t grace);

/* Apply the rotation rule to the record *s: with next NULL, KEPT (or REVOKED for a revoked s)
 * and s unchanged; else sa_session_rule_judge's outcome, and for ROTATED s takes next's
 * current_jti, current_iat, current_exp and expires_at, its old current jti becoming
 * previous_jti replaced at now; for REUSE s->revoked is set. GRACE and REVOKED leave s as it
 * was. The caller writes s when the outcome is ROTATED or REUSE. Fills err (status
 * SA_ERR_INVALID, a message naming the sid, never a token) for REUSE and REVOKED, and leaves
 * it alone otherwise. */
sa_rotate_result sa_session_rule_rotate(sa_session *s, const char *presented_jti,
                                        const sa_session *next, int64_t now, int64_t grace,
                                        sa_error *err);

/* The global logout rule (api.html#tokens and #logout): a token without sid issued at or
 * before its user's not-before time (unix seconds; 0: none recorded) is revoked. A token without iat
 * counts as issued at 0, so a global logout ends it too. */
bool sa_session_rule_before_logout(int64_t not_before, int64_t iat);

/* What a refresh answers once the store has run the rotation rule (api.html#verify). */
typedef enum sa_refresh_outcome {
    SA_REFRESH_REFUSED,   /* 401 "Token is blacklisted" */
    SA_REFRESH_ISSUED,    /* the successor minted before the transaction (or, without
                             rotation, a new access token only) */
    SA_REFRESH_CURRENT    /* the session's current refresh token, re-minted from the record */
} sa_refresh_outcome;

/* The outcome for the store's result r: REFUSED for REUSE and REVOKED; CURRENT for GRACE,
 * and under rotation for a token without sid (had_sid false: its successor's sid came from
 * the store, so it is re-minted from the session); ISSUED otherwise. */
sa_refresh_outcome sa_session_rule_refresh(sa_rotate_result r, bool rotate, bool had_sid);

/* Where a verified token stands (api.html#tokens, #sessions and #verify). */
typedef enum sa_standing {
    SA_STANDING_LIVE,       /* its session is alive (and, when asked, it is the session's
                               current refresh token or the replaced one within grace) */
    SA_STANDING_UNADOPTED,  /* a refresh token without sid never used or revoked: alive, and
                               its first refresh opens its session */
    SA_STANDING_REVOKED,    /* its session is revoked or gone; a token without sid logged out,
                               or issued at or before its user's not-before time */
    SA_STANDING_RETIRED     /* a refresh token rotation replaced: refreshing with it is reuse */
} sa_standing;

/* The standing of the token `claims` whose session record is s (NULL: no such session).
 * adopted: the token has no sid of its own and s is the session its jti was adopted into,
 * which must then belong to claims->user_id. With rotate (rotation judged: a refresh of a
 * rotating session), a refresh token is RETIRED when sa_session_rule_judge says REUSE.
 * Returns LIVE, REVOKED or RETIRED (never UNADOPTED: that is decided before any session). */
sa_standing sa_session_rule_standing(const sa_session *s, const sa_claims *claims, bool adopted,
                                     bool rotate, int64_t now, int64_t grace);

#endif
