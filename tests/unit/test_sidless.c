/* test_sidless.c: tokens without sid in the store (store_sidless.c: adoption, logout by jti,
 * not-before, purge), their records, and the decision layer above them (session.c's
 * sa_session_standing). Every store test runs on a fresh environment. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "api/session.h"
#include "store/store.h"
#include "store/store_record.h"

#include "session_fixture.h"
#include "store_fixture.h"

#define JTI "0123456789abcdef0123456789abcdef"

/* A new session whose first token is jti (what session.c hands sa_store_session_adopt). */
static void first_session(sa_session *s, const char *sid, const char *user_id, const char *jti,
                          int64_t iat, int64_t exp)
{
    memset(s, 0, sizeof *s);
    snprintf(s->sid, sizeof s->sid, "%s", sid);
    snprintf(s->user_id, sizeof s->user_id, "%s", user_id);
    snprintf(s->current_jti, sizeof s->current_jti, "%s", jti);
    s->created_at = iat;
    s->current_iat = iat;
    s->current_exp = exp;
    s->expires_at = exp;
}

static void next_token(sa_session *next, const char *jti, int64_t iat)
{
    memset(next, 0, sizeof *next);
    snprintf(next->current_jti, sizeof next->current_jti, "%s", jti);
    next->current_iat = iat;
    next->current_exp = iat + 600;
    next->expires_at = iat + 600;
}

static size_t session_count(sa_store *store)
{
    size_t n = 0;
    sa_error err = {0};
    assert_int_equal(sa_store_session_count(store, &n, &err), SA_OK);
    return n;
}

static size_t jti_count(sa_store *store)
{
    size_t n = 0;
    sa_error err = {0};
    assert_int_equal(sa_store_jti_count(store, &n, &err), SA_OK);
    return n;
}

/* ---- records ---- */

static void test_records(void **state)
{
    sa_jti_record in = {.sid = "s1", .expires_at = -5, .revoked = true}, out;
    sa_record rec = {NULL, 0};
    sa_error err = {0};
    int64_t nb = 0;
    (void)state;

    assert_int_equal(sa_record_jti_encode(&in, &rec, &err), SA_OK);
    assert_int_equal(rec.data[0], SA_RECORD_VERSION);
    assert_int_equal(rec.data[1], SA_RECORD_JTI);
    assert_int_equal(sa_record_jti_decode(rec.data, rec.len, &out, &err), SA_OK);
    assert_string_equal(out.sid, "s1");
    assert_int_equal(out.expires_at, -5);
    assert_true(out.revoked);
    const unsigned char *value;
    size_t len;
    assert_true(sa_record_field_get(rec.data, rec.len, SA_FIELD_JTI_EXPIRES_AT, &value, &len));
    assert_int_equal(len, SA_RECORD_I64_SIZE);
    assert_int_equal(sa_record_i64_get(value), -5);
    /* every truncation, a trailing byte, another kind, another version: refused */
    for (size_t n = 0; n < rec.len; n++)
        assert_int_equal(sa_record_jti_decode(rec.data, n, &out, &err), SA_ERR_UNAVAILABLE);
    unsigned char longer[64];
    memcpy(longer, rec.data, rec.len);
    longer[rec.len] = 0;
    assert_int_equal(sa_record_jti_decode(longer, rec.len + 1, &out, &err), SA_ERR_UNAVAILABLE);
    longer[1] = SA_RECORD_SESSION;
    assert_int_equal(sa_record_jti_decode(longer, rec.len, &out, &err), SA_ERR_UNAVAILABLE);
    assert_false(sa_record_field_get(longer, rec.len, SA_FIELD_JTI_EXPIRES_AT, &value, &len));
    longer[0] = SA_RECORD_VERSION + 1;
    longer[1] = SA_RECORD_JTI;
    assert_int_equal(sa_record_jti_decode(longer, rec.len, &out, &err), SA_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "version"));
    sa_record_free(&rec);
    memset(in.sid, 's', sizeof in.sid);   /* unterminated: refused, not overread */
    assert_int_equal(sa_record_jti_encode(&in, &rec, &err), SA_ERR_INVALID);

    unsigned char buf[SA_RECORD_NOT_BEFORE_SIZE];
    sa_record_not_before_encode(1234567890123, buf);
    assert_int_equal(sa_record_not_before_decode(buf, sizeof buf, &nb, &err), SA_OK);
    assert_int_equal(nb, 1234567890123);
    assert_int_equal(sa_record_not_before_decode(buf, sizeof buf - 1, &nb, &err),
                     SA_ERR_UNAVAILABLE);
    buf[1] = SA_RECORD_META;
    assert_int_equal(sa_record_not_before_decode(buf, sizeof buf, &nb, &err), SA_ERR_UNAVAILABLE);
}

