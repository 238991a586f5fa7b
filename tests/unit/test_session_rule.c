/* test_session_rule.c: the session rules of token/session_rule.c on records (rotation, grace
 * inside / at its edge / after, reuse, revocation, the not-before rule, standing), then the
 * same rules as the store runs them in its transaction and as logout applies them
 * (store_session.c, api/session.c's sa_session_end and sa_session_standing), each store test
 * on a fresh store in its own temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/session.h"
#include "store/store.h"
#include "token/session_rule.h"

#include "session_fixture.h"
#include "store_fixture.h"

#define J1 "11111111111111111111111111111111"
#define J2 "22222222222222222222222222222222"
#define J3 "33333333333333333333333333333333"
#define GRACE 30

/* Session sid of user_id whose current token J1 was issued at 100; J0 replaced at 100 when
 * with_previous. */
static void session_of(sa_session *s, const char *sid, const char *user_id, bool with_previous)
{
    memset(s, 0, sizeof *s);
    snprintf(s->sid, sizeof s->sid, "%s", sid);
    snprintf(s->user_id, sizeof s->user_id, "%s", user_id);
    snprintf(s->current_jti, sizeof s->current_jti, "%s", J1);
    if (with_previous)
        snprintf(s->previous_jti, sizeof s->previous_jti, "%s", J3);
    s->created_at = 50;
    s->replaced_at = 100;
    s->current_iat = 100;
    s->current_exp = 1000;
    s->expires_at = 1000;
}

static void successor(sa_session *next, const char *jti, int64_t iat)
{
    memset(next, 0, sizeof *next);
    snprintf(next->current_jti, sizeof next->current_jti, "%s", jti);
    next->current_iat = iat;
    next->current_exp = iat + 900;
    next->expires_at = iat + 900;
}

/* ---- the rules on records ---- */

static void test_judge(void **state)
{
    sa_session s;
    (void)state;
    session_of(&s, "s1", "u1", true);
    assert_int_equal(sa_session_rule_judge(&s, J1, 500, GRACE), SA_ROTATE_ROTATED);
    /* Grace: inside, at its edge, one second after; a clock gone back is inside. */
    assert_int_equal(sa_session_rule_judge(&s, J3, 110, GRACE), SA_ROTATE_GRACE);
    assert_int_equal(sa_session_rule_judge(&s, J3, 100 + GRACE, GRACE), SA_ROTATE_GRACE);
    assert_int_equal(sa_session_rule_judge(&s, J3, 101 + GRACE, GRACE), SA_ROTATE_REUSE);
    assert_int_equal(sa_session_rule_judge(&s, J3, 90, GRACE), SA_ROTATE_GRACE);
    /* grace 0: only the same second; a negative grace: none at all. */
    assert_int_equal(sa_session_rule_judge(&s, J3, 100, 0), SA_ROTATE_GRACE);
    assert_int_equal(sa_session_rule_judge(&s, J3, 101, 0), SA_ROTATE_REUSE);
    assert_int_equal(sa_session_rule_judge(&s, J3, 100, -1), SA_ROTATE_REUSE);
    /* Any other jti, a prefix of the current one, the empty jti: reuse. */
    assert_int_equal(sa_session_rule_judge(&s, J2, 110, GRACE), SA_ROTATE_REUSE);
    assert_int_equal(sa_session_rule_judge(&s, "1111111111111111", 110, GRACE), SA_ROTATE_REUSE);
    assert_int_equal(sa_session_rule_judge(&s, "", 110, GRACE), SA_ROTATE_REUSE);
    /* A session with no previous token: the empty previous jti matches nothing. */
    session_of(&s, "s1", "u1", false);
    assert_int_equal(sa_session_rule_judge(&s, "", 100, GRACE), SA_ROTATE_REUSE);
    /* Revoked wins over everything, the current token too. */
    session_of(&s, "s1", "u1", true);
    s.revoked = true;
    assert_int_equal(sa_session_rule_judge(&s, J1, 110, GRACE), SA_ROTATE_REVOKED);
    assert_int_equal(sa_session_rule_judge(&s, J3, 110, GRACE), SA_ROTATE_REVOKED);
}

