/* store_rep.c: `socialauth node`'s replicated environment (contracts in store_rep.h).
 *
 * Settings (measured on libdb 5.3.28 with three sites): quorum acknowledgements with a
 * 2 s ack timeout; heartbeats sent every 0.5 s and a master presumed dead after 2 s without
 * one; connections retried every second; elections at start and whenever the master is lost.
 * Membership is the static list of the configuration: every site is configured with
 * DB_LEGACY for itself and for every other site, so no site has to create the group first.
 *
 * Durability: commit() returns 0 even when the acknowledgements did not come; only
 * DB_EVENT_REP_PERM_FAILED says so, in the committing thread (store_exec.c turns it into
 * SA_ERR_UNAVAILABLE). Replicas cannot write (EACCES): their writes go over a repmgr channel
 * to DB_EID_MASTER, whose message thread runs them (rep_dispatch) and answers. */
#include "store/store_rep.h"
#include "store/store_exec.h"
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REP_ACK_TIMEOUT_US 2000000u
#define REP_HEARTBEAT_SEND_US 500000u
#define REP_HEARTBEAT_MONITOR_US 2000000u
#define REP_RETRY_US 1000000u
#define REP_FORWARD_TIMEOUT_US 8000000u   /* a forwarded write: commit + acks + a slow host */
#define REP_POSITION_POLL_MS 5             /* a read waiting for the master's log position */
#define REP_POSITION_RETRY_MS 100          /* a request not sent (no master) is sent again */
#define REP_APPLIED_SLICE_US 100000        /* txn_applied waits this long at a time */
#define REP_STATUS_TIMEOUT_US 500000u    /* the master's log position, for `cluster status` */
#define REP_THREADS 4                      /* message threads: a write waits for acks in one */
#define REP_CHECKPOINT_EVERY 30
#define REP_PURGE_BATCH 256

struct sa_store_rep {
    pthread_rwlock_t lock;      /* read: a request; write: (re)opening handles, closing */
    atomic_bool master;
    atomic_bool synced;         /* master, or a replica whose start-up sync is done */
    atomic_bool open;           /* databases open */
    atomic_bool closing;
    atomic_llong failover_at;   /* unix seconds of the last change of master seen, 0 never */
    DB_CHANNEL *chan;           /* to DB_EID_MASTER, made once a master is known */
    pthread_mutex_t chan_lock;
    pthread_mutex_t token_lock;
    bool token_set;             /* this master committed since it became master */
    DB_TXN_TOKEN token;         /* then the commit token of its newest durable commit */
    db_timeout_t read_wait_us;  /* rep_read_wait: a replica's miss waits this long at most */
    int lock_fd;
    int64_t checkpoint_at;
    char local[256];
};

/* A commit token's order, for keeping the newest. Its layout in libdb 5.3 (txn.c,
 * __txn_build_token): five big-endian u32, format version, generation, environment id, LSN
 * file, LSN offset. Negative, 0 or positive as a is older, the same or newer than b. */
static int rep_token_cmp(const DB_TXN_TOKEN *a, const DB_TXN_TOKEN *b)
{
    static const int fields[] = {1, 3, 4};   /* generation, then the LSN */
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const u_int8_t *x = a->buf + 4 * fields[i], *y = b->buf + 4 * fields[i];
        uint32_t u = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
        uint32_t v = (uint32_t)y[0] << 24 | (uint32_t)y[1] << 16 | (uint32_t)y[2] << 8 | y[3];
        if (u != v)
            return u < v ? -1 : 1;
    }
    return 0;
}

/* Forget this site's newest commit token (its role changed: a token of an earlier term as
 * master says nothing about the new master's log). */
static void rep_token_forget(struct sa_store_rep *r)
{
    pthread_mutex_lock(&r->token_lock);
    r->token_set = false;
    pthread_mutex_unlock(&r->token_lock);
}

/* After a request or upkeep in this thread: keep the commit token of a durable commit made
 * here as master when it is the newest (threads commit in parallel, so in any order). Every
 * write is noted before it is answered, so the token a replica gets from rep_exec_local's
 * SA_OP_LSN is at or after every write answered before it asked. */
