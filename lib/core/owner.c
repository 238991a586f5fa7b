/* owner.c: ownership of db_home and the key file (see owner.h). */
#include "core/owner.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *user_name(uid_t uid, char *buf, size_t size)
{
    struct passwd *pw = getpwuid(uid);
    if (pw)
        snprintf(buf, size, "%s", pw->pw_name);
    else
        snprintf(buf, size, "uid %u", (unsigned)uid);
    return buf;
}

char *sa_owner_describe(const char *path, char *out, size_t size)
{
    char me[64], owner[64], dir[4096];
    struct stat st;
    user_name(geteuid(), me, sizeof me);
    /* A file in a directory we may not enter cannot be looked at: describe the directory. */
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    bool found = stat(path, &st) == 0;
    if (!found && slash && slash != dir) {
        *slash = '\0';
        found = stat(dir, &st) == 0;
        path = dir;
    }
    if (found)
        snprintf(out, size, "(as %s; %s owned by %s, mode 0%o)", me, path,
                 user_name(st.st_uid, owner, sizeof owner), (unsigned)(st.st_mode & 07777));
    else
        snprintf(out, size, "(as %s)", me);
    return out;
}

/* The configured service user's account, when running as root with one set: SA_OK and *found
 * true; SA_OK and *found false when there is nothing to do; SA_ERR_CONFIG for no such user.
 * pw's strings live in buf (size bytes). */
static sa_status service_account(const char *name, struct passwd *pw, char *buf, size_t size,
                                 bool *found, sa_error *err)
{
    struct passwd *res = NULL;
    *found = false;
    if (geteuid() != 0 || !name || !name[0])
        return SA_OK;
    if (getpwnam_r(name, pw, buf, size, &res) != 0 || !res)
        return SA_FAIL(err, SA_ERR_CONFIG, "service_user `%s`: no such user", name);
    *found = true;
    return SA_OK;
}

static sa_status refuse_other_owner(const char *path, const struct stat *st,
                                    const struct passwd *pw, sa_error *err)
{
    char owner[64];
    struct group *g = getgrgid(pw->pw_gid);
    return SA_FAIL(err, SA_ERR_UNAVAILABLE,
                   "%s is owned by %s, not by service_user %s: run `chown %s%s:%s %s`", path,
                   user_name(st->st_uid, owner, sizeof owner), pw->pw_name,
                   S_ISDIR(st->st_mode) ? "-R " : "", pw->pw_name, g ? g->gr_name : "",
                   path);
}

sa_status sa_owner_prepare(const char *db_home, const char *key_file, const char *service_user,
                           sa_error *err)
{
    struct passwd pw;
    char buf[1024];
    bool found;
    sa_status s = service_account(service_user, &pw, buf, sizeof buf, &found, err);
    if (s != SA_OK || !found)
        return s;
    struct stat st;
    if (key_file && key_file[0] && stat(key_file, &st) == 0 && st.st_uid != pw.pw_uid)
        return refuse_other_owner(key_file, &st, &pw, err);
    if (stat(db_home, &st) == 0)
        return st.st_uid == pw.pw_uid ? SA_OK : refuse_other_owner(db_home, &st, &pw, err);
    if (mkdir(db_home, 0700) != 0)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "cannot create %s (as root): %s", db_home,
                       strerror(errno));
    return sa_owner_give(db_home, service_user, err);
}

sa_status sa_owner_give(const char *path, const char *service_user, sa_error *err)
{
    struct passwd pw;
    char buf[1024];
    bool found;
    sa_status s = service_account(service_user, &pw, buf, sizeof buf, &found, err);
    if (s != SA_OK || !found)
        return s;
    if (chown(path, pw.pw_uid, pw.pw_gid) != 0)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "cannot give %s to %s: %s", path, pw.pw_name,
                       strerror(errno));
    return SA_OK;
}

sa_status sa_owner_become_store_owner(const char *db_home, sa_error *err)
{
    struct stat st;
    if (geteuid() != 0 || stat(db_home, &st) != 0 || st.st_uid == 0)
        return SA_OK;
    char name[64];
    user_name(st.st_uid, name, sizeof name);
    struct passwd *pw = getpwuid(st.st_uid);
    /* Security: groups first, the uid last (after setuid we could no longer change them);
     * each call checked, so a failure never leaves the command half root. */
    int rc = pw ? initgroups(pw->pw_name, st.st_gid) : setgroups(0, NULL);
    if (rc != 0 || setgid(st.st_gid) != 0 || setuid(st.st_uid) != 0)
        return SA_FAIL(err, SA_ERR_UNAVAILABLE, "cannot switch to %s, the owner of %s: %s",
                       name, db_home, strerror(errno));
    return SA_OK;
}