/* ---- adoption ---- */

static void test_adopt_then_grace_then_reuse(void **state)
{
    fixture *fx = *state;
    sa_session first, next, out, got;
    sa_jti_record known;
    sa_rotate_result result;
    sa_error err = {0};

    assert_int_equal(sa_store_jti_get(fx->store, JTI, &known, &err), SA_ERR_NOT_FOUND);
    first_session(&first, "s1", "u1", JTI, 100, 5000);
    next_token(&next, "n1", 200);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_ROTATED);
    assert_string_equal(out.sid, "s1");
    assert_string_equal(out.current_jti, "n1");
    assert_string_equal(out.previous_jti, JTI);
    assert_int_equal(out.replaced_at, 200);
    assert_int_equal(sa_store_session_get(fx->store, "s1", &got, &err), SA_OK);
    assert_memory_equal(&got, &out, sizeof out);
    assert_int_equal(sa_store_jti_get(fx->store, JTI, &known, &err), SA_OK);
    assert_string_equal(known.sid, "s1");
    assert_int_equal(known.expires_at, 5000);
    assert_false(known.revoked);

    /* The same token again, another would-be session: within grace, the first's successor. */
    first_session(&first, "s2", "u1", JTI, 100, 5000);
    next_token(&next, "n2", 220);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 220, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_GRACE);
    assert_string_equal(out.sid, "s1");
    assert_string_equal(out.current_jti, "n1");
    assert_int_equal(session_count(fx->store), 1);

    /* Another user's token cannot claim the session, and changes nothing. */
    first_session(&first, "s3", "u2", JTI, 100, 5000);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 225, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_REVOKED);
    assert_int_equal(sa_store_session_get(fx->store, "s1", &got, &err), SA_OK);
    assert_false(got.revoked);

    /* Past grace: reuse, the session is revoked; and from then on, revoked. */
    first_session(&first, "s4", "u1", JTI, 100, 5000);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 231, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_REUSE);
    assert_true(out.revoked);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 232, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_REVOKED);
    assert_int_equal(session_count(fx->store), 1);
    assert_int_equal(jti_count(fx->store), 1);

    /* A purged session leaves its jti spent. */
    size_t purged = 0;
    assert_int_equal(sa_store_session_purge(fx->store, 100000, 0, 10, &purged, &err), SA_OK);
    assert_int_equal(purged, 1);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 240, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_REVOKED);
    assert_int_equal(session_count(fx->store), 0);
}

static void test_adopt_without_rotation(void **state)
{
    fixture *fx = *state;
    sa_session first, out;
    sa_rotate_result result;
    sa_error err = {0};

    first_session(&first, "s1", "u1", JTI, 100, 5000);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, NULL, 200, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_KEPT);
    assert_string_equal(out.current_jti, JTI);
    first_session(&first, "s2", "u1", JTI, 100, 5000);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, NULL, 9000, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_KEPT);   /* no rotation: every use is the same token */
    assert_string_equal(out.sid, "s1");
    assert_int_equal(sa_store_session_revoke(fx->store, "s1", &err), SA_OK);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, NULL, 9001, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_REVOKED);
    assert_int_equal(session_count(fx->store), 1);
}

static void test_adopt_invalid(void **state)
{
    fixture *fx = *state;
    sa_session first, next, out;
    sa_rotate_result result;
    sa_error err = {0};

    first_session(&first, "s1", "u1", "", 100, 5000);
    next_token(&next, "n1", 200);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_ERR_INVALID);
    first_session(&first, "", "u1", JTI, 100, 5000);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_ERR_INVALID);
    first_session(&first, "s1", "", JTI, 100, 5000);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_ERR_INVALID);
    first_session(&first, "s1", "u1", JTI, 100, 5000);
    memset(next.current_jti, 'j', sizeof next.current_jti);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_ERR_INVALID);
    /* nothing was written */
    assert_int_equal(session_count(fx->store), 0);
    assert_int_equal(jti_count(fx->store), 0);
    assert_int_equal(sa_store_jti_revoke(fx->store, "", 10, &err), SA_ERR_INVALID);
    assert_int_equal(sa_store_jti_get(fx->store, "", NULL, &err), SA_ERR_NOT_FOUND);
}

#define ADOPT_CHILDREN 8

/* Concurrent first refreshes of one token in separate processes make exactly one session:
 * one child adopts and rotates, the others get its grace answer. */