static void rep_token_note(sa_store *store)
{
    struct sa_store_rep *r = store->rep;
    if (!sa_store_commit_note.token_set || sa_store_commit_note.perm_failed ||
        !atomic_load(&r->master))
        return;
    pthread_mutex_lock(&r->token_lock);
    if (!r->token_set || rep_token_cmp(&r->token, &sa_store_commit_note.token) < 0) {
        r->token = sa_store_commit_note.token;
        r->token_set = true;
    }
    pthread_mutex_unlock(&r->token_lock);
}

static void rep_event(DB_ENV *env, u_int32_t event, void *info)
{
    sa_store *store = env->app_private;
    struct sa_store_rep *r = store ? store->rep : NULL;
    (void)info;
    if (!r)
        return;
    switch (event) {
    case DB_EVENT_PANIC:
    case DB_EVENT_REG_PANIC:
        store->fatal = true;
        break;
    case DB_EVENT_REP_PERM_FAILED:
        sa_store_commit_note.perm_failed = true;
        break;
    case DB_EVENT_REP_MASTER:
        rep_token_forget(r);
        atomic_store(&r->master, true);
        atomic_store(&r->synced, true);
        atomic_store(&r->failover_at, (long long)time(NULL));
        break;
    case DB_EVENT_REP_CLIENT:
    case DB_EVENT_REP_DUPMASTER:
        atomic_store(&r->master, false);
        rep_token_forget(r);
        break;
    case DB_EVENT_REP_NEWMASTER:
        atomic_store(&r->failover_at, (long long)time(NULL));
        break;
    case DB_EVENT_REP_STARTUPDONE:
        atomic_store(&r->synced, true);
        break;
    default:
        break;
    }
}

/* An answer that carries only a status, a commit token (NULL: zeros) and a message
 * (store_wire.h's header). */
static void rep_answer_header(sa_wire *answer, sa_status st, const DB_TXN_TOKEN *token,
                              const char *msg)
{
    static const unsigned char zeros[SA_WIRE_TOKEN];
    sa_wire_free(answer);
    sa_wire_u8(answer, st);
    sa_wire_u8(answer, 1);
    sa_wire_raw(answer, token ? token->buf : zeros, SA_WIRE_TOKEN);
    sa_wire_str(answer, msg);
}

static void rep_answer_error(sa_wire *answer, sa_status st, const char *msg)
{
    rep_answer_header(answer, st, NULL, msg);
}

/* The header of an answer (len bytes at data): its status, its token into *token, and
 * *rest over the op's results. SA_ERR_UNAVAILABLE when malformed. */
static sa_status rep_answer_parse(const unsigned char *data, size_t len, DB_TXN_TOKEN *token,
                                  sa_wire_in *rest)
{
    *rest = (sa_wire_in){data, len, false};
    unsigned st = sa_wire_get_u8(rest);
    (void)sa_wire_get_u8(rest);
    size_t n;
    if (rest->left < SA_WIRE_TOKEN)
        return SA_ERR_UNAVAILABLE;
    memcpy(token->buf, rest->p, SA_WIRE_TOKEN);
    rest->p += SA_WIRE_TOKEN;
    rest->left -= SA_WIRE_TOKEN;
    (void)sa_wire_get_bytes(rest, &n);   /* the message */
    return rest->bad ? SA_ERR_UNAVAILABLE : (sa_status)st;
}

static void rep_answer_ok(sa_wire *answer)
{
    rep_answer_error(answer, SA_OK, "");
}

/* Close and open every database handle again (after DB_REP_HANDLE_DEAD, or when they could
 * not be opened yet). Under the write lock. */
static void rep_reopen(sa_store *store)
{
    struct sa_store_rep *r = store->rep;
    const char *what;
    pthread_rwlock_wrlock(&r->lock);
    if (!atomic_load(&r->closing) &&
        (atomic_load(&store->handles_dead) || !atomic_load(&r->open))) {
        sa_store_close_dbs(store);
        int rc = sa_store_open_all(store, NULL, false, &what);
        if (rc != 0)
            sa_store_close_dbs(store);
        atomic_store(&r->open, rc == 0);
        if (rc == 0)
            atomic_store(&store->handles_dead, false);
    }
    pthread_rwlock_unlock(&r->lock);
}

static void rep_lsn(sa_store *store, DB_LSN *lsn)
{
    DB_REP_STAT *sp = NULL;
    lsn->file = lsn->offset = 0;
    if (store->env->rep_stat(store->env, &sp, 0) == 0 && sp) {
        *lsn = sp->st_next_lsn;
        free(sp);
    }
}

