/* store_upkeep.c: checkpoints taken by a short-lived child process, one at a time for the
 * whole environment, so that no process that serves requests ever waits for one.
 *
 * Why a child: a Berkeley DB 5.3 checkpoint must write every dirty page, and when a page is
 * pinned by another process it sleeps a full second before looking again. Under load some
 * page is always pinned, so a checkpoint taken by an endpoint process stalled it (and every
 * request queued behind it) for a second; `make bench` measured it.
 *
 * The lock file db_home/checkpoint.lock serialises checkpoints (flock, never waited for) and
 * its mtime says when the last one started, for every process. */
#include "store/store.h"
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECKPOINT_LOCK "checkpoint.lock"
#define CHECKPOINT_CHILD_SECONDS 300

/* Log bytes written since the last checkpoint, or 0 when unknown. */
static uint64_t log_since_checkpoint(sa_store *store)
{
    DB_LOG_STAT *sp = NULL;
    if (store->env->log_stat(store->env, &sp, 0) != 0 || !sp)
        return 0;
    uint64_t bytes = (uint64_t)sp->st_wc_mbytes * 1024 * 1024 + sp->st_wc_bytes;
    free(sp);
    return bytes;
}

/* In the child: join the environment with a handle of its own, checkpoint, drop old logs.
 * Never returns. */
static void checkpoint_child(const char *home)
{
    DB_ENV *env = NULL;
    /* Standard input of an endpoint is its FastCGI listen socket: a child holding it would
     * keep connections queued that nobody accepts once the parent has exited (a hang, then
     * lighttpd's 500; found by the disk-full test, where checkpoints stall). */
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        close(devnull);
    }
    /* A child stuck in regions another process recovered meanwhile would hold the
     * checkpoint lock for ever: the alarm's default action ends it. */
    alarm(CHECKPOINT_CHILD_SECONDS);
    int rc = db_env_create(&env, 0);
    if (rc == 0)
        rc = sa_store_env_setup(env);
    /* Joins, never recovers: the parent's shared hold of env.lock came along with fork(). */
    int gate = rc == 0 ? sa_store_open_gate(home) : -1;
    if (rc == 0)
        rc = gate < 0 ? errno : env->open(env, home, SA_STORE_ENV_FLAGS, 0600);
    if (gate >= 0)
        close(gate);
    if (rc == 0)
        rc = env->txn_checkpoint(env, 0, 0, 0);
    if (rc == 0)
        rc = env->log_archive(env, NULL, DB_ARCH_REMOVE);
    if (env)
        env->close(env, 0);
    _exit(rc == 0 ? 0 : 1);
}

/* Contract: see store.h. Also the upkeep that notices dead processes: failchk first (at
 * most once a second), so a process that died with locks held is cleaned up after even when
 * no lock wait times out; SA_ERR_FATAL when one died inside the library. */
sa_status sa_store_checkpoint_background(sa_store *store, int64_t now, int64_t interval,
                                         uint64_t log_bytes, sa_error *err)
{
    if (store->remote || store->rep)     /* the node's upkeep checkpoints (node.c) */
        return SA_OK;
    if (now != store->failchk_at) {
        store->failchk_at = now;
        if (sa_store_failchk(store, err) == SA_ERR_FATAL)
            return SA_ERR_FATAL;
    }
    if (store->checkpoint_child > 0) {
        int status;
        pid_t r = waitpid(store->checkpoint_child, &status, WNOHANG);
        if (r == 0)
            return SA_OK; /* ours is still running */
        store->checkpoint_child = 0;
    }
    char path[sizeof store->home + sizeof CHECKPOINT_LOCK + 1];
    snprintf(path, sizeof path, "%s/%s", store->home, CHECKPOINT_LOCK);
    struct stat st;
    bool old = stat(path, &st) != 0 || now - (int64_t)st.st_mtime >= interval;
    if (!old && log_since_checkpoint(store) < log_bytes)
        return SA_OK;

    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return SA_OK; /* another process is checkpointing */
    }
    futimens(fd, NULL); /* claim this round for every process */
    pid_t pid = fork();
    if (pid == 0)
        checkpoint_child(store->home); /* holds the lock through its copy of fd */
    int fork_errno = errno;
    close(fd);
    if (pid < 0)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "store: cannot fork a checkpoint: %s",
                       strerror(fork_errno));
    store->checkpoint_child = pid;
    return SA_OK;
}
