/* Unit tests for the node protocol (lib/store/store_wire.c, lib/store/store_remote.c's framing) and the
 * several-nodes settings (lib/config/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "store/store.h"
#include "store/store_remote.h"
#include "store/store_wire.h"

static void test_fields_round_trip(void **state)
{
    sa_wire w = {0};
    sa_wire_u8(&w, 7);
    sa_wire_u32(&w, 0xdeadbeefu);
    sa_wire_i64(&w, -5);
    sa_wire_str(&w, "hello");
    sa_wire_str(&w, NULL);
    assert_false(w.oom);
    sa_wire_in in = {w.data, w.len, false};
    char s[8];
    assert_int_equal(sa_wire_get_u8(&in), 7);
    assert_int_equal(sa_wire_get_u32(&in), 0xdeadbeefu);
    assert_int_equal(sa_wire_get_i64(&in), -5);
    sa_wire_get_str(&in, s, sizeof s);
    assert_string_equal(s, "hello");
    sa_wire_get_str(&in, s, sizeof s);
    assert_string_equal(s, "");
    assert_false(in.bad);
    assert_int_equal(in.left, 0);
    /* Reading past the end marks the reader bad and yields zeros. */
    assert_int_equal(sa_wire_get_u32(&in), 0);
    assert_true(in.bad);
    sa_wire_free(&w);
}

static void test_str_bounds(void **state)
{
    sa_wire w = {0};
    sa_wire_str(&w, "toolong");
    sa_wire_bytes(&w, "a\0b", 3);
    sa_wire_in in = {w.data, w.len, false};
    char s[4];
    sa_wire_get_str(&in, s, sizeof s);   /* 7 bytes do not fit 3 + NUL */
    assert_true(in.bad);
    sa_wire_in in2 = {w.data + 11, w.len - 11, false};
    sa_wire_get_str(&in2, s, sizeof s);  /* a NUL inside a string is refused */
    assert_true(in2.bad);
    /* A length larger than what is left. */
    unsigned char lie[] = {0, 0, 1, 0, 'x'};
    sa_wire_in in3 = {lie, sizeof lie, false};
    size_t len;
    assert_null(sa_wire_get_bytes(&in3, &len));
    assert_true(in3.bad);
    sa_wire_free(&w);
}

static void test_user_and_session_round_trip(void **state)
{
    sa_user u = {0}, back = {0};
    snprintf(u.id, sizeof u.id, "%s", "7b0c");
    snprintf(u.username, sizeof u.username, "%s", "ada");
    snprintf(u.email, sizeof u.email, "%s", "Ada@Example.com");
    u.is_active = true;
    u.date_joined = 1700000000;
    snprintf(u.google_sub, sizeof u.google_sub, "%s", "1001");
    u.google_extra = strdup("{\"hd\":\"example.com\"}");
    sa_session s = {0}, sback;
    snprintf(s.sid, sizeof s.sid, "%s", "0123456789abcdef0123456789abcdef");
    snprintf(s.user_id, sizeof s.user_id, "%s", "7b0c");
    snprintf(s.current_jti, sizeof s.current_jti, "%s", "j1");
    s.expires_at = 42;
    s.revoked = true;
    sa_wire w = {0};
    sa_error err = {0};
    assert_int_equal(sa_wire_user(&w, &u, &err), SA_OK);
    assert_int_equal(sa_wire_session(&w, &s, &err), SA_OK);
    sa_wire_in in = {w.data, w.len, false};
    assert_int_equal(sa_wire_get_user(&in, &back, &err), SA_OK);
    assert_int_equal(sa_wire_get_session(&in, &sback, &err), SA_OK);
    assert_string_equal(back.id, "7b0c");
    assert_string_equal(back.email, "Ada@Example.com");
    assert_string_equal(back.google_extra, u.google_extra);
    assert_true(back.is_active);
    assert_string_equal(sback.sid, s.sid);
    assert_int_equal(sback.expires_at, 42);
    assert_true(sback.revoked);
    /* A truncated record is refused as a whole. */
    sa_wire_in cut = {w.data, w.len / 3, false};
    sa_user bad = {0};
    assert_int_equal(sa_wire_get_user(&cut, &bad, &err), SA_ERR_UNAVAILABLE);
    sa_user_clear(&bad);
    sa_user_clear(&u);
    sa_user_clear(&back);
    sa_wire_free(&w);
}