static void rep_status(sa_store *store, sa_wire *answer);

/* Run the request here, whatever this site's role. */
static void rep_exec_local(sa_store *store, const unsigned char *req, size_t len,
                           sa_wire *answer)
{
    struct sa_store_rep *r = store->rep;
    unsigned op = len ? req[0] : 0;

    if (atomic_load(&r->closing))
        return rep_answer_error(answer, SA_ERR_UNAVAILABLE, "node: stopping");
    if (op == SA_OP_LSN) {
        /* The commit position: on a master, its newest commit token (rep_token_note) and
         * the next LSN it will write; on a replica the next LSN it expects. */
        DB_LSN lsn;
        DB_TXN_TOKEN token;
        bool have = false;
        pthread_mutex_lock(&r->token_lock);
        if (r->token_set && atomic_load(&r->master)) {
            token = r->token;
            have = true;
        }
        pthread_mutex_unlock(&r->token_lock);
        rep_lsn(store, &lsn);
        rep_answer_header(answer, SA_OK, have ? &token : NULL, "");
        sa_wire_i64(answer, lsn.file);
        sa_wire_i64(answer, lsn.offset);
        return;
    }
    if (op == SA_OP_STATUS)
        return rep_status(store, answer);
    /* A rollback (this site rejoining after a partition) kills the handles: the request
     * that meets DB_REP_HANDLE_DEAD failed as a whole (its transaction aborted), so it runs
     * once more on fresh handles. */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (atomic_load(&store->handles_dead) || !atomic_load(&r->open))
            rep_reopen(store);
        sa_wire_free(answer);
        pthread_rwlock_rdlock(&r->lock);
        if (!atomic_load(&r->open) || atomic_load(&r->closing))
            rep_answer_error(answer, SA_ERR_UNAVAILABLE, "node: the store is not open yet");
        else
            sa_store_exec(store, req, len, answer);
        pthread_rwlock_unlock(&r->lock);
        rep_token_note(store);
        if (!atomic_load(&store->handles_dead))
            break;
    }
    if (answer->oom)
        rep_answer_error(answer, SA_ERR_UNAVAILABLE, "node: out of memory");
}

/* The master's side of the channel: a replica's node sent a request. */
static void rep_dispatch(DB_ENV *env, DB_CHANNEL *ch, DBT *request, u_int32_t nrequest,
                         u_int32_t cb_flags)
{
    sa_store *store = env->app_private;
    sa_wire answer = {0};
    DBT d;

    if (!(cb_flags & DB_REPMGR_NEED_RESPONSE))
        return;
    if (nrequest != 1 || !store || !store->rep)
        rep_answer_error(&answer, SA_ERR_INVALID, "node: malformed forwarded request");
    else
        rep_exec_local(store, request[0].data, request[0].size, &answer);
    memset(&d, 0, sizeof d);
    d.data = answer.data;
    d.size = (u_int32_t)answer.len;
    (void)ch->send_msg(ch, &d, 1, 0);
    sa_wire_free(&answer);
}

static void rep_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static int64_t rep_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Send the request to the master's node and put its answer in *answer, within timeout_us in
 * all. A request that could not be sent (no master known or connected: DB_REP_UNAVAIL, as
 * just after an election or a reconnection) was not run, so it is sent again every
 * REP_POSITION_RETRY_MS while time is left; one sent and not answered in time is not (it may
 * have run). False when no master answered (answer then says unavailable). */