static void test_adopt_concurrent(void **state)
{
    fixture *fx = *state;
    pid_t pids[ADOPT_CHILDREN];
    int gate[2];
    sa_error err = {0};
    int rotated = 0, grace = 0;

    sa_store_close(fx->store);
    fx->store = NULL;
    assert_int_equal(pipe(gate), 0);
    for (int i = 0; i < ADOPT_CHILDREN; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            sa_store *s = NULL;
            sa_session first, next, out;
            sa_rotate_result result;
            sa_error cerr = {0};
            char c, sid[8], jti[8];

            close(gate[1]);
            if (read(gate[0], &c, 1) < 0)
                _exit(10);
            if (sa_store_open(&s, fx->home, SA_STORE_SERVE, &cerr) != SA_OK)
                _exit(11);
            snprintf(sid, sizeof sid, "s%d", i);
            snprintf(jti, sizeof jti, "n%d", i);
            first_session(&first, sid, "u1", JTI, 100, 5000);
            next_token(&next, jti, 200);
            int code = 12;
            if (sa_store_session_adopt(s, &first, &next, 200, 30, &out, &result, &cerr) == SA_OK)
                code = result == SA_ROTATE_ROTATED ? 0 : result == SA_ROTATE_GRACE ? 1 : 13;
            else
                fprintf(stderr, "child %d: %s\n", i, cerr.msg);
            sa_store_close(s);
            _exit(code);
        }
    }
    close(gate[0]);
    close(gate[1]);
    for (int i = 0; i < ADOPT_CHILDREN; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_true(WEXITSTATUS(status) <= 1);
        rotated += WEXITSTATUS(status) == 0;
        grace += WEXITSTATUS(status) == 1;
    }
    assert_int_equal(rotated, 1);
    assert_int_equal(grace, ADOPT_CHILDREN - 1);
    assert_int_equal(sa_store_open(&fx->store, fx->home, SA_STORE_SERVE, &err), SA_OK);
    assert_int_equal(session_count(fx->store), 1);
    assert_int_equal(jti_count(fx->store), 1);
}

/* ---- logout by jti, not-before ---- */

static void test_jti_revoke(void **state)
{
    fixture *fx = *state;
    sa_session first, next, out, got;
    sa_jti_record known;
    sa_rotate_result result;
    sa_error err = {0};

    /* Never used: remembered as revoked until its exp; adopting it then is refused. */
    assert_int_equal(sa_store_jti_revoke(fx->store, JTI, 5000, &err), SA_OK);
    assert_int_equal(sa_store_jti_get(fx->store, JTI, &known, &err), SA_OK);
    assert_true(known.revoked);
    assert_string_equal(known.sid, "");
    assert_int_equal(known.expires_at, 5000);
    assert_int_equal(sa_store_jti_revoke(fx->store, JTI, 5000, &err), SA_OK);   /* again: OK */
    first_session(&first, "s1", "u1", JTI, 100, 5000);
    next_token(&next, "n1", 200);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_REVOKED);
    assert_int_equal(session_count(fx->store), 0);

    /* Adopted: logging out by jti revokes its session. */
    first_session(&first, "s2", "u1", "other-jti", 100, 5000);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(sa_store_jti_revoke(fx->store, "other-jti", 5000, &err), SA_OK);
    assert_int_equal(sa_store_session_get(fx->store, "s2", &got, &err), SA_OK);
    assert_true(got.revoked);

    /* Expired jtis are purged, oldest first, bounded. */
    assert_int_equal(sa_store_jti_revoke(fx->store, "early", 10, &err), SA_OK);
    assert_int_equal(sa_store_jti_revoke(fx->store, "middle", 20, &err), SA_OK);
    assert_int_equal(jti_count(fx->store), 4);
    size_t purged = 0;
    assert_int_equal(sa_store_jti_purge(fx->store, 25, 0, 1, &purged, &err), SA_OK);
    assert_int_equal(purged, 1);
    assert_int_equal(sa_store_jti_get(fx->store, "early", &known, &err), SA_ERR_NOT_FOUND);
    assert_int_equal(sa_store_jti_purge(fx->store, 25, 0, 10, &purged, &err), SA_OK);
    assert_int_equal(purged, 1);
    assert_int_equal(sa_store_jti_purge(fx->store, 25, 0, 10, &purged, &err), SA_OK);
    assert_int_equal(purged, 0);
    assert_int_equal(sa_store_jti_purge(fx->store, 5000, 0, 10, &purged, &err), SA_OK);
    assert_int_equal(purged, 0);   /* strictly before now */
    assert_int_equal(jti_count(fx->store), 2);
    /* With leeway the token is accepted until exp + leeway: its jti is kept until then. */
    assert_int_equal(sa_store_jti_purge(fx->store, 5060, 60, 10, &purged, &err), SA_OK);
    assert_int_equal(purged, 0);
    assert_int_equal(sa_store_jti_get(fx->store, JTI, &known, &err), SA_OK);
    assert_int_equal(sa_store_jti_purge(fx->store, 5061, 60, 10, &purged, &err), SA_OK);
    assert_int_equal(purged, 2);
    assert_int_equal(jti_count(fx->store), 0);
}

