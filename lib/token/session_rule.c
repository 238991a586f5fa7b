/* session_rule.c: rotation, grace, reuse and revocation decided on records (see
 * session_rule.h). */
#include "token/session_rule.h"

#include <openssl/crypto.h>
#include <string.h>

/* Security: jtis are compared in constant time; an empty jti never matches. */
static bool jti_equal(const char *a, const char *b)
{
    size_t na = strnlen(a, SA_JTI_LEN + 1), nb = strnlen(b, SA_JTI_LEN + 1);
    return na > 0 && na == nb && na <= SA_JTI_LEN && CRYPTO_memcmp(a, b, na) == 0;
}

sa_rotate_result sa_session_rule_judge(const sa_session *s, const char *presented_jti,
                                       int64_t now, int64_t grace)
{
    if (s->revoked)
        return SA_ROTATE_REVOKED;
    if (jti_equal(s->current_jti, presented_jti))
        return SA_ROTATE_ROTATED;
    if (jti_equal(s->previous_jti, presented_jti) && grace >= 0 &&
        (now <= s->replaced_at || now - s->replaced_at <= grace))
        return SA_ROTATE_GRACE;
    return SA_ROTATE_REUSE;
}

sa_rotate_result sa_session_rule_rotate(sa_session *s, const char *presented_jti,
                                        const sa_session *next, int64_t now, int64_t grace,
                                        sa_error *err)
{
    sa_rotate_result r;

    if (!next)
        r = s->revoked ? SA_ROTATE_REVOKED : SA_ROTATE_KEPT;
    else
        r = sa_session_rule_judge(s, presented_jti, now, grace);
    switch (r) {
    case SA_ROTATE_ROTATED:
        memcpy(s->previous_jti, s->current_jti, sizeof s->previous_jti);
        s->replaced_at = now;
        memcpy(s->current_jti, next->current_jti, sizeof s->current_jti);
        s->current_iat = next->current_iat;
        s->current_exp = next->current_exp;
        s->expires_at = next->expires_at;
        break;
    case SA_ROTATE_REUSE:
        /* Security: any other token of this session means a copy is in someone else's
         * hands: the whole session ends. */
        s->revoked = true;
        SA_FAIL(err, SA_ERR_INVALID, "refresh token reuse: session %s revoked", s->sid);
        break;
    case SA_ROTATE_REVOKED:
        SA_FAIL(err, SA_ERR_INVALID, "session %s is revoked", s->sid);
        break;
    case SA_ROTATE_GRACE:
    case SA_ROTATE_KEPT:
        break;
    }
    return r;
}

sa_refresh_outcome sa_session_rule_refresh(sa_rotate_result r, bool rotate, bool had_sid)
{
    if (r == SA_ROTATE_REUSE || r == SA_ROTATE_REVOKED)
        return SA_REFRESH_REFUSED;
    if (r == SA_ROTATE_GRACE || (rotate && !had_sid))
        return SA_REFRESH_CURRENT;
    return SA_REFRESH_ISSUED;
}

bool sa_session_rule_before_logout(int64_t not_before, int64_t iat)
{
    return not_before != 0 && iat <= not_before;
}

sa_standing sa_session_rule_standing(const sa_session *s, const sa_claims *claims, bool adopted,
                                     bool rotate, int64_t now, int64_t grace)
{
    /* Security: an adopted jti names a session of the token's own user, or none. */
    if (!s || s->revoked || (adopted && strcmp(s->user_id, claims->user_id) != 0))
        return SA_STANDING_REVOKED;
    if (rotate && claims->token_type == SA_TOKEN_REFRESH &&
        sa_session_rule_judge(s, claims->jti, now, grace) == SA_ROTATE_REUSE)
        return SA_STANDING_RETIRED;
    return SA_STANDING_LIVE;
}