static bool rep_forward(sa_store *store, const unsigned char *req, size_t len, sa_wire *answer,
                        db_timeout_t timeout_us)
{
    struct sa_store_rep *r = store->rep;
    DBT msg, resp;
    char why[200];

    memset(&msg, 0, sizeof msg);
    memset(&resp, 0, sizeof resp);
    msg.data = (void *)req;
    msg.size = (u_int32_t)len;
    resp.flags = DB_DBT_MALLOC;
    int64_t deadline = rep_now_us() + (int64_t)timeout_us;
    int rc;
    for (;;) {
        /* repmgr_channel(DB_EID_MASTER) refuses while no master is known: made at first use. */
        pthread_mutex_lock(&r->chan_lock);
        rc = r->chan ? 0 : store->env->repmgr_channel(store->env, DB_EID_MASTER, &r->chan, 0);
        DB_CHANNEL *chan = r->chan;
        pthread_mutex_unlock(&r->chan_lock);
        int64_t left = deadline - rep_now_us();
        if (rc == 0)
            rc = chan->send_request(chan, &msg, 1, &resp, (db_timeout_t)(left > 0 ? left : 1),
                                    0);
        if (rc != DB_REP_UNAVAIL || left <= REP_POSITION_RETRY_MS * 1000 ||
            atomic_load(&r->closing))
            break;
        rep_sleep_ms(REP_POSITION_RETRY_MS);
    }
    if (rc == 0 && resp.size > 0) {
        sa_wire_free(answer);
        sa_wire_raw(answer, resp.data, resp.size);
        free(resp.data);
        if (!answer->oom)
            return true;
        rep_answer_error(answer, SA_ERR_UNAVAILABLE, "node: out of memory");
        return false;
    }
    free(resp.data);
    snprintf(why, sizeof why, "node: no master reachable: %s",
             rc ? db_strerror(rc) : "empty answer");
    rep_answer_error(answer, SA_ERR_UNAVAILABLE, why);
    return false;
}


static int rep_lsn_cmp(const DB_LSN *a, int64_t file, int64_t offset)
{
    if ((int64_t)a->file != file)
        return (int64_t)a->file < file ? -1 : 1;
    return (int64_t)a->offset < offset ? -1 : (int64_t)a->offset > offset;
}

/* Read-your-writes on a replica (README "Several nodes"): ask the master's node for its
 * commit position (SA_OP_LSN) and wait, within rep_read_wait in all, until this site has
 * applied it: DB_ENV->txn_applied on the master's newest commit token, or, when the master
 * has committed nothing since it became master, until this site's next LSN reached the
 * master's. True when caught up; false on timeout, no master, or a rolled-back token. */
static bool rep_catch_up(sa_store *store)
{
    struct sa_store_rep *r = store->rep;
    unsigned char req = SA_OP_LSN;
    sa_wire there = {0};
    DB_TXN_TOKEN token;
    sa_wire_in in;
    int64_t deadline = rep_now_us() + (int64_t)r->read_wait_us;

    /* rep_forward asks again while no master is known or connected (a reconnection). */
    if (!rep_forward(store, &req, 1, &there, r->read_wait_us) ||
        rep_answer_parse(there.data, there.len, &token, &in) != SA_OK) {
        sa_wire_free(&there);
        return false;
    }
    int64_t file = sa_wire_get_i64(&in), offset = sa_wire_get_i64(&in);
    sa_wire_free(&there);
    if (in.bad)
        return false;
    static const DB_TXN_TOKEN none;
    int64_t left = deadline - rep_now_us();
    /* txn_applied in slices: one long wait was seen to end in DB_TIMEOUT after 4 s although
     * the commit arrived about 1 s into it (this site rejoining); each slice checks again. */
    while (memcmp(token.buf, none.buf, SA_WIRE_TOKEN) != 0) {
        int64_t slice = left < REP_APPLIED_SLICE_US ? left : REP_APPLIED_SLICE_US;
        int rc = slice > 0 ? store->env->txn_applied(store->env, &token, (db_timeout_t)slice, 0)
                           : DB_TIMEOUT;
        if (rc != DB_TIMEOUT || atomic_load(&r->closing))
            return rc == 0;
        left = deadline - rep_now_us();
        if (left <= 0)
            return false;
    }
    for (;;) {
        DB_LSN mine;
        rep_lsn(store, &mine);
        if (rep_lsn_cmp(&mine, file, offset) >= 0)
            return true;
        if (rep_now_us() >= deadline || atomic_load(&r->closing))
            return false;
        rep_sleep_ms(REP_POSITION_POLL_MS);
    }
}