static void test_rotate_record(void **state)
{
    sa_session s, before, next;
    sa_error err = {0};
    (void)state;

    /* ROTATED: the successor becomes current, the old current the previous one. */
    session_of(&s, "s1", "u1", true);
    successor(&next, J2, 200);
    assert_int_equal(sa_session_rule_rotate(&s, J1, &next, 200, GRACE, &err), SA_ROTATE_ROTATED);
    assert_string_equal(s.current_jti, J2);
    assert_string_equal(s.previous_jti, J1);
    assert_int_equal(s.replaced_at, 200);
    assert_int_equal(s.current_iat, 200);
    assert_int_equal(s.current_exp, 1100);
    assert_int_equal(s.expires_at, 1100);
    assert_false(s.revoked);
    assert_int_equal(err.status, SA_OK);

    /* GRACE: the record is untouched (its current token is answered again). */
    before = s;
    assert_int_equal(sa_session_rule_rotate(&s, J1, &next, 200 + GRACE, GRACE, &err),
                     SA_ROTATE_GRACE);
    assert_memory_equal(&s, &before, sizeof s);

    /* REUSE after grace: the session is revoked, and the reason names it. */
    assert_int_equal(sa_session_rule_rotate(&s, J1, &next, 201 + GRACE, GRACE, &err),
                     SA_ROTATE_REUSE);
    assert_true(s.revoked);
    assert_string_equal(s.current_jti, J2);
    assert_int_equal(err.status, SA_ERR_INVALID);
    assert_non_null(strstr(err.msg, "reuse"));
    assert_non_null(strstr(err.msg, "s1"));

    /* REVOKED: nothing changes, the current token is refused as well. */
    before = s;
    memset(&err, 0, sizeof err);
    assert_int_equal(sa_session_rule_rotate(&s, J2, &next, 250, GRACE, &err), SA_ROTATE_REVOKED);
    assert_memory_equal(&s, &before, sizeof s);
    assert_int_equal(err.status, SA_ERR_INVALID);

    /* No successor: KEPT for a live session (whatever jti), REVOKED for a revoked one. */
    session_of(&s, "s2", "u1", false);
    before = s;
    memset(&err, 0, sizeof err);
    assert_int_equal(sa_session_rule_rotate(&s, J2, NULL, 200, GRACE, &err), SA_ROTATE_KEPT);
    assert_memory_equal(&s, &before, sizeof s);
    assert_int_equal(err.status, SA_OK);
    s.revoked = true;
    assert_int_equal(sa_session_rule_rotate(&s, J1, NULL, 200, GRACE, &err), SA_ROTATE_REVOKED);
}

static void test_before_logout(void **state)
{
    (void)state;
    assert_false(sa_session_rule_before_logout(0, 0));       /* no global logout recorded */
    assert_false(sa_session_rule_before_logout(0, 500));
    assert_true(sa_session_rule_before_logout(300, 299));
    assert_true(sa_session_rule_before_logout(300, 300));    /* issued in the logout's second */
    assert_false(sa_session_rule_before_logout(300, 301));
    assert_true(sa_session_rule_before_logout(300, 0));      /* no iat counts as issued at 0 */
}

static void test_refresh_outcome(void **state)
{
    (void)state;
    for (int rotate = 0; rotate < 2; rotate++)
        for (int had_sid = 0; had_sid < 2; had_sid++) {
            assert_int_equal(sa_session_rule_refresh(SA_ROTATE_REUSE, rotate, had_sid),
                             SA_REFRESH_REFUSED);
            assert_int_equal(sa_session_rule_refresh(SA_ROTATE_REVOKED, rotate, had_sid),
                             SA_REFRESH_REFUSED);
            assert_int_equal(sa_session_rule_refresh(SA_ROTATE_GRACE, rotate, had_sid),
                             SA_REFRESH_CURRENT);
        }
    assert_int_equal(sa_session_rule_refresh(SA_ROTATE_ROTATED, true, true), SA_REFRESH_ISSUED);
    assert_int_equal(sa_session_rule_refresh(SA_ROTATE_ROTATED, true, false), SA_REFRESH_CURRENT);
    assert_int_equal(sa_session_rule_refresh(SA_ROTATE_KEPT, false, false), SA_REFRESH_ISSUED);
    assert_int_equal(sa_session_rule_refresh(SA_ROTATE_KEPT, false, true), SA_REFRESH_ISSUED);
}

