/* session_fixture.h: claims and standings for the session tests (test_sidless.c,
 * test_session_rule.c); needs cmocka.h, stdio.h, string.h, api/session.h. */
#ifndef SA_TEST_SESSION_FIXTURE_H
#define SA_TEST_SESSION_FIXTURE_H

/* The verified claims of a token of `type` issued at iat, expiring 600 s later; sid "" for a
 * token without sid. */
static void claims_of(sa_claims *c, sa_token_type type, const char *user_id, const char *jti,
                      const char *sid, int64_t iat)
{
    memset(c, 0, sizeof *c);
    c->token_type = type;
    c->iat = iat;
    c->exp = iat + 600;
    snprintf(c->user_id, sizeof c->user_id, "%s", user_id);
    snprintf(c->jti, sizeof c->jti, "%s", jti);
    snprintf(c->sid, sizeof c->sid, "%s", sid);
}

/* sa_session_standing() of c at now, asserting that the store answered. */
static sa_standing standing_of(sa_store *store, const sa_config *cfg, sa_claims *c, int64_t now,
                               bool judge)
{
    sa_standing out = SA_STANDING_LIVE;
    sa_error err = {0};
    assert_int_equal(sa_session_standing(cfg, store, c, now, judge, &out, &err), SA_OK);
    return out;
}

#endif