static void test_framing(void **state)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    unsigned char *got;
    size_t len;
    assert_int_equal(sa_wire_send(sv[0], (const unsigned char *)"abc", 3), 0);
    assert_int_equal(sa_wire_recv(sv[1], 16, &got, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(got, "abc", 3);
    free(got);
    /* Longer than the reader's bound: refused before allocating. */
    assert_int_equal(sa_wire_send(sv[0], (const unsigned char *)"0123456789", 10), 0);
    assert_int_equal(sa_wire_recv(sv[1], 4, &got, &len), -1);
    assert_null(got);
    close(sv[0]);
    close(sv[1]);
}

static void test_writes_are_the_store_changing_ops(void **state)
{
    assert_true(sa_wire_op_writes(SA_OP_GOOGLE_LOGIN));
    assert_true(sa_wire_op_writes(SA_OP_SESSION_ROTATE));
    assert_true(sa_wire_op_writes(SA_OP_KEYS_CLAIM));
    assert_false(sa_wire_op_writes(SA_OP_USER_GET));
    assert_false(sa_wire_op_writes(SA_OP_SESSION_GET));
    assert_false(sa_wire_op_writes(SA_OP_STATUS));
    /* Imports and their flush run on the master; the variants report reads here. */
    assert_true(sa_wire_op_writes(SA_OP_USER_IMPORT));
    assert_true(sa_wire_op_writes(SA_OP_FLUSH));
    assert_false(sa_wire_op_writes(SA_OP_USERNAME_VARIANTS));
    assert_false(sa_wire_op_writes(SA_OP_LSN));
}

/* The remote backend with no node listening: every call is unavailable, nothing crashes. */
static void test_remote_without_node_is_unavailable(void **state)
{
    sa_store *store;
    sa_error err = {0};
    sa_user u = {0};
    assert_int_equal(sa_store_remote_open(&store, "/nonexistent/node.sock", &err), SA_OK);
    assert_int_equal(sa_store_ping(store, &err), SA_ERR_UNAVAILABLE);
    assert_int_equal(sa_store_user_get(store, SA_BY_ID, "x", &u, &err), SA_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "node"));
    size_t purged = 9;
    assert_int_equal(sa_store_session_purge(store, 0, 0, 10, &purged, &err), SA_OK);
    assert_int_equal(purged, 0);
    sa_store_close(store);
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    assert_int_equal(sa_store_remote_open(&store, longpath, &err), SA_ERR_INVALID);
}

static void test_settings(void **state)
{
    sa_config cfg;
    sa_error err = {0};
    const char *text = "store_backend = node\nrep_local = 10.0.0.1:7016\n"
                       "rep_sites = 10.0.0.2:7016 10.0.0.3:7016\nrep_priority = 0\n";
    sa_config_defaults(&cfg);
    assert_false(cfg.store_node);
    assert_int_equal(cfg.rep_priority, 100);
    assert_int_equal(sa_config_parse(&cfg, text, strlen(text), "t", &err), SA_OK);
    assert_true(cfg.store_node);
    assert_string_equal(cfg.rep_local, "10.0.0.1:7016");
    assert_int_equal(cfg.rep_sites.n, 2);
    assert_int_equal(cfg.rep_priority, 0);
    assert_int_equal(cfg.rep_read_wait, 5);
    sa_config_free(&cfg);
    sa_config_defaults(&cfg);
    const char *wait = "rep_read_wait = 0\n";
    assert_int_equal(sa_config_parse(&cfg, wait, strlen(wait), "t", &err), SA_OK);
    assert_int_equal(cfg.rep_read_wait, 0);
    const char *long_wait = "rep_read_wait = 11\n";
    assert_int_equal(sa_config_parse(&cfg, long_wait, strlen(long_wait), "t", &err),
                     SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "rep_read_wait"));
    sa_config_free(&cfg);
    sa_config_defaults(&cfg);
    const char *bad = "store_backend = cluster\n";
    assert_int_equal(sa_config_parse(&cfg, bad, strlen(bad), "t", &err), SA_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "store_backend"));
    sa_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_round_trip),
        cmocka_unit_test(test_str_bounds),
        cmocka_unit_test(test_user_and_session_round_trip),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_writes_are_the_store_changing_ops),
        cmocka_unit_test(test_remote_without_node_is_unavailable),
        cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