static void test_standing_rule(void **state)
{
    sa_session s;
    sa_claims c;
    (void)state;

    session_of(&s, "s1", "u1", true);
    claims_of(&c, SA_TOKEN_REFRESH, "u1", J1, "s1", 100);
    assert_int_equal(sa_session_rule_standing(&s, &c, false, true, 110, GRACE), SA_STANDING_LIVE);
    assert_int_equal(sa_session_rule_standing(NULL, &c, false, true, 110, GRACE),
                     SA_STANDING_REVOKED);
    /* The replaced token: live within grace, retired after it, live when rotation is not
     * judged; an access token is never retired. */
    claims_of(&c, SA_TOKEN_REFRESH, "u1", J3, "s1", 50);
    assert_int_equal(sa_session_rule_standing(&s, &c, false, true, 100 + GRACE, GRACE),
                     SA_STANDING_LIVE);
    assert_int_equal(sa_session_rule_standing(&s, &c, false, true, 101 + GRACE, GRACE),
                     SA_STANDING_RETIRED);
    assert_int_equal(sa_session_rule_standing(&s, &c, false, false, 101 + GRACE, GRACE),
                     SA_STANDING_LIVE);
    claims_of(&c, SA_TOKEN_ACCESS, "u1", J2, "s1", 50);
    assert_int_equal(sa_session_rule_standing(&s, &c, false, true, 101 + GRACE, GRACE),
                     SA_STANDING_LIVE);
    /* Adopted: the session must be the token's own user's. A session's sid names it, so a
     * token with its own sid is not checked that way. */
    claims_of(&c, SA_TOKEN_REFRESH, "u2", J1, "s1", 100);
    assert_int_equal(sa_session_rule_standing(&s, &c, true, true, 110, GRACE),
                     SA_STANDING_REVOKED);
    assert_int_equal(sa_session_rule_standing(&s, &c, false, true, 110, GRACE),
                     SA_STANDING_LIVE);
    /* A revoked session: every token of it is revoked. */
    s.revoked = true;
    claims_of(&c, SA_TOKEN_ACCESS, "u1", J2, "s1", 100);
    assert_int_equal(sa_session_rule_standing(&s, &c, false, false, 110, GRACE),
                     SA_STANDING_REVOKED);
}

/* ---- the rules as the store and logout run them ---- */

static sa_rotate_result rotate(sa_store *store, const char *sid, const char *jti,
                               const char *next_jti, int64_t now, sa_session *out)
{
    sa_session next;
    sa_rotate_result result = SA_ROTATE_KEPT;
    sa_error err = {0};
    successor(&next, next_jti, now);
    assert_int_equal(sa_store_session_rotate(store, sid, jti, &next, now, GRACE, out, &result,
                                             &err), SA_OK);
    return result;
}

static void test_store_rotation_grace_reuse(void **state)
{
    fixture *fx = *state;
    sa_session s, out;
    sa_error err = {0};

    session_of(&s, "s1", "u1", false);
    assert_int_equal(sa_store_session_create(fx->store, &s, &err), SA_OK);
    assert_int_equal(rotate(fx->store, "s1", J1, J2, 200, &out), SA_ROTATE_ROTATED);
    assert_int_equal(sa_store_session_get(fx->store, "s1", &out, &err), SA_OK);
    assert_string_equal(out.current_jti, J2);
    assert_string_equal(out.previous_jti, J1);
    assert_int_equal(out.replaced_at, 200);

    /* The replaced token inside grace and at its edge: the successor again, nothing written. */
    assert_int_equal(rotate(fx->store, "s1", J1, J3, 210, &out), SA_ROTATE_GRACE);
    assert_string_equal(out.current_jti, J2);
    assert_int_equal(rotate(fx->store, "s1", J1, J3, 200 + GRACE, &out), SA_ROTATE_GRACE);
    assert_int_equal(sa_store_session_get(fx->store, "s1", &out, &err), SA_OK);
    assert_string_equal(out.current_jti, J2);
    assert_false(out.revoked);

    /* After grace: reuse, and the store keeps the session revoked... */
    assert_int_equal(rotate(fx->store, "s1", J1, J3, 201 + GRACE, &out), SA_ROTATE_REUSE);
    assert_int_equal(sa_store_session_get(fx->store, "s1", &out, &err), SA_OK);
    assert_true(out.revoked);
    /* ...so its current token is refused from then on. */
    assert_int_equal(rotate(fx->store, "s1", J2, J3, 240, &out), SA_ROTATE_REVOKED);
    assert_int_equal(sa_store_session_get(fx->store, "s1", &out, &err), SA_OK);
    assert_string_equal(out.current_jti, J2);
}

static void test_store_reuse_of_unknown_jti(void **state)
{
    fixture *fx = *state;
    sa_session s, out;
    sa_error err = {0};

    /* A jti the session never had (a forged or stale copy) ends the session at once. */
    session_of(&s, "s1", "u1", false);
    assert_int_equal(sa_store_session_create(fx->store, &s, &err), SA_OK);
    assert_int_equal(rotate(fx->store, "s1", J3, J2, 110, &out), SA_ROTATE_REUSE);
    assert_int_equal(sa_store_session_get(fx->store, "s1", &out, &err), SA_OK);
    assert_true(out.revoked);
    assert_string_equal(out.current_jti, J1);
}