/* Contract: see store_rep.h. */
void sa_store_rep_handle(sa_store *store, const unsigned char *req, size_t len,
                         sa_wire *answer)
{
    struct sa_store_rep *r = store->rep;
    unsigned op = len ? req[0] : 0;
    if (sa_wire_op_writes(op) && !atomic_load(&r->master)) {
        rep_forward(store, req, len, answer, REP_FORWARD_TIMEOUT_US);
        return;
    }
    rep_exec_local(store, req, len, answer);
    /* Read-your-writes: a miss on a replica may be a write not yet applied here. */
    if ((op == SA_OP_USER_GET || op == SA_OP_SESSION_GET || op == SA_OP_JTI_GET) &&
        r->read_wait_us > 0 && !atomic_load(&r->master) && answer->len > 0 &&
        answer->data[0] == SA_ERR_NOT_FOUND && rep_catch_up(store))
        rep_exec_local(store, req, len, answer);
}

static void rep_status(sa_store *store, sa_wire *answer)
{
    struct sa_store_rep *r = store->rep;
    DB_REP_STAT *sp = NULL;
    DB_REPMGR_SITE *sites = NULL;
    u_int count = 0;
    char text[2048], master[300] = "none", list[1200] = "";
    size_t used = 0;
    int master_eid = -1;
    DB_LSN mine;

    if (store->env->rep_stat(store->env, &sp, 0) == 0 && sp) {
        master_eid = (int)sp->st_master;
        mine = sp->st_next_lsn;
        free(sp);
    } else {
        mine.file = mine.offset = 0;
    }
    if (store->env->repmgr_site_list(store->env, &count, &sites) == 0) {
        for (u_int i = 0; i < count; i++) {
            int n = snprintf(list + used, sizeof list - used, "%s%s:%u %s", i ? ", " : "",
                             sites[i].host, sites[i].port,
                             sites[i].status == DB_REPMGR_CONNECTED ? "connected"
                                                                    : "disconnected");
            if (n > 0 && (size_t)n < sizeof list - used)
                used += (size_t)n;
            if (sites[i].eid == master_eid)
                snprintf(master, sizeof master, "%s:%u", sites[i].host, sites[i].port);
        }
        free(sites);
    }
    bool is_master = atomic_load(&r->master);
    if (is_master)
        snprintf(master, sizeof master, "%s", r->local);
    char lag[64] = "0";
    if (!is_master) {
        unsigned char req = SA_OP_LSN;
        sa_wire there = {0};
        snprintf(lag, sizeof lag, "unknown");
        DB_TXN_TOKEN token;
        sa_wire_in in;
        if (rep_forward(store, &req, 1, &there, REP_STATUS_TIMEOUT_US) &&
            rep_answer_parse(there.data, there.len, &token, &in) == SA_OK) {
            int64_t f = sa_wire_get_i64(&in), o = sa_wire_get_i64(&in);
            if (!in.bad && f == (int64_t)mine.file)
                snprintf(lag, sizeof lag, "%lld bytes", (long long)(o - (int64_t)mine.offset));
            else if (!in.bad)
                snprintf(lag, sizeof lag, "%lld log files", (long long)(f - (int64_t)mine.file));
        }
        sa_wire_free(&there);
    }
    long long fo = atomic_load(&r->failover_at);
    char when[32] = "never";
    if (fo) {
        time_t t = (time_t)fo;
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    }
    snprintf(text, sizeof text,
             "site: %s\nrole: %s\nmaster: %s\nlog: %u/%u\nlag: %s\nlast_failover: %s\n"
             "sites: %s\n",
             r->local, is_master ? "master" : atomic_load(&r->synced) ? "replica" : "starting",
             master, mine.file, mine.offset, lag, when, list);
    rep_answer_ok(answer);
    sa_wire_str(answer, text);
}

/* host:port into host (size bytes) and *port. */
static bool rep_parse_site(const char *s, char *host, size_t size, u_int *port)
{
    const char *colon = strrchr(s, ':');
    int64_t p;
    if (!colon || colon == s || (size_t)(colon - s) >= size ||
        sa_parse_int(colon + 1, 1, 65535, &p) != SA_OK)
        return false;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (u_int)p;
    return true;
}

/* Declare one site; local or remote. Returns a Berkeley DB code, or EINVAL for bad text. */
static int rep_site(DB_ENV *env, const char *addr, bool local)
{
    char host[256];
    u_int port;
    DB_SITE *site = NULL;
    if (!rep_parse_site(addr, host, sizeof host, &port))
        return EINVAL;
    int rc = env->repmgr_site(env, host, port, &site, 0);
    if (rc != 0)
        return rc;
    rc = site->set_config(site, local ? DB_LOCAL_SITE : DB_BOOTSTRAP_HELPER, 1);
    if (rc == 0)
        rc = site->set_config(site, DB_LEGACY, 1);
    int rc2 = site->close(site);
    return rc ? rc : rc2;
}

