/* store_remote.c: store.h's calls sent to `socialauth node` over its UNIX socket (the client
 * half of store_wire.h; store_exec.c runs them on the node). One connection per process,
 * opened at the first call and again after any failure; one request at a time.
 *
 * Security: the socket is the node's and only as open as its mode (0660): whoever can
 * connect can read and write the whole store, as whoever can open db_home can. */
#include "store/store_remote.h"
#include "store/store_internal.h"
#include "store/store_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define REMOTE_TIMEOUT_S 20   /* longer than the node's own bound on a forwarded write */

struct sa_store_remote {
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

sa_status sa_store_remote_open(sa_store **out, const char *socket_path, sa_error *err)
{
    *out = NULL;
    if (!socket_path || !socket_path[0] ||
        strlen(socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return SA_FAIL(err, SA_ERR_INVALID, "store: node_socket is empty or too long");
    sa_store *store = calloc(1, sizeof *store);
    struct sa_store_remote *r = calloc(1, sizeof *r);
    if (!store || !r) {
        free(store);
        free(r);
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: out of memory");
    }
    r->fd = -1;
    memcpy(r->path, socket_path, strlen(socket_path) + 1);
    store->remote = r;
    store->users_fd = -1;
    *out = store;
    return SA_OK;
}

void sa_store_remote_close(sa_store *store)
{
    if (store->remote->fd >= 0)
        close(store->remote->fd);
    free(store->remote);
    free(store);
}

static sa_status remote_down(struct sa_store_remote *r, sa_error *err, const char *what)
{
    int e = errno;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: node %s (%s): %s", what, r->path,
                   strerror(e));
}

static sa_status remote_connect(struct sa_store_remote *r, sa_error *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct timeval tv = {REMOTE_TIMEOUT_S, 0};
    memcpy(addr.sun_path, r->path, strlen(r->path) + 1);
    r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (r->fd < 0)
        return remote_down(r, err, "socket");
    if (setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(r->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(r->fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        return remote_down(r, err, "unreachable");
    return SA_OK;
}

/* One request (req) and its answer: the answer's header is checked and its status returned
 * (err->msg the node's message when not SA_OK); *in reads the op's results from *buf (the
 * caller frees it). */
static sa_status remote_call(sa_store *store, sa_wire *req, unsigned char **buf,
                             sa_wire_in *in, sa_error *err)
{
    struct sa_store_remote *r = store->remote;
    size_t len;
    char msg[sizeof err->msg];

    *buf = NULL;
    if (req->oom) {
        sa_wire_free(req);
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: request too large or out of memory");
    }
    sa_status st = r->fd >= 0 ? SA_OK : remote_connect(r, err);
    if (st == SA_OK && sa_wire_send(r->fd, req->data, req->len) != 0)
        st = remote_down(r, err, "send");
    if (st == SA_OK && sa_wire_recv(r->fd, SA_WIRE_MAX, buf, &len) != 0)
        st = remote_down(r, err, "answer");
    sa_wire_free(req);
    if (st != SA_OK)
        return st;
    *in = (sa_wire_in){*buf, len, false};
    unsigned status = sa_wire_get_u8(in);
    (void)sa_wire_get_u8(in);                 /* durable: a non-durable write is not SA_OK */
    /* The commit token: the node itself waits for the master's position when a read misses
     * (store_rep.c, rep_catch_up), so a program needs none of its own. */
    size_t tlen = SA_WIRE_TOKEN;
    in->p += in->left >= tlen ? tlen : 0;
    in->left -= in->left >= tlen ? tlen : 0;
    sa_wire_get_str(in, msg, sizeof msg);
    if (in->bad || status > SA_ERR_CONFIG) {
        free(*buf);
        *buf = NULL;
        errno = EPROTO;
        return remote_down(r, err, "answer");
    }
    if (status != SA_OK)
        return SA_FAIL(err, (sa_status)status, "%s", msg);
    return SA_OK;
}

/* A call whose results are nothing. */
static sa_status remote_simple(sa_store *store, sa_wire *req, sa_error *err);

/* remote_simple() once building req went well (encoded is SA_OK), else that failure. */
static sa_status remote_simple_if(sa_store *store, sa_wire *req, sa_status encoded,
                                  sa_error *err)
{
    if (encoded != SA_OK) {
        sa_wire_free(req);
        return encoded;
    }
    return remote_simple(store, req, err);
}

static sa_status remote_simple(sa_store *store, sa_wire *req, sa_error *err)
{
    unsigned char *buf;
    sa_wire_in in;
    sa_status st = remote_call(store, req, &buf, &in, err);
    free(buf);
    return st;
}

static sa_status remote_bad(unsigned char *buf, sa_error *err)
{
    free(buf);
    return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: node answered a malformed message");
}

sa_status sa_store_remote_ping(sa_store *store, sa_error *err)
{
    sa_wire req = {0};
    sa_wire_u8(&req, SA_OP_PING);
    return remote_simple(store, &req, err);
}

sa_status sa_store_remote_user_get(sa_store *store, sa_user_key by, const char *key,
                                   sa_user *out, sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    sa_wire_u8(&req, SA_OP_USER_GET);
    sa_wire_u8(&req, by);
    sa_wire_str(&req, key);
    sa_status st = remote_call(store, &req, &buf, &in, err);
    if (st == SA_OK && sa_wire_get_user(&in, out, err) != SA_OK)
        return remote_bad(buf, err);
    free(buf);
    return st;
}

/* USER_CREATE, USER_UPDATE and USER_IMPORT: send user; a creation's answer is the user as
 * stored (into *back), an import's whether it created (into *created). */
static sa_status remote_user_put(sa_store *store, unsigned op, const sa_user *user,
                                 sa_user *back, bool *created, sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    sa_wire_u8(&req, op);
    sa_status st = sa_wire_user(&req, user, err);
    if (st != SA_OK) {
        sa_wire_free(&req);
        return st;
    }
    st = remote_call(store, &req, &buf, &in, err);
    if (st == SA_OK && back) {
        sa_user got = {0};
        if (sa_wire_get_user(&in, &got, err) != SA_OK)
            return remote_bad(buf, err);
        sa_user_clear(back);
        *back = got;
    }
    if (st == SA_OK && created) {
        unsigned c = sa_wire_get_u8(&in);
        if (in.bad)
            return remote_bad(buf, err);
        *created = c != 0;
    }
    free(buf);
    return st;
}

sa_status sa_store_remote_user_create(sa_store *store, sa_user *user, sa_error *err)
{
    return remote_user_put(store, SA_OP_USER_CREATE, user, user, NULL, err);
}

sa_status sa_store_remote_user_update(sa_store *store, const sa_user *user, sa_error *err)
{
    return remote_user_put(store, SA_OP_USER_UPDATE, user, NULL, NULL, err);
}

/* An op whose only argument is one string. */
static sa_status remote_str_op(sa_store *store, unsigned op, const char *arg, sa_error *err)
{
    sa_wire req = {0};
    sa_wire_u8(&req, op);
    sa_wire_str(&req, arg);
    return remote_simple(store, &req, err);
}

sa_status sa_store_remote_user_delete(sa_store *store, const char *id, sa_error *err)
{
    return remote_str_op(store, SA_OP_USER_DELETE, id, err);
}

sa_status sa_store_remote_user_each(sa_store *store, sa_user_visit_fn fn, void *ctx,
                                    sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    sa_wire_u8(&req, SA_OP_USER_EACH);
    sa_status st = remote_call(store, &req, &buf, &in, err);
    while (st == SA_OK && sa_wire_get_u8(&in) == 1) {
        sa_user u = {0};
        if (sa_wire_get_user(&in, &u, err) != SA_OK)
            return remote_bad(buf, err);
        int stop = fn(&u, ctx);
        sa_user_clear(&u);
        if (stop)
            break;
    }
    if (st == SA_OK && in.bad)
        return remote_bad(buf, err);
    free(buf);
    return st;
}

sa_status sa_store_remote_google_login(sa_store *store, const sa_user *candidate,
                                       bool link_email, int64_t now, sa_session *session,
                                       sa_user *out, sa_login_outcome *outcome, sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    sa_wire_u8(&req, SA_OP_GOOGLE_LOGIN);
    sa_status st = sa_wire_user(&req, candidate, err);
    sa_wire_u8(&req, link_email);
    sa_wire_i64(&req, now);
    sa_wire_u8(&req, session != NULL);
    if (st == SA_OK && session)
        st = sa_wire_session(&req, session, err);
    if (st != SA_OK) {
        sa_wire_free(&req);
        return st;
    }
    st = remote_call(store, &req, &buf, &in, err);
    if (!buf)
        return st;
    unsigned oc = sa_wire_get_u8(&in);
    if (!in.bad && oc <= SA_LOGIN_EMAIL_TAKEN)
        *outcome = (sa_login_outcome)oc;
    if (st == SA_OK && (sa_wire_get_user(&in, out, err) != SA_OK ||
                        (session && sa_wire_get_session(&in, session, err) != SA_OK)))
        return remote_bad(buf, err);
    free(buf);
    return st;
}

sa_status sa_store_remote_session_create(sa_store *store, const sa_session *session,
                                         sa_error *err)
{
    sa_wire req = {0};
    sa_wire_u8(&req, SA_OP_SESSION_CREATE);
    return remote_simple_if(store, &req, sa_wire_session(&req, session, err), err);
}

sa_status sa_store_remote_session_get(sa_store *store, const char *sid, sa_session *out,
                                      sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    sa_wire_u8(&req, SA_OP_SESSION_GET);
    sa_wire_str(&req, sid);
    sa_status st = remote_call(store, &req, &buf, &in, err);
    if (st == SA_OK && sa_wire_get_session(&in, out, err) != SA_OK)
        return remote_bad(buf, err);
    free(buf);
    return st;
}

sa_status sa_store_remote_session_rotate(sa_store *store, const char *sid,
                                         const char *presented_jti, const sa_session *next,
                                         int64_t now, int64_t grace, sa_session *out,
                                         sa_rotate_result *result, sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    sa_wire_u8(&req, SA_OP_SESSION_ROTATE);
    sa_wire_str(&req, sid);
    sa_wire_str(&req, presented_jti);
    sa_status st = sa_wire_session(&req, next, err);
    sa_wire_i64(&req, now);
    sa_wire_i64(&req, grace);
    if (st != SA_OK) {
        sa_wire_free(&req);
        return st;
    }
    st = remote_call(store, &req, &buf, &in, err);
    if (st == SA_OK) {
        unsigned res = sa_wire_get_u8(&in);
        if (res > SA_ROTATE_REVOKED || sa_wire_get_session(&in, out, err) != SA_OK)
            return remote_bad(buf, err);
        *result = (sa_rotate_result)res;
    }
    free(buf);
    return st;
}

sa_status sa_store_remote_session_revoke(sa_store *store, const char *sid, sa_error *err)
{
    return remote_str_op(store, SA_OP_SESSION_REVOKE, sid, err);
}

sa_status sa_store_remote_session_revoke_user(sa_store *store, const char *user_id,
                                              const char *except_sid, sa_error *err)
{
    sa_wire req = {0};
    sa_wire_u8(&req, SA_OP_SESSION_REVOKE_USER);
    sa_wire_str(&req, user_id);
    sa_wire_u8(&req, except_sid != NULL);
    if (except_sid)
        sa_wire_str(&req, except_sid);
    return remote_simple(store, &req, err);
}

sa_status sa_store_remote_session_each_of_user(sa_store *store, const char *user_id,
                                               sa_session_visit_fn fn, void *ctx,
                                               sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    sa_wire_u8(&req, SA_OP_SESSION_EACH_OF_USER);
    sa_wire_str(&req, user_id);
    sa_status st = remote_call(store, &req, &buf, &in, err);
    while (st == SA_OK && sa_wire_get_u8(&in) == 1) {
        sa_session s;
        if (sa_wire_get_session(&in, &s, err) != SA_OK)
            return remote_bad(buf, err);
        if (fn(&s, ctx))
            break;
    }
    if (st == SA_OK && in.bad)
        return remote_bad(buf, err);
    free(buf);
    return st;
}

/* An op whose result is one i64 (*out untouched unless SA_OK). */
static sa_status remote_i64(sa_store *store, sa_wire *req, int64_t *out, sa_error *err)
{
    unsigned char *buf;
    sa_wire_in in;
    sa_status st = remote_call(store, req, &buf, &in, err);
    if (st == SA_OK) {
        int64_t n = sa_wire_get_i64(&in);
        if (in.bad)
            return remote_bad(buf, err);
        *out = n;
    }
    free(buf);
    return st;
}

/* COUNT ops: a non-negative i64 into *count. */
static sa_status remote_count(sa_store *store, unsigned op, size_t *count, sa_error *err)
{
    sa_wire req = {0};
    int64_t n = 0;
    sa_wire_u8(&req, op);
    sa_status st = remote_i64(store, &req, &n, err);
    if (st == SA_OK && n < 0)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: node answered a malformed message");
    if (st == SA_OK)
        *count = (size_t)n;
    return st;
}

sa_status sa_store_remote_session_count(sa_store *store, size_t *count, sa_error *err)
{
    return remote_count(store, SA_OP_SESSION_COUNT, count, err);
}

sa_status sa_store_remote_jti_count(sa_store *store, size_t *count, sa_error *err)
{
    return remote_count(store, SA_OP_JTI_COUNT, count, err);
}

sa_status sa_store_remote_not_before_get(sa_store *store, const char *user_id, int64_t *out,
                                         sa_error *err)
{
    sa_wire req = {0};
    *out = 0;
    sa_wire_u8(&req, SA_OP_NOT_BEFORE_GET);
    sa_wire_str(&req, user_id);
    return remote_i64(store, &req, out, err);
}

sa_status sa_store_remote_session_revoke_all(sa_store *store, const char *user_id, int64_t now,
                                             sa_error *err)
{
    sa_wire req = {0};
    sa_wire_u8(&req, SA_OP_SESSION_REVOKE_ALL);
    sa_wire_str(&req, user_id);
    sa_wire_i64(&req, now);
    return remote_simple(store, &req, err);
}

sa_status sa_store_remote_jti_revoke(sa_store *store, const char *jti, int64_t exp,
                                     sa_error *err)
{
    sa_wire req = {0};
    sa_wire_u8(&req, SA_OP_JTI_REVOKE);
    sa_wire_str(&req, jti);
    sa_wire_i64(&req, exp);
    return remote_simple(store, &req, err);
}

sa_status sa_store_remote_jti_get(sa_store *store, const char *jti, sa_jti_record *out,
                                  sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    sa_wire_u8(&req, SA_OP_JTI_GET);
    sa_wire_str(&req, jti);
    sa_status st = remote_call(store, &req, &buf, &in, err);
    if (st == SA_OK) {
        sa_jti_record j;
        sa_wire_get_str(&in, j.sid, sizeof j.sid);
        j.expires_at = sa_wire_get_i64(&in);
        j.revoked = sa_wire_get_u8(&in) != 0;
        if (in.bad)
            return remote_bad(buf, err);
        *out = j;
    }
    free(buf);
    return st;
}

sa_status sa_store_remote_session_adopt(sa_store *store, const sa_session *first,
                                        const sa_session *next, int64_t now, int64_t grace,
                                        sa_session *out, sa_rotate_result *result,
                                        sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    sa_wire_u8(&req, SA_OP_SESSION_ADOPT);
    sa_status st = sa_wire_session(&req, first, err);
    sa_wire_u8(&req, next != NULL);
    if (st == SA_OK && next)
        st = sa_wire_session(&req, next, err);
    sa_wire_i64(&req, now);
    sa_wire_i64(&req, grace);
    if (st != SA_OK) {
        sa_wire_free(&req);
        return st;
    }
    st = remote_call(store, &req, &buf, &in, err);
    if (st == SA_OK) {
        unsigned res = sa_wire_get_u8(&in);
        if (res > SA_ROTATE_KEPT || sa_wire_get_session(&in, out, err) != SA_OK)
            return remote_bad(buf, err);
        *result = (sa_rotate_result)res;
    }
    free(buf);
    return st;
}

sa_status sa_store_remote_google_keys_get(sa_store *store, sa_google_keys *out, sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    sa_wire_u8(&req, SA_OP_KEYS_GET);
    sa_status st = remote_call(store, &req, &buf, &in, err);
    if (st == SA_OK && sa_wire_get_keys(&in, out, err) != SA_OK)
        return remote_bad(buf, err);
    free(buf);
    return st;
}

sa_status sa_store_remote_google_keys_put(sa_store *store, const sa_google_keys *keys,
                                          sa_error *err)
{
    sa_wire req = {0};
    sa_wire_u8(&req, SA_OP_KEYS_PUT);
    return remote_simple_if(store, &req, sa_wire_keys(&req, keys, err), err);
}

sa_status sa_store_remote_google_keys_claim_refetch(sa_store *store, int64_t now,
                                                    int64_t interval, sa_error *err)
{
    sa_wire req = {0};
    sa_wire_u8(&req, SA_OP_KEYS_CLAIM);
    sa_wire_i64(&req, now);
    sa_wire_i64(&req, interval);
    return remote_simple(store, &req, err);
}

sa_status sa_store_remote_checkpoint(sa_store *store, sa_error *err)
{
    sa_wire req = {0};
    sa_wire_u8(&req, SA_OP_CHECKPOINT);
    return remote_simple(store, &req, err);
}

sa_status sa_store_remote_backup(sa_store *store, const char *dir, sa_error *err)
{
    return remote_str_op(store, SA_OP_BACKUP, dir, err);
}

sa_status sa_store_remote_status(sa_store *store, char **text, sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    size_t len;
    *text = NULL;
    sa_wire_u8(&req, SA_OP_STATUS);
    sa_status st = remote_call(store, &req, &buf, &in, err);
    if (st != SA_OK)
        return st;
    const unsigned char *p = sa_wire_get_bytes(&in, &len);
    if (in.bad || !(*text = malloc(len + 1)))
        return remote_bad(buf, err);
    memcpy(*text, p, len);
    (*text)[len] = '\0';
    free(buf);
    return SA_OK;
}

sa_status sa_store_remote_user_import(sa_store *store, const sa_user *user, bool *created,
                                      sa_error *err)
{
    return remote_user_put(store, SA_OP_USER_IMPORT, user, NULL, created, err);
}

sa_status sa_store_remote_flush(sa_store *store, sa_error *err)
{
    sa_wire req = {0};
    sa_wire_u8(&req, SA_OP_FLUSH);
    return remote_simple(store, &req, err);
}

sa_status sa_store_remote_username_variants(sa_store *store, sa_username_variant **out,
                                            size_t *count, sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    size_t n = 0, cap = 0;
    sa_username_variant *v = NULL;
    *out = NULL;
    *count = 0;
    sa_wire_u8(&req, SA_OP_USERNAME_VARIANTS);
    sa_status st = remote_call(store, &req, &buf, &in, err);
    if (st != SA_OK)
        return st;
    while (sa_wire_get_u8(&in) == 1) {
        if (n == cap) {
            sa_username_variant *more = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof *v);
            if (!more) {
                free(v);
                free(buf);
                return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: out of memory");
            }
            v = more;
        }
        sa_wire_get_str(&in, v[n].id, sizeof v[n].id);
        sa_wire_get_str(&in, v[n].username, sizeof v[n].username);
        int64_t g = sa_wire_get_i64(&in);
        if (in.bad || g < 1) {
            free(v);
            return remote_bad(buf, err);
        }
        v[n++].group = (size_t)g;
    }
    free(buf);
    if (in.bad) {
        free(v);
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: node answered a malformed message");
    }
    *out = v;
    *count = n;
    return SA_OK;
}

sa_status sa_store_remote_verify(sa_store *store, sa_store_problem_fn report, void *ctx,
                                 size_t *problems, sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    char line[1024];
    *problems = 0;
    sa_wire_u8(&req, SA_OP_VERIFY);
    sa_status st = remote_call(store, &req, &buf, &in, err);
    if (st != SA_OK) {
        free(buf);
        return st;
    }
    while (sa_wire_get_u8(&in) == 1) {
        sa_wire_get_str(&in, line, sizeof line);
        if (in.bad)
            return remote_bad(buf, err);
        report(line, ctx);
    }
    int64_t n = sa_wire_get_i64(&in);
    if (in.bad || n < 0)
        return remote_bad(buf, err);
    *problems = (size_t)n;
    free(buf);
    return SA_OK;
}

sa_status sa_store_remote_stats_get(sa_store *store, sa_store_stats *out, sa_error *err)
{
    sa_wire req = {0};
    unsigned char *buf;
    sa_wire_in in;
    sa_wire_u8(&req, SA_OP_STATS);
    sa_status st = remote_call(store, &req, &buf, &in, err);
    if (st == SA_OK) {
        uint64_t *fields[] = {&out->users, &out->google_links, &out->sessions,
                              &out->user_bytes, &out->session_bytes};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            *fields[i] = (uint64_t)sa_wire_get_i64(&in);
        if (in.bad)
            return remote_bad(buf, err);
    }
    free(buf);
    return st;
}
