/* store_wire.c: the node protocol's fields and framing (layout in store_wire.h). */
#include "store/store_wire.h"
#include "store/store_record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

bool sa_wire_op_writes(unsigned op)
{
    switch (op) {
    case SA_OP_USER_CREATE: case SA_OP_USER_UPDATE: case SA_OP_USER_DELETE:
    case SA_OP_GOOGLE_LOGIN: case SA_OP_SESSION_CREATE: case SA_OP_SESSION_ROTATE:
    case SA_OP_SESSION_REVOKE: case SA_OP_SESSION_REVOKE_USER: case SA_OP_KEYS_PUT:
    case SA_OP_KEYS_CLAIM: case SA_OP_SESSION_REVOKE_ALL: case SA_OP_SESSION_ADOPT:
    case SA_OP_JTI_REVOKE: case SA_OP_USER_IMPORT:
    case SA_OP_FLUSH:   /* no write of its own, but it must run where the imports ran */
        return true;
    default:
        return false;
    }
}

static unsigned char *wire_room(sa_wire *w, size_t n)
{
    if (w->oom)
        return NULL;
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n) {
            if (cap > SA_WIRE_MAX) {
                w->oom = true;
                return NULL;
            }
            cap *= 2;
        }
        unsigned char *p = realloc(w->data, cap);
        if (!p) {
            w->oom = true;
            return NULL;
        }
        w->data = p;
        w->cap = cap;
    }
    unsigned char *at = w->data + w->len;
    w->len += n;
    return at;
}

void sa_wire_u8(sa_wire *w, unsigned v)
{
    unsigned char *p = wire_room(w, 1);
    if (p)
        p[0] = (unsigned char)v;
}

void sa_wire_u32(sa_wire *w, uint32_t v)
{
    unsigned char *p = wire_room(w, 4);
    for (int i = 0; p && i < 4; i++)
        p[i] = (unsigned char)(v >> (24 - 8 * i));
}

void sa_wire_i64(sa_wire *w, int64_t v)
{
    unsigned char *p = wire_room(w, 8);
    for (int i = 0; p && i < 8; i++)
        p[i] = (unsigned char)((uint64_t)v >> (56 - 8 * i));
}

void sa_wire_raw(sa_wire *w, const void *data, size_t len)
{
    if (len > SA_WIRE_MAX) {
        w->oom = true;
        return;
    }
    unsigned char *p = wire_room(w, len);
    if (p && len)
        memcpy(p, data, len);
}

void sa_wire_bytes(sa_wire *w, const void *data, size_t len)
{
    sa_wire_u32(w, (uint32_t)len);
    sa_wire_raw(w, data, len);
}

void sa_wire_str(sa_wire *w, const char *s)
{
    sa_wire_bytes(w, s, s ? strlen(s) : 0);
}