static int rep_configure(DB_ENV *env, const sa_config *cfg, const char **what)
{
    *what = "rep_local";
    int rc = rep_site(env, cfg->rep_local, true);
    for (size_t i = 0; rc == 0 && i < cfg->rep_sites.n; i++) {
        *what = "rep_sites";
        rc = rep_site(env, cfg->rep_sites.v[i], false);
    }
    if (rc != 0)
        return rc;
    *what = "replication settings";
    rc = env->rep_set_priority(env, (u_int32_t)cfg->rep_priority);
    if (rc == 0)
        rc = env->repmgr_set_ack_policy(env, DB_REPMGR_ACKS_QUORUM);
    if (rc == 0)
        rc = env->rep_set_timeout(env, DB_REP_ACK_TIMEOUT, REP_ACK_TIMEOUT_US);
    if (rc == 0)
        rc = env->rep_set_timeout(env, DB_REP_HEARTBEAT_SEND, REP_HEARTBEAT_SEND_US);
    if (rc == 0)
        rc = env->rep_set_timeout(env, DB_REP_HEARTBEAT_MONITOR, REP_HEARTBEAT_MONITOR_US);
    if (rc == 0)
        rc = env->rep_set_timeout(env, DB_REP_CONNECTION_RETRY, REP_RETRY_US);
    if (rc == 0)
        rc = env->rep_set_timeout(env, DB_REP_ELECTION_RETRY, REP_RETRY_US);
    /* A master's checkpoint otherwise sleeps 30 s (the default delay) in the upkeep thread. */
    if (rc == 0)
        rc = env->rep_set_timeout(env, DB_REP_CHECKPOINT_DELAY, 0);
    if (rc == 0)
        rc = env->repmgr_msg_dispatch(env, rep_dispatch, 0);
    return rc;
}

/* The master creates the databases and the format record; a replica opens what the master
 * created (ENOENT until the log that creates them arrived). Returns a Berkeley DB code. */
static int rep_open_dbs(sa_store *store, bool create, sa_error *err)
{
    const char *what;
    DB_TXN *txn = NULL;
    int rc = 0;
    if (create && (rc = store->env->txn_begin(store->env, NULL, &txn, 0)) != 0)
        return rc;
    rc = sa_store_open_all(store, txn, create, &what);
    if (txn) {
        int rc2 = rc == 0 ? txn->commit(txn, 0) : txn->abort(txn);
        rc = rc ? rc : rc2;
    }
    if (rc == 0 && create && sa_store_txn_run(store, sa_store_meta_format, &create, 0, err))
        rc = EAGAIN;
    if (rc != 0 && rc != EAGAIN)
        sa_store_db_fail(store, NULL, rc, err, what);
    if (rc != 0)
        sa_store_close_dbs(store);
    return rc;
}

