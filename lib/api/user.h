/* user.h: how a user is shown (dj-rest-auth's UserDetailsSerializer, without secrets) and the
 * username rules (Django's normalize_username and UnicodeUsernameValidator, allauth's username
 * generation), on the text module (text.h). */
#ifndef SA_USER_H
#define SA_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "codec/json_writer.h"
#include "store/store.h"

/* Write the members "pk","userId","username","email","first_name","last_name" into the open
 * object of w (dj-rest-auth's UserDetailsSerializer). Security: never a password hash or
 * Google's claims. */
void sa_user_fields(sa_jw *w, const sa_user *user);

/* The same as a whole object, as the next value of w. */
void sa_user_write(sa_jw *w, const sa_user *user);

/* DRF's messages for usernames and lengths (api.html#user; email is read-only there, so
 * its 254-character message is never sent). */
#define SA_USERNAME_INVALID_MESSAGE                                                           \
    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ " \
    "characters."
#define SA_MAX_150_MESSAGE "Ensure this field has no more than 150 characters."

/* Whether username (NUL-terminated, already NFKC) is a Django username: 1 to 150 characters,
 * each Python's `\w` (text.h) or one of @.+-. False for text that is not valid UTF-8. */
bool sa_username_valid(const char *username);

/* Django's rules for a username given by a client or an operator, in DRF's order: NFKC
 * (normalize_username) of in[0..len) (valid UTF-8) into out, then the validator, then the
 * length. Returns the number of messages put in msgs (0: valid, out holds the username):
 * SA_USERNAME_INVALID_MESSAGE, then SA_MAX_150_MESSAGE, each when it applies. */
size_t sa_username_check(const char *in, size_t len, char out[SA_USERNAME_MAX + 1],
                         const char *msgs[2]);

/* Which text field of a user (as read from the store) is not valid UTF-8, or NULL when all
 * are: records written before issue 9 may hold such bytes; the admin command names them. */
const char *sa_user_bad_text(const sa_user *user);

/* The base of a new user's username (api.html#google-login), as allauth's
 * _generate_unique_username_base: the first of given name, family name, e-mail that leaves a
 * valid username after NFKD, dropping non-ASCII, dropping what is not [A-Za-z0-9_@+.-] or
 * white space, lower-casing, keeping what comes before any '@', trimming and joining white
 * space runs with '_'; else "user". At most 30 characters (room for the store's unique
 * suffix). Written into out (size bytes, at least 31). */
void sa_username_from_profile(const char *given, const char *family, const char *email, char *out,
                              size_t size);

#endif
