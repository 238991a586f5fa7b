/* store_wire.h: the node protocol, store.h's calls as bytes (internal to store*.c and node.c).
 *
 * A message on the node socket is a u32 big-endian length, then that many bytes (at most
 * SA_WIRE_MAX). The same request bytes travel unchanged from a replica's node to the master's
 * node over a repmgr channel, and the master's answer comes back unchanged.
 *
 *   request  u8 op (sa_wire_op), then the op's arguments (store_exec.c lists them)
 *   answer   u8 status (sa_status), u8 durable, 20 bytes commit token (zero when none),
 *            str message (err->msg when status is not SA_OK), then the op's results
 *   fields   u8; u32 and i64 big-endian; str = u32 length + bytes (no NUL inside);
 *            user = str id + str record, session = str sid + str record, keys = str record,
 *            records as store_record.h lays them out (so their bounds are checked once).
 * durable is 1 when the write reached a quorum of sites (no DB_EVENT_REP_PERM_FAILED), or
 * for reads; a write answered with durable 0 has status SA_ERR_UNAVAILABLE. The commit token
 * is DB_TXN->set_commit_token's (20 bytes) for a write committed on the master. */
#ifndef SA_STORE_WIRE_H
#define SA_STORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sa_error.h"
#include "store/store.h"

#define SA_WIRE_MAX (16u * 1024 * 1024)
#define SA_WIRE_TOKEN 20

typedef enum sa_wire_op {
    SA_OP_PING = 1,
    SA_OP_USER_GET,
    SA_OP_USER_CREATE,
    SA_OP_USER_UPDATE,
    SA_OP_USER_DELETE,
    SA_OP_USER_EACH,
    SA_OP_GOOGLE_LOGIN,
    SA_OP_SESSION_CREATE,
    SA_OP_SESSION_GET,
    SA_OP_SESSION_ROTATE,
    SA_OP_SESSION_REVOKE,
    SA_OP_SESSION_REVOKE_USER,
    SA_OP_SESSION_EACH_OF_USER,
    SA_OP_SESSION_COUNT,
    SA_OP_KEYS_GET,
    SA_OP_KEYS_PUT,
    SA_OP_KEYS_CLAIM,
    SA_OP_CHECKPOINT,      /* this node only */
    SA_OP_BACKUP,          /* this node only: str dir on the node's machine */
    SA_OP_STATUS,          /* the node's view of the group (answer: str text) */
    SA_OP_LSN,             /* the node's commit position (answer: i64 file, i64 offset of
                              its next LSN; on a master the header's token is that of its
                              newest durable commit, zeros when none) */
    SA_OP_SESSION_REVOKE_ALL,
    SA_OP_JTI_GET,
    SA_OP_SESSION_ADOPT,
    SA_OP_JTI_REVOKE,
    SA_OP_NOT_BEFORE_GET,
    SA_OP_JTI_COUNT,
    SA_OP_VERIFY,          /* this node's copy */
    SA_OP_STATS,           /* this node's copy */
    SA_OP_USER_IMPORT,     /* user; answer: u8 created */
    SA_OP_FLUSH,           /* the master's log to disk (after imports) */
    SA_OP_USERNAME_VARIANTS, /* answer: (u8 1, str id, str username, i64 group)..., u8 0 */
    SA_OP_LAST
} sa_wire_op;

/* Whether op changes the store (run on the master only). */
bool sa_wire_op_writes(unsigned op);

/* A growing output buffer; a failed allocation sets oom and later writes do nothing. */
typedef struct sa_wire {
    unsigned char *data;
    size_t len, cap;
    bool oom;
} sa_wire;

void sa_wire_u8(sa_wire *w, unsigned v);
void sa_wire_u32(sa_wire *w, uint32_t v);
void sa_wire_i64(sa_wire *w, int64_t v);
void sa_wire_bytes(sa_wire *w, const void *p, size_t len);   /* u32 length + bytes */
void sa_wire_raw(sa_wire *w, const void *p, size_t len);     /* the bytes alone */
void sa_wire_str(sa_wire *w, const char *s);   /* s may be NULL: empty */
void sa_wire_free(sa_wire *w);

/* Records: SA_OK, or the encoder's status (SA_ERR_INVALID naming the field too long). */
sa_status sa_wire_user(sa_wire *w, const sa_user *user, sa_error *err);
sa_status sa_wire_session(sa_wire *w, const sa_session *s, sa_error *err);
sa_status sa_wire_keys(sa_wire *w, const sa_google_keys *keys, sa_error *err);

/* A reader over len bytes; any read past the end or of a malformed field sets bad and
 * returns zeros. */
typedef struct sa_wire_in {
    const unsigned char *p;
    size_t left;
    bool bad;
} sa_wire_in;

unsigned sa_wire_get_u8(sa_wire_in *in);
uint32_t sa_wire_get_u32(sa_wire_in *in);
int64_t sa_wire_get_i64(sa_wire_in *in);
const unsigned char *sa_wire_get_bytes(sa_wire_in *in, size_t *len);
/* Copy a str into out (size bytes with its NUL); bad when longer or holding a NUL. */
void sa_wire_get_str(sa_wire_in *in, char *out, size_t size);
/* Records: SA_OK or SA_ERR_UNAVAILABLE (malformed; err says so). A user's google_extra and
 * keys' jwks_json are malloc'd into *out (free with sa_user_clear / sa_google_keys_clear). */
sa_status sa_wire_get_user(sa_wire_in *in, sa_user *out, sa_error *err);
sa_status sa_wire_get_session(sa_wire_in *in, sa_session *out, sa_error *err);
sa_status sa_wire_get_keys(sa_wire_in *in, sa_google_keys *out, sa_error *err);

/* One message on a stream socket. send: 0, or -1 with errno. recv: 0 with *out malloc'd
 * (*len bytes), or -1 with errno (EPROTO when longer than max, ECONNRESET on end of file). */
int sa_wire_send(int fd, const unsigned char *data, size_t len);
int sa_wire_recv(int fd, size_t max, unsigned char **out, size_t *len);

#endif