/* Contract: see store_rep.h. */
sa_status sa_store_rep_open(sa_store **out, const sa_config *cfg, volatile int *stop,
                            sa_error *err)
{
    char path[PATH_MAX];
    const char *what = "create environment";
    sa_status st;
    int rc;

    *out = NULL;
    if (!cfg->rep_local[0])
        return SA_FAIL(err, SA_ERR_CONFIG, "%s: `rep_local` is required for `socialauth node`",
                       cfg->path);
    if (mkdir(cfg->db_home, 0700) != 0 && errno != EEXIST)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "node: cannot create %s: %s", cfg->db_home,
                       strerror(errno));
    sa_store *store = calloc(1, sizeof *store);
    struct sa_store_rep *r = calloc(1, sizeof *r);
    if (!store || !r) {
        free(store);
        free(r);
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "node: out of memory");
    }
    store->rep = r;
    store->users_fd = -1;
    store->sync_rotation = cfg->sync_rotation;
    snprintf(store->home, sizeof store->home, "%s", cfg->db_home);
    snprintf(r->local, sizeof r->local, "%s", cfg->rep_local);
    store->jitter = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15u;
    pthread_rwlock_init(&r->lock, NULL);
    pthread_mutex_init(&r->chan_lock, NULL);
    pthread_mutex_init(&r->token_lock, NULL);
    r->read_wait_us = (db_timeout_t)cfg->rep_read_wait * 1000000u;   /* at most 10 s */

    /* The only process of this environment: the lock proves it, so recovery is safe. */
    snprintf(path, sizeof path, "%s/node.lock", cfg->db_home);
    r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (r->lock_fd < 0 || flock(r->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        st = SA_FAIL(err, SA_ERR_EXISTS, "node: another node runs on %s (%s)", cfg->db_home,
                     strerror(errno));
        goto fail;
    }
    rc = db_env_create(&store->env, 0);
    if (rc != 0) {
        store->env = NULL;
        goto fail_db;
    }
    store->env->app_private = store;
    store->env->set_errcall(store->env, sa_store_errcall);
    rc = store->env->set_event_notify(store->env, rep_event);
    if (rc == 0)
        rc = sa_store_env_setup(store->env);
    if (rc == 0)
        rc = rep_configure(store->env, cfg, &what);
    if (rc == EINVAL && (strcmp(what, "rep_local") == 0 || strcmp(what, "rep_sites") == 0)) {
        st = SA_FAIL(err, SA_ERR_CONFIG, "%s: `%s` must be host:port", cfg->path, what);
        goto fail;
    }
    if (rc != 0)
        goto fail_db;
    what = "open environment (recovery)";
    rc = store->env->open(store->env, cfg->db_home,
                          SA_STORE_ENV_FLAGS | DB_THREAD | DB_INIT_REP | DB_RECOVER, 0600);
    if (rc != 0)
        goto fail_db;
    what = "repmgr_start";
    rc = store->env->repmgr_start(store->env, REP_THREADS, DB_REP_ELECTION);
    if (rc != 0 && rc != DB_REP_IGNORE)
        goto fail_db;
    while (!*stop) {
        bool master = atomic_load(&r->master);
        if ((master || atomic_load(&r->synced)) && rep_open_dbs(store, master, err) == 0)
            break;
        rep_sleep_ms(100);
    }
    if (*stop) {
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "node: stopped while starting");
        goto fail;
    }
    atomic_store(&r->open, true);
    *out = store;
    return SA_OK;

fail_db:
    st = sa_store_db_fail(store, NULL, rc, err, what);
fail:
    sa_store_rep_close(store);
    return st;
}

/* Contract: see store_rep.h. */
sa_status sa_store_rep_upkeep(sa_store *store, int64_t now, int64_t leeway, sa_error *err)
{
    struct sa_store_rep *r = store->rep;
    sa_status st = SA_OK;
    size_t purged = 0;
    pthread_rwlock_rdlock(&r->lock);
    if (atomic_load(&r->open) && !atomic_load(&r->closing)) {
        memset(&sa_store_commit_note, 0, sizeof sa_store_commit_note);
        if (atomic_load(&r->master))
            st = sa_store_session_purge(store, now, leeway, REP_PURGE_BATCH, &purged, err);
        if (st == SA_OK && atomic_load(&r->master))
            st = sa_store_jti_purge(store, now, leeway, REP_PURGE_BATCH, &purged, err);
        rep_token_note(store);
        if (st == SA_OK && now - r->checkpoint_at >= REP_CHECKPOINT_EVERY) {
            r->checkpoint_at = now;
            st = sa_store_checkpoint(store, err);
        }
    }
    pthread_rwlock_unlock(&r->lock);
    return st;
}

/* Contract: see store_rep.h. The struct stays allocated (requests that arrive meanwhile are
 * answered "stopping"); the process exits after this. */
void sa_store_rep_close(sa_store *store)
{
    struct sa_store_rep *r = store->rep;
    atomic_store(&r->closing, true);
    pthread_rwlock_wrlock(&r->lock);
    pthread_mutex_lock(&r->chan_lock);
    if (r->chan)
        r->chan->close(r->chan, 0);
    r->chan = NULL;
    pthread_mutex_unlock(&r->chan_lock);
    sa_store_close_dbs(store);
    atomic_store(&r->open, false);
    if (store->env)
        store->env->close(store->env, 0);
    store->env = NULL;
    if (r->lock_fd > 0)
        close(r->lock_fd);
    r->lock_fd = -1;
    pthread_rwlock_unlock(&r->lock);
}