static void test_store_logout_scopes(void **state)
{
    fixture *fx = *state;
    sa_config cfg;
    sa_session s;
    sa_claims c1, c2, c3, other;
    sa_error err = {0};

    sa_config_defaults(&cfg);
    session_of(&s, "s1", "u1", false);
    assert_int_equal(sa_store_session_create(fx->store, &s, &err), SA_OK);
    session_of(&s, "s2", "u1", false);
    assert_int_equal(sa_store_session_create(fx->store, &s, &err), SA_OK);
    session_of(&s, "s3", "u1", false);
    assert_int_equal(sa_store_session_create(fx->store, &s, &err), SA_OK);
    session_of(&s, "s4", "u2", false);
    assert_int_equal(sa_store_session_create(fx->store, &s, &err), SA_OK);
    claims_of(&c1, SA_TOKEN_REFRESH, "u1", J1, "s1", 100);
    claims_of(&c2, SA_TOKEN_ACCESS, "u1", J2, "s2", 100);
    claims_of(&c3, SA_TOKEN_ACCESS, "u1", J2, "s3", 100);
    claims_of(&other, SA_TOKEN_ACCESS, "u2", J2, "s4", 100);

    /* LOCAL: only its own session. */
    assert_int_equal(sa_session_end(fx->store, &c1, SA_LOGOUT_LOCAL, 150, &err), SA_OK);
    assert_int_equal(standing_of(fx->store, &cfg, &c1, 150, false), SA_STANDING_REVOKED);
    assert_int_equal(standing_of(fx->store, &cfg, &c2, 150, false), SA_STANDING_LIVE);
    /* A second local logout of an ended session is fine. */
    assert_int_equal(sa_session_end(fx->store, &c1, SA_LOGOUT_LOCAL, 151, &err), SA_OK);

    /* OTHERS from s2: s3 ends, s2 and the other user's session live. */
    assert_int_equal(sa_session_end(fx->store, &c2, SA_LOGOUT_OTHERS, 160, &err), SA_OK);
    assert_int_equal(standing_of(fx->store, &cfg, &c2, 160, false), SA_STANDING_LIVE);
    assert_int_equal(standing_of(fx->store, &cfg, &c3, 160, false), SA_STANDING_REVOKED);
    assert_int_equal(standing_of(fx->store, &cfg, &other, 160, false), SA_STANDING_LIVE);
}

static void test_store_global_logout_not_before(void **state)
{
    fixture *fx = *state;
    sa_config cfg;
    sa_session s;
    sa_claims with_sid, before, same_second, after, other;
    int64_t not_before = 0;
    sa_error err = {0};

    sa_config_defaults(&cfg);
    session_of(&s, "s1", "u1", false);
    assert_int_equal(sa_store_session_create(fx->store, &s, &err), SA_OK);
    claims_of(&with_sid, SA_TOKEN_ACCESS, "u1", J2, "s1", 100);
    claims_of(&before, SA_TOKEN_ACCESS, "u1", J2, "", 299);
    claims_of(&same_second, SA_TOKEN_ACCESS, "u1", J2, "", 300);
    claims_of(&after, SA_TOKEN_ACCESS, "u1", J2, "", 301);
    claims_of(&other, SA_TOKEN_ACCESS, "u2", J2, "", 200);
    assert_int_equal(standing_of(fx->store, &cfg, &before, 250, false), SA_STANDING_LIVE);

    assert_int_equal(sa_session_end(fx->store, &with_sid, SA_LOGOUT_GLOBAL, 300, &err), SA_OK);
    assert_int_equal(sa_store_not_before_get(fx->store, "u1", &not_before, &err), SA_OK);
    assert_int_equal(not_before, 300);
    assert_int_equal(standing_of(fx->store, &cfg, &with_sid, 310, false), SA_STANDING_REVOKED);
    assert_int_equal(standing_of(fx->store, &cfg, &before, 310, false), SA_STANDING_REVOKED);
    assert_int_equal(standing_of(fx->store, &cfg, &same_second, 310, false), SA_STANDING_REVOKED);
    assert_int_equal(standing_of(fx->store, &cfg, &after, 310, false), SA_STANDING_LIVE);
    assert_int_equal(standing_of(fx->store, &cfg, &other, 310, false), SA_STANDING_LIVE);
    /* An earlier global logout never lowers it. */
    assert_int_equal(sa_session_end(fx->store, &with_sid, SA_LOGOUT_GLOBAL, 200, &err), SA_OK);
    assert_int_equal(sa_store_not_before_get(fx->store, "u1", &not_before, &err), SA_OK);
    assert_int_equal(not_before, 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_rotate_record),
        cmocka_unit_test(test_before_logout),
        cmocka_unit_test(test_refresh_outcome),
        cmocka_unit_test(test_standing_rule),
        cmocka_unit_test_setup_teardown(test_store_rotation_grace_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_reuse_of_unknown_jti, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_logout_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_global_logout_not_before, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
