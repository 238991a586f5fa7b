/* user.h: how a user is shown (dj-rest-auth's UserDetailsSerializer, without secrets) and the
 * username rules (Django's UnicodeUsernameValidator, allauth's username generation). */
#ifndef SA_USER_H
#define SA_USER_H

#include <stdbool.h>
#include <json-c/json.h>

#include "json_writer.h"
#include "store.h"

/* Write the members "pk","userId","username","email","first_name","last_name" into the open
 * object of w (dj-rest-auth's UserDetailsSerializer). Security: never a password hash or
 * Google's claims. */
void sa_user_fields(sa_jw *w, const sa_user *user);

/* The same as a whole object, as the next value of w. */
void sa_user_write(sa_jw *w, const sa_user *user);

/* Django's rule: 1 to 150 characters, each a letter (any script), digit, or one of @.+-_.
 * Letters outside ASCII are accepted as valid UTF-8 sequences. */
bool sa_username_valid(const char *username);

/* The base of a new user's username (API.md section 3): the first of given name, family name,
 * e-mail local part that leaves something after folding to ASCII, lower-casing and keeping
 * [a-z0-9@.+-_]; else "user". Written into out (at most size-1 bytes, size <= 151). The store
 * makes it unique. */
void sa_username_from_profile(const char *given, const char *family, const char *email, char *out,
                              size_t size);

#endif