void sa_wire_free(sa_wire *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

sa_status sa_wire_user(sa_wire *w, const sa_user *user, sa_error *err)
{
    sa_record rec = {0};
    sa_status st = sa_record_user_encode(user, &rec, err);
    if (st != SA_OK)
        return st;
    sa_wire_str(w, user->id);
    sa_wire_bytes(w, rec.data, rec.len);
    sa_record_free(&rec);
    return SA_OK;
}

sa_status sa_wire_session(sa_wire *w, const sa_session *s, sa_error *err)
{
    sa_record rec = {0};
    sa_status st = sa_record_session_encode(s, &rec, err);
    if (st != SA_OK)
        return st;
    sa_wire_str(w, s->sid);
    sa_wire_bytes(w, rec.data, rec.len);
    sa_record_free(&rec);
    return SA_OK;
}

sa_status sa_wire_keys(sa_wire *w, const sa_google_keys *keys, sa_error *err)
{
    sa_record rec = {0};
    sa_status st = sa_record_keys_encode(keys, &rec, err);
    if (st != SA_OK)
        return st;
    sa_wire_bytes(w, rec.data, rec.len);
    sa_record_free(&rec);
    return SA_OK;
}

static const unsigned char *wire_take(sa_wire_in *in, size_t n)
{
    if (in->bad || in->left < n) {
        in->bad = true;
        return NULL;
    }
    const unsigned char *p = in->p;
    in->p += n;
    in->left -= n;
    return p;
}

unsigned sa_wire_get_u8(sa_wire_in *in)
{
    const unsigned char *p = wire_take(in, 1);
    return p ? p[0] : 0;
}

uint32_t sa_wire_get_u32(sa_wire_in *in)
{
    const unsigned char *p = wire_take(in, 4);
    return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

int64_t sa_wire_get_i64(sa_wire_in *in)
{
    const unsigned char *p = wire_take(in, 8);
    uint64_t v = 0;
    for (int i = 0; p && i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

const unsigned char *sa_wire_get_bytes(sa_wire_in *in, size_t *len)
{
    *len = sa_wire_get_u32(in);
    const unsigned char *p = wire_take(in, *len);
    if (!p)
        *len = 0;
    return p;
}

void sa_wire_get_str(sa_wire_in *in, char *out, size_t size)
{
    size_t len;
    const unsigned char *p = sa_wire_get_bytes(in, &len);
    out[0] = '\0';
    if (in->bad || !p)   /* !p only with in->bad (wire_take); said for gcc -fanalyzer */
        return;
    if (len >= size || (len && memchr(p, '\0', len))) {
        in->bad = true;
        return;
    }
    memcpy(out, p, len);
    out[len] = '\0';
}

static sa_status wire_bad(sa_error *err)
{
    return SA_FAIL(err, SA_ERR_UNAVAILABLE, "node: malformed message");
}

sa_status sa_wire_get_user(sa_wire_in *in, sa_user *out, sa_error *err)
{
    size_t klen, len;
    const unsigned char *key = sa_wire_get_bytes(in, &klen);
    const unsigned char *data = sa_wire_get_bytes(in, &len);
    if (in->bad)
        return wire_bad(err);
    if (sa_record_user_decode(key, klen, data, len, out, err) != SA_OK) {
        in->bad = true;
        return wire_bad(err);
    }
    return SA_OK;
}

sa_status sa_wire_get_session(sa_wire_in *in, sa_session *out, sa_error *err)
{
    size_t klen, len;
    const unsigned char *key = sa_wire_get_bytes(in, &klen);
    const unsigned char *data = sa_wire_get_bytes(in, &len);
    if (in->bad)
        return wire_bad(err);
    if (sa_record_session_decode(key, klen, data, len, out, err) != SA_OK) {
        in->bad = true;
        return wire_bad(err);
    }
    return SA_OK;
}

sa_status sa_wire_get_keys(sa_wire_in *in, sa_google_keys *out, sa_error *err)
{
    size_t len;
    const unsigned char *data = sa_wire_get_bytes(in, &len);
    if (in->bad)
        return wire_bad(err);
    if (sa_record_keys_decode(data, len, out, err) != SA_OK) {
        in->bad = true;
        return wire_bad(err);
    }
    return SA_OK;
}

static int wire_io(int fd, void *buf, size_t len, bool out)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = ECONNRESET;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int sa_wire_send(int fd, const unsigned char *data, size_t len)
{
    unsigned char head[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                             (unsigned char)(len >> 8), (unsigned char)len};
    if (len > SA_WIRE_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    if (wire_io(fd, head, 4, true) != 0)
        return -1;
    return wire_io(fd, (void *)data, len, true);
}

int sa_wire_recv(int fd, size_t max, unsigned char **out, size_t *len)
{
    unsigned char head[4];
    *out = NULL;
    *len = 0;
    if (wire_io(fd, head, 4, false) != 0)
        return -1;
    size_t n = (size_t)head[0] << 24 | (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3];
    if (n > max) {
        errno = EPROTO;
        return -1;
    }
    unsigned char *p = malloc(n ? n : 1);
    if (!p)
        return -1;
    if (wire_io(fd, p, n, false) != 0) {
        int e = errno;
        free(p);
        errno = e;
        return -1;
    }
    *out = p;
    *len = n;
    return 0;
}
