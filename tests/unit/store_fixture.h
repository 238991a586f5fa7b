/* store_fixture.h: the cmocka fixture of the store's unit tests: every test runs on a fresh
 * environment (SA_STORE_CREATE) in its own mkdtemp directory, removed afterwards. Included
 * by test_store.c and test_sidless.c (needs cmocka.h, ftw.h, stdio.h, stdlib.h, store.h). */
#ifndef SA_TEST_STORE_FIXTURE_H
#define SA_TEST_STORE_FIXTURE_H

typedef struct fixture {
    char dir[64];
    char home[128];
    sa_store *store;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    sa_error err = {0};
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/sa-store-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->home, sizeof fx->home, "%s/db", fx->dir);
    if (sa_store_open(&fx->store, fx->home, SA_STORE_CREATE, &err) != SA_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    sa_store_close(fx->store);
    nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

#endif