/* Review F2: adoption reads the not-before time in its own transaction, so a global logout
 * that committed between a caller's check and the adoption still refuses the token. */
static void test_adopt_refused_after_global_logout(void **state)
{
    fixture *fx = *state;
    sa_session first, next, out;
    sa_rotate_result result = SA_ROTATE_ROTATED;
    sa_error err = {0};

    assert_int_equal(sa_store_session_revoke_all(fx->store, "u1", 150, &err), SA_OK);
    next_token(&next, "n1", 200);
    first_session(&first, "s1", "u1", "before", 149, 5000);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_REVOKED);
    first_session(&first, "s2", "u1", "same-second", 150, 5000);
    result = SA_ROTATE_ROTATED;
    assert_int_equal(sa_store_session_adopt(fx->store, &first, NULL, 200, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_REVOKED);
    first_session(&first, "s3", "u1", "no-iat", 0, 5000);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_REVOKED);
    assert_int_equal(session_count(fx->store), 0);   /* nothing written */
    assert_int_equal(jti_count(fx->store), 0);

    /* Issued after it: adopted; another user's not-before does not matter. */
    first_session(&first, "s4", "u1", "after", 151, 5000);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_ROTATED);
    first_session(&first, "s5", "u2", "other-user", 100, 5000);
    next_token(&next, "n2", 200);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_OK);
    assert_int_equal(result, SA_ROTATE_ROTATED);
    assert_int_equal(session_count(fx->store), 2);
}

static void test_revoke_all_sets_not_before(void **state)
{
    fixture *fx = *state;
    sa_session s, got;
    sa_error err = {0};
    int64_t nb = -1;

    assert_int_equal(sa_store_not_before_get(fx->store, "u1", &nb, &err), SA_OK);
    assert_int_equal(nb, 0);
    first_session(&s, "s1", "u1", "j1", 100, 5000);
    assert_int_equal(sa_store_session_create(fx->store, &s, &err), SA_OK);
    first_session(&s, "s2", "u2", "j2", 100, 5000);
    assert_int_equal(sa_store_session_create(fx->store, &s, &err), SA_OK);

    assert_int_equal(sa_store_session_revoke_all(fx->store, "u1", 300, &err), SA_OK);
    assert_int_equal(sa_store_session_get(fx->store, "s1", &got, &err), SA_OK);
    assert_true(got.revoked);
    assert_int_equal(sa_store_session_get(fx->store, "s2", &got, &err), SA_OK);
    assert_false(got.revoked);
    assert_int_equal(sa_store_not_before_get(fx->store, "u1", &nb, &err), SA_OK);
    assert_int_equal(nb, 300);
    assert_int_equal(sa_store_not_before_get(fx->store, "u2", &nb, &err), SA_OK);
    assert_int_equal(nb, 0);
    /* raised, never lowered; a user without sessions gets one too */
    assert_int_equal(sa_store_session_revoke_all(fx->store, "u1", 200, &err), SA_OK);
    assert_int_equal(sa_store_not_before_get(fx->store, "u1", &nb, &err), SA_OK);
    assert_int_equal(nb, 300);
    assert_int_equal(sa_store_session_revoke_all(fx->store, "nobody", 400, &err), SA_OK);
    assert_int_equal(sa_store_not_before_get(fx->store, "nobody", &nb, &err), SA_OK);
    assert_int_equal(nb, 400);
    assert_int_equal(sa_store_session_revoke_all(fx->store, "", 400, &err), SA_ERR_INVALID);
}

/* ---- the decision layer (session.c) ---- */

