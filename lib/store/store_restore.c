/* store_restore.c: a backup made by sa_store_backup() copied into a fresh db_home (store.h).
 *
 * The backup is already consistent on its own (recovered when it was taken), so restoring is
 * copying its database and log files, each flushed to disk before the next, into a directory
 * that holds nothing yet: a restore never overwrites a store. */
#include "store/store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The files a backup holds: databases and logs (no region files, no lock files). */
static bool backup_file(const char *name)
{
    size_t n = strlen(name);
    return (n > 3 && strcmp(name + n - 3, ".db") == 0) || strncmp(name, "log.", 4) == 0;
}

static sa_status copy_file(const char *from_dir, const char *to_dir, const char *name,
                           sa_error *err)
{
    char from[PATH_MAX], to[PATH_MAX], buf[65536];
    if ((size_t)snprintf(from, sizeof from, "%s/%s", from_dir, name) >= sizeof from ||
        (size_t)snprintf(to, sizeof to, "%s/%s", to_dir, name) >= sizeof to)
        return SA_FAIL(err, SA_ERR_INVALID, "restore: path too long");
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "restore: cannot read %s: %s", from,
                       strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "restore: cannot create %s: %s", to,
                       strerror(errno));
    }
    sa_status st = SA_OK;
    ssize_t n;
    while (st == SA_OK && (n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 || write(out, buf, (size_t)n) != n)
            st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "restore: copying %s: %s", name,
                         strerror(errno));
    }
    if (st == SA_OK && fsync(out) != 0)
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "restore: flushing %s: %s", to, strerror(errno));
    close(in);
    if (close(out) != 0 && st == SA_OK)
        st = SA_FAIL(err, SA_ERR_UNAVAILABLE, "restore: closing %s: %s", to, strerror(errno));
    return st;
}

/* db_home absent (created 0700) or an empty directory. */
static sa_status fresh_home(const char *db_home, sa_error *err)
{
    if (mkdir(db_home, 0700) == 0)
        return SA_OK;
    if (errno != EEXIST)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "restore: cannot create %s: %s", db_home,
                       strerror(errno));
    DIR *d = opendir(db_home);
    if (!d)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "restore: %s: %s", db_home, strerror(errno));
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (!empty)
        return SA_FAIL(err, SA_ERR_EXISTS,
                       "restore: %s is not empty: restore only into a new or empty directory "
                       "(move the old store away first)", db_home);
    return SA_OK;
}

/* Contract in store.h. */
sa_status sa_store_restore(const char *backup_dir, const char *db_home, sa_error *err)
{
    char probe[PATH_MAX];
    if ((size_t)snprintf(probe, sizeof probe, "%s/users.db", backup_dir) >= sizeof probe)
        return SA_FAIL(err, SA_ERR_INVALID, "restore: path too long");
    if (access(probe, R_OK) != 0)
        return SA_FAIL(err, SA_ERR_NOT_FOUND,
                       "restore: %s is not a readable socialauth backup (no users.db: %s)",
                       backup_dir, strerror(errno));
    sa_status st = fresh_home(db_home, err);
    if (st != SA_OK)
        return st;
    DIR *d = opendir(backup_dir);
    if (!d)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "restore: %s: %s", backup_dir, strerror(errno));
    struct dirent *e;
    while (st == SA_OK && (e = readdir(d)) != NULL)
        if (backup_file(e->d_name))
            st = copy_file(backup_dir, db_home, e->d_name, err);
    closedir(d);
    return st;
}
