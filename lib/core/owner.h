/* owner.h: who owns the store and the key, and running the admin command as that owner.
 *
 * The web server runs the endpoints as a service user (Debian: www-data). Files that root
 * creates in db_home (by `socialauth init` or any command run as root) would then be
 * unreadable to the endpoints, and the store answers 503. So: `init` as root hands db_home
 * and the key file to `service_user` (or refuses, printing the chown to run), and every
 * command run as root works as the owner of db_home. */
#ifndef SA_OWNER_H
#define SA_OWNER_H

#include <stddef.h>

#include "core/sa_error.h"

/* For `socialauth init` run as root with `service_user` set (otherwise SA_OK, no change):
 * creates db_home (mode 0700) when absent and gives it to the user; when db_home or
 * key_file ("" for an inline key) exists owned by someone else, refuses.
 * Returns SA_OK; SA_ERR_CONFIG when the user does not exist (err names it);
 * SA_ERR_UNAVAILABLE when a path is owned by another user (err holds the exact
 * `chown -R USER:GROUP PATH` to run) or cannot be created or changed (err names path, user
 * and errno's text). */
sa_status sa_owner_prepare(const char *db_home, const char *key_file, const char *service_user,
                           sa_error *err);

/* Give path (a file root just created) to service_user; SA_OK when not root or the user is
 * "". SA_ERR_CONFIG for an unknown user, SA_ERR_UNAVAILABLE when chown fails (err names
 * path and user). */
sa_status sa_owner_give(const char *path, const char *service_user, sa_error *err);

/* When running as root and db_home exists owned by another user: become that user (its
 * group and supplementary groups too, then the uid), so that every file the store creates
 * or touches stays the owner's. SA_OK also when there is nothing to do (not root, db_home
 * absent or root's). SA_ERR_UNAVAILABLE when switching fails (err names the user). */
sa_status sa_owner_become_store_owner(const char *db_home, sa_error *err);

/* Describe why the current process may not use path, for permission errors:
 * "(as USER; PATH owned by OWNER, mode 0NNN)", naming path's directory instead when path
 * itself cannot be looked at, or "(as USER)" when neither can.
 * Writes at most size bytes, always NUL-terminated; returns out. */
char *sa_owner_describe(const char *path, char *out, size_t size);

#endif