static void test_standing(void **state)
{
    fixture *fx = *state;
    sa_config cfg;
    sa_claims c;
    sa_session first, next, out;
    sa_rotate_result result;
    sa_error err = {0};

    sa_config_defaults(&cfg);
    cfg.reuse_grace = 30;
    cfg.rotate_refresh_tokens = true;

    /* A token without sid never used: unadopted; its access tokens live. */
    claims_of(&c, SA_TOKEN_REFRESH, "u1", JTI, "", 100);
    assert_int_equal(standing_of(fx->store, &cfg, &c, 150, true), SA_STANDING_UNADOPTED);
    claims_of(&c, SA_TOKEN_ACCESS, "u1", "a1", "", 100);
    assert_int_equal(standing_of(fx->store, &cfg, &c, 150, true), SA_STANDING_LIVE);

    /* Adopted and rotated at 200: the token now stands as its session's replaced one. */
    first_session(&first, "s1", "u1", JTI, 100, 5000);
    next_token(&next, "n1", 200);
    assert_int_equal(sa_store_session_adopt(fx->store, &first, &next, 200, 30, &out, &result,
                                            &err), SA_OK);
    claims_of(&c, SA_TOKEN_REFRESH, "u1", JTI, "", 100);
    assert_int_equal(standing_of(fx->store, &cfg, &c, 220, true), SA_STANDING_LIVE);
    assert_string_equal(c.sid, "s1");
    claims_of(&c, SA_TOKEN_REFRESH, "u1", JTI, "", 100);
    assert_int_equal(standing_of(fx->store, &cfg, &c, 231, true), SA_STANDING_RETIRED);
    claims_of(&c, SA_TOKEN_REFRESH, "u1", JTI, "", 100);
    assert_int_equal(standing_of(fx->store, &cfg, &c, 231, false), SA_STANDING_LIVE);
    claims_of(&c, SA_TOKEN_REFRESH, "u1", "n1", "s1", 200);
    assert_int_equal(standing_of(fx->store, &cfg, &c, 231, true), SA_STANDING_LIVE);
    cfg.rotate_refresh_tokens = false;   /* without rotation nothing is retired */
    claims_of(&c, SA_TOKEN_REFRESH, "u1", JTI, "", 100);
    assert_int_equal(standing_of(fx->store, &cfg, &c, 231, true), SA_STANDING_LIVE);
    cfg.rotate_refresh_tokens = true;
    /* Judging wrote nothing: a refresh with the current token still rotates. */
    assert_int_equal(sa_store_session_get(fx->store, "s1", &out, &err), SA_OK);
    assert_false(out.revoked);
    assert_string_equal(out.current_jti, "n1");
    /* The same jti in another user's token does not reach the session. */
    claims_of(&c, SA_TOKEN_REFRESH, "u2", JTI, "", 100);
    assert_int_equal(standing_of(fx->store, &cfg, &c, 220, true), SA_STANDING_REVOKED);

    /* Logged out unused: revoked. A session that is gone: revoked. */
    assert_int_equal(sa_store_jti_revoke(fx->store, "j2", 5000, &err), SA_OK);
    claims_of(&c, SA_TOKEN_REFRESH, "u1", "j2", "", 100);
    assert_int_equal(standing_of(fx->store, &cfg, &c, 150, true), SA_STANDING_REVOKED);
    claims_of(&c, SA_TOKEN_ACCESS, "u1", "a2", "ffff", 100);
    assert_int_equal(standing_of(fx->store, &cfg, &c, 150, true), SA_STANDING_REVOKED);

    /* Global logout at 300: tokens without sid issued at or before it are refused, later
     * ones live. */
    assert_int_equal(sa_store_session_revoke_all(fx->store, "u1", 300, &err), SA_OK);
    for (int64_t iat = 299; iat <= 301; iat++) {
        sa_standing want = iat <= 300 ? SA_STANDING_REVOKED : SA_STANDING_LIVE;
        claims_of(&c, SA_TOKEN_ACCESS, "u1", "a3", "", iat);
        assert_int_equal(standing_of(fx->store, &cfg, &c, 302, true), want);
        claims_of(&c, SA_TOKEN_REFRESH, "u1", "fresh", "", iat);
        assert_int_equal(standing_of(fx->store, &cfg, &c, 302, true),
                         iat <= 300 ? SA_STANDING_REVOKED : SA_STANDING_UNADOPTED);
    }
    claims_of(&c, SA_TOKEN_ACCESS, "u1", "a4", "", 0);   /* no iat: counts as 0 */
    assert_int_equal(standing_of(fx->store, &cfg, &c, 302, true), SA_STANDING_REVOKED);
    claims_of(&c, SA_TOKEN_ACCESS, "u1", "a5", "s1", 100);   /* ours: through the session */
    assert_int_equal(standing_of(fx->store, &cfg, &c, 302, true), SA_STANDING_REVOKED);
    sa_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records),
        cmocka_unit_test_setup_teardown(test_adopt_then_grace_then_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_without_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jti_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopt_refused_after_global_logout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_all_sets_not_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_standing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
