/* test_store_upgrade.c: a process opening a store made before the sessions' rounded expiry
 * index (an upgrade) while another process builds that index. The builder creates the file
 * before it fills it (DB->associate with DB_CREATE fills only an empty index): an opener that
 * used the file in between inserted into it, the fill was skipped, and the older sessions
 * stayed unindexed (never purged; deleting their user failed with DB_SECONDARY_BAD). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_internal.h"

#include "store_fixture.h"

static char builder_trigger[256];   /* the index's path; "" when not armed */
static int builder_gate = -1;       /* open.lock, held by the builder played here */

/* The other process, mid-build: holds open.lock exclusively and has created the index's
 * file, empty (db5.3_load, a process of its own, joins the environment to create it). When
 * the opener already holds open.lock, the builder cannot take it and waits its turn: nothing
 * is played then. */
static void play_builder(const char *home)
{
    char path[300];
    snprintf(path, sizeof path, "%s/open.lock", home);   /* store.c's STORE_OPEN_LOCK */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return;
    }
    builder_gate = fd;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0)
            _exit(127);
        execlp("db5.3_load", "db5.3_load", "-h", home, "-t", "btree", "-T",
               STORE_SESSION_EXPIRY_INDEX, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The library's access() (store.c looks for files with it): the first look for the armed
 * path lets the builder above start first. */
int access(const char *path, int mode)
{
    if (builder_trigger[0] && strcmp(path, builder_trigger) == 0) {
        char home[256];
        snprintf(home, sizeof home, "%.*s", (int)(strrchr(path, '/') - path), path);
        builder_trigger[0] = '\0';
        play_builder(home);
    }
    return faccessat(AT_FDCWD, path, mode, 0);
}

static void add_session(sa_store *store, const char *sid, int64_t expires_at)
{
    sa_session s;
    sa_error err = {0};
    memset(&s, 0, sizeof s);
    snprintf(s.sid, sizeof s.sid, "%s", sid);
    snprintf(s.user_id, sizeof s.user_id, "u1");
    snprintf(s.current_jti, sizeof s.current_jti, "jti-%s", sid);
    s.created_at = s.current_iat = expires_at - 3600;
    s.current_exp = s.expires_at = expires_at;
    assert_int_equal(sa_store_session_create(store, &s, &err), SA_OK);
}

static void count_problem(const char *msg, void *ctx)
{
    (void)msg;
    ++*(size_t *)ctx;
}

static void test_open_while_another_builds_the_expiry_index(void **state)
{
    fixture *fx = *state;
    sa_error err = {0};
    sa_user u = {0};
    size_t purged = 99;
    char path[256];

    /* A store of before: a user with two sessions, expired at 1000, and no rounded index. */
    snprintf(u.id, sizeof u.id, "u1");
    snprintf(u.username, sizeof u.username, "one");
    u.is_active = true;
    assert_int_equal(sa_store_user_create(fx->store, &u, &err), SA_OK);
    add_session(fx->store, "old-1", 1000);
    add_session(fx->store, "old-2", 1000);
    sa_store_close(fx->store);
    fx->store = NULL;
    snprintf(path, sizeof path, "%s/%s", fx->home, STORE_SESSION_EXPIRY_INDEX);
    assert_int_equal(unlink(path), 0);

    /* This process opens it while the other has just created the index's file. */
    snprintf(builder_trigger, sizeof builder_trigger, "%s", path);
    assert_int_equal(sa_store_open(&fx->store, fx->home, 0, &err), SA_OK);
    builder_trigger[0] = '\0';
    add_session(fx->store, "new-1", 5000);
    if (builder_gate >= 0) {   /* the builder's fill, skipped: the index is not empty */
        close(builder_gate);
        builder_gate = -1;
    }

    /* Every session is in the index (verify says so), the old ones are purged, their user
     * can be deleted. */
    size_t problems = 99, reported = 0;
    assert_int_equal(sa_store_verify(fx->store, count_problem, NULL, &reported, &problems,
                                     &err), SA_OK);
    assert_int_equal(problems, 0);
    assert_int_equal(reported, 0);
    assert_int_equal(sa_store_session_purge(fx->store, 2000, 0, 100, &purged, &err), SA_OK);
    assert_int_equal(purged, 2);
    assert_int_equal(sa_store_session_get(fx->store, "old-1", &(sa_session){0}, &err),
                     SA_ERR_NOT_FOUND);
    assert_int_equal(sa_store_user_delete(fx->store, "u1", &err), SA_OK);
    assert_int_equal(sa_store_session_get(fx->store, "new-1", &(sa_session){0}, &err),
                     SA_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_while_another_builds_the_expiry_index, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
