/* import.c: `socialauth import-django FILE`: users and Google links from Django's
 * `manage.py dumpdata` JSON (a list of {"model","pk","fields"} objects).
 *
 * Users are the records of auth.user or of any model whose fields hold both "username" and
 * "password" (a custom user model such as one with a UUID primary key); links are
 * allauth's socialaccount.socialaccount records with provider "google". The file is read
 * one record at a time (a million users need no million-object tree), users first, then
 * links, each record in its own transaction: a bad record is reported by its position and
 * primary key and skipped, never half-written; importing the same file again changes
 * nothing. The whole list is checked as JSON before anything is written; a link attaches
 * only to a user whose record in the same file imported in this run. */
#include "cli.h"

#include "codec/json.h"
#include "api/user.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* A user record's pk in the file and whether it imported (created or updated) in this run. */
typedef struct import_owner {
    char *pk;   /* owned */
    bool ok;
} import_owner;

typedef struct import_run {
    const char *text;      /* the whole file (mapped) */
    size_t len;
    sa_store *store;
    cli_progress bar;
    uint64_t created, updated, linked, skipped, ignored;
    import_owner *owners;  /* every user record's pk, sorted after the user pass */
    size_t n_owners, cap_owners;
} import_run;

/* The extent of the next value of the top-level array at text[*pos]: *start and *n. Returns
 * false at the closing bracket or on a malformed list (then *pos is where it broke). */
static bool next_element(const char *text, size_t len, size_t *pos, size_t *start, size_t *n)
{
    size_t p = *pos;
    while (p < len && (text[p] == ' ' || text[p] == '\n' || text[p] == '\r' ||
                       text[p] == '\t' || text[p] == ','))
        p++;
    if (p >= len || text[p] == ']') {
        *pos = p;
        return false;
    }
    size_t depth = 0;
    bool in_string = false;
    *start = p;
    for (; p < len; p++) {
        char c = text[p];
        if (in_string) {
            if (c == '\\')
                p++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                break;
            if (--depth == 0) {
                p++;
                break;
            }
        } else if (depth == 0 && c == ',') {
            break;
        }
    }
    *n = p - *start;
    *pos = p;
    return *n > 0;
}

/* Django's datetime text as unix seconds (fractions dropped): what DjangoJSONEncoder writes,
 * "2023-05-17T08:30:15.123Z" or with a +HH:MM offset (USE_TZ = True), or naive
 * "2023-05-17T08:30:15.123456" (USE_TZ = False), which is taken as UTC. */
static bool parse_datetime(const char *s, int64_t *out)
{
    struct tm tm = {0};
    int off_h = 0, off_m = 0;
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return false;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            ;
    int sign = 0;
    if (*rest == '\0' || (*rest == 'Z' && rest[1] == '\0'))
        sign = 0;
    else if ((*rest == '+' || *rest == '-') && sscanf(rest + 1, "%2d:%2d", &off_h, &off_m) == 2 &&
             strlen(rest) == 6)
        sign = *rest == '+' ? 1 : -1;
    else
        return false;
    *out = (int64_t)timegm(&tm) - sign * (off_h * 3600 + off_m * 60);
    return true;
}

/* A JSON primary key (integer or string) as our id text. */
static bool pk_text(json_object *record, char *out, size_t size)
{
    json_object *pk = NULL;
    if (!json_object_object_get_ex(record, "pk", &pk) || !pk)
        return false;
    if (json_object_is_type(pk, json_type_int))
        return (size_t)snprintf(out, size, "%" PRId64, json_object_get_int64(pk)) < size;
    if (json_object_is_type(pk, json_type_string))
        return (size_t)snprintf(out, size, "%s", json_object_get_string(pk)) < size &&
               out[0];
    return false;
}

/* Copy the string field `key` of fields into dst (size bytes); absent or null gives "". */
static const char *copy_string(json_object *fields, const char *key, char *dst, size_t size)
{
    const char *s = "";
    size_t n = 0;
    sa_status st = sa_json_get_string(fields, key, &s, &n);
    if (st == SA_ERR_INVALID && !sa_json_is_null(fields, key))
        return "is not a string";
    if (st != SA_OK)
        n = 0;
    if (n >= size)
        return "is too long";
    memcpy(dst, s, n);
    dst[n] = '\0';
    return NULL;
}

static const char *read_bool(json_object *fields, const char *key, bool *out, bool fallback)
{
    sa_status st = sa_json_get_bool(fields, key, out);
    if (st == SA_ERR_NOT_FOUND)
        *out = fallback;
    return st == SA_ERR_INVALID ? "is not true or false" : NULL;
}

static const char *read_time(json_object *fields, const char *key, int64_t *out)
{
    const char *s;
    *out = 0;
    if (sa_json_get_string(fields, key, &s, NULL) != SA_OK)
        return sa_json_is_null(fields, key) || !json_object_object_get_ex(fields, key, NULL)
                   ? NULL : "is not a date and time";
    return parse_datetime(s, out) ? NULL
                                  : "is not a date and time like 2023-05-17T08:30:15.123Z, "
                                    "2023-05-17T10:30:15+02:00 or 2023-05-17T08:30:15";
}

/* Fill u from a user record's fields; NULL, or what is wrong (*field names it). */
static const char *user_from(json_object *fields, sa_user *u, const char **field)
{
    static const struct { const char *key; size_t offset, size; } strings[] = {
        {"username", offsetof(sa_user, username), SA_USERNAME_MAX + 1},
        {"email", offsetof(sa_user, email), SA_EMAIL_MAX + 1},
        {"first_name", offsetof(sa_user, first_name), SA_NAME_MAX + 1},
        {"last_name", offsetof(sa_user, last_name), SA_NAME_MAX + 1},
        {"password", offsetof(sa_user, password), SA_PASSWORD_MAX + 1},
    };
    const char *why = NULL;
    for (size_t i = 0; i < 5 && !why; i++) {
        *field = strings[i].key;
        why = copy_string(fields, strings[i].key, (char *)u + strings[i].offset, strings[i].size);
    }
    if (!why && !sa_username_valid(u->username))
        why = (*field = "username", "is not a valid username");
    if (!why)
        why = read_bool(fields, *field = "is_active", &u->is_active, true);
    if (!why)
        why = read_bool(fields, *field = "is_staff", &u->is_staff, false);
    if (!why)
        why = read_bool(fields, *field = "is_superuser", &u->is_superuser, false);
    if (!why)
        why = read_time(fields, *field = "date_joined", &u->date_joined);
    if (!why)
        why = read_time(fields, *field = "last_login", &u->last_login);
    return why;
}

typedef enum record_kind { RECORD_OTHER, RECORD_USER, RECORD_LINK } record_kind;

static record_kind kind_of(json_object *record, json_object **fields)
{
    const char *model = "";
    if (sa_json_get_string(record, "model", &model, NULL) != SA_OK ||
        !json_object_object_get_ex(record, "fields", fields) ||
        !json_object_is_type(*fields, json_type_object))
        return RECORD_OTHER;
    if (strcmp(model, "socialaccount.socialaccount") == 0)
        return RECORD_LINK;
    if (strcmp(model, "auth.user") == 0 ||
        (json_object_object_get_ex(*fields, "username", NULL) &&
         json_object_object_get_ex(*fields, "password", NULL)))
        return RECORD_USER;
    return RECORD_OTHER;
}

static void skip(import_run *run, size_t index, const char *pk, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void skip(import_run *run, size_t index, const char *pk, const char *fmt, ...)
{
    va_list ap;
    cli_progress_end(&run->bar);
    fprintf(stderr, "socialauth: import-django: record %zu (pk %s): ", index, pk[0] ? pk : "?");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": skipped\n");
    run->skipped++;
}

/* Remember that the user record with pk `pk` imported (ok) or was skipped. */
static void note_owner(import_run *run, const char *pk, bool ok)
{
    if (run->n_owners == run->cap_owners) {
        size_t cap = run->cap_owners ? 2 * run->cap_owners : 1024;
        import_owner *grown = realloc(run->owners, cap * sizeof *grown);
        if (!grown)
            return;   /* unknown owner: its links are then skipped, never misattached */
        run->owners = grown;
        run->cap_owners = cap;
    }
    char *copy = strdup(pk);
    if (copy)
        run->owners[run->n_owners++] = (import_owner){copy, ok};
}

static int owner_cmp(const void *a, const void *b)
{
    return strcmp(((const import_owner *)a)->pk, ((const import_owner *)b)->pk);
}

/* After the user pass: sort, and merge records sharing a pk (ok only when all were). */
static void owners_seal(import_run *run)
{
    size_t n = 0;
    if (run->n_owners)
        qsort(run->owners, run->n_owners, sizeof *run->owners, owner_cmp);
    for (size_t i = 0; i < run->n_owners; i++) {
        if (n && strcmp(run->owners[n - 1].pk, run->owners[i].pk) == 0) {
            run->owners[n - 1].ok = run->owners[n - 1].ok && run->owners[i].ok;
            free(run->owners[i].pk);
        } else {
            run->owners[n++] = run->owners[i];
        }
    }
    run->n_owners = n;
}

static void owners_free(import_run *run)
{
    for (size_t i = 0; i < run->n_owners; i++)
        free(run->owners[i].pk);
    free(run->owners);
}

/* The fields of the stored user `old` that importing `u` replaces, comma-separated in out. */
static void changed_fields(const sa_user *old, const sa_user *u, char *out, size_t size)
{
    const struct { const char *name; bool differs; } f[] = {
        {"username", strcmp(old->username, u->username) != 0},
        {"email", strcmp(old->email, u->email) != 0},
        {"first_name", strcmp(old->first_name, u->first_name) != 0},
        {"last_name", strcmp(old->last_name, u->last_name) != 0},
        {"is_active", old->is_active != u->is_active},
        {"is_staff", old->is_staff != u->is_staff},
        {"is_superuser", old->is_superuser != u->is_superuser},
        {"date_joined", old->date_joined != u->date_joined},
        {"last_login", old->last_login != u->last_login},
        {"password", CRYPTO_memcmp(old->password, u->password, sizeof u->password) != 0},
    };
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].differs && used < size)
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", f[i].name);
}

static void import_user(import_run *run, size_t index, const char *pk, json_object *fields)
{
    sa_user *u = calloc(1, sizeof *u), *old = calloc(1, sizeof *old);
    const char *field = "";
    sa_error err = {0};
    bool created, ok = false;
    char changed[160] = "";
    if (!u || !old) {
        skip(run, index, pk, "out of memory");
        free(u);
        free(old);
        note_owner(run, pk, false);
        return;
    }
    snprintf(u->id, sizeof u->id, "%s", pk);
    const char *why = user_from(fields, u, &field);
    if (!why && sa_store_user_get(run->store, SA_BY_ID, u->id, old, &err) == SA_OK)
        changed_fields(old, u, changed, sizeof changed);
    if (why)
        skip(run, index, pk, "%s %s", field, why);
    else if (sa_store_user_import(run->store, u, &created, &err) != SA_OK)
        err.status == SA_ERR_EXISTS
            ? skip(run, index, pk, "another user already has %s \"%s\"", err.msg,
                   cli_user_field(u, err.msg))
            : skip(run, index, pk, "%s", err.msg);
    else {
        ok = true;
        created ? run->created++ : run->updated++;
    }
    if (ok && changed[0]) {
        cli_progress_end(&run->bar);
        fprintf(stderr, "socialauth: import-django: record %zu (pk %s): user \"%s\": the file "
                        "replaced %s\n", index, pk, u->username, changed);
    }
    note_owner(run, pk, ok);
    sa_user_clear(u);
    sa_user_clear(old);
    OPENSSL_cleanse(u->password, sizeof u->password);
    OPENSSL_cleanse(old->password, sizeof old->password);
    free(u);
    free(old);
}

static void import_link(import_run *run, size_t index, const char *pk, json_object *fields)
{
    const char *provider = "", *sub = "";
    char user_id[SA_ID_MAX + 1];
    json_object *owner = NULL, *extra = NULL;
    if (sa_json_get_string(fields, "provider", &provider, NULL) != SA_OK ||
        strcmp(provider, "google") != 0) {
        run->ignored++;   /* another provider: nothing of ours to link */
        return;
    }
    json_object *wrap = json_object_new_object();
    if (json_object_object_get_ex(fields, "user", &owner))
        json_object_object_add(wrap, "pk", json_object_get(owner));
    bool owner_ok = pk_text(wrap, user_id, sizeof user_id);
    json_object_put(wrap);
    if (!owner_ok) {
        skip(run, index, pk, json_object_is_type(owner, json_type_array)
                                 ? "user is a natural key, not a primary key (dump without "
                                   "--natural-foreign)"
                                 : "user is not a primary key");
        return;
    }
    /* A link attaches only to the user this file's own record created or updated in this
     * run: never to a user already in the store whose record here was skipped or absent. */
    import_owner key = {user_id, false};
    const import_owner *found = run->n_owners ? bsearch(&key, run->owners, run->n_owners,
                                                 sizeof *run->owners, owner_cmp) : NULL;
    if (!found) {
        skip(run, index, pk, "its user %s has no user record in this file (dump the users "
                             "and their links together)", user_id);
        return;
    }
    if (!found->ok) {
        skip(run, index, pk, "its user record (pk %s) was skipped", user_id);
        return;
    }
    if (sa_json_get_string(fields, "uid", &sub, NULL) != SA_OK || !sub[0] ||
        strlen(sub) > SA_SUB_MAX) {
        skip(run, index, pk, "uid is not a Google account id");
        return;
    }
    sa_user u = {0};
    sa_error err = {0};
    bool created;
    if (sa_store_user_get(run->store, SA_BY_ID, user_id, &u, &err) != SA_OK) {
        skip(run, index, pk, "user %s %s", user_id,
             err.status == SA_ERR_NOT_FOUND ? "does not exist" : err.msg);
        return;
    }
    snprintf(u.google_sub, sizeof u.google_sub, "%s", sub);
    free(u.google_extra);
    u.google_extra = NULL;
    /* extra_data: an object (Django's JSONField) or JSON text in a string (allauth's own
     * JSONField before 0.52); kept compact, as a sign-in keeps Google's claims. */
    json_object *parsed = NULL;
    const char *text;
    size_t text_len;
    if (json_object_object_get_ex(fields, "extra_data", &extra) &&
        sa_json_get_string(fields, "extra_data", &text, &text_len) == SA_OK &&
        sa_json_parse(text, text_len, &parsed, NULL) == SA_OK)
        extra = parsed;
    if (extra && json_object_is_type(extra, json_type_object)) {
        const char *compact = sa_json_compact(extra, NULL);
        u.google_extra = compact ? strdup(compact) : NULL;
    }
    json_object_put(parsed);
    if (sa_store_user_import(run->store, &u, &created, &err) != SA_OK)
        err.status == SA_ERR_EXISTS
            ? skip(run, index, pk, "another user is already linked to Google account %s", sub)
            : skip(run, index, pk, "%s", err.msg);
    else
        run->linked++;
    sa_user_clear(&u);
}

/* Position just after the list's '[', or 0 when there is none. */
static size_t list_start(const char *text, size_t len)
{
    size_t pos = 0;
    while (pos < len && text[pos] != '[')
        pos++;
    return pos < len ? pos + 1 : 0;
}

/* Before anything is written: every element of the list must be JSON and the list must
 * close, so a truncated or corrupt file imports nothing. Reports what is wrong. */
static bool validate_list(const char *text, size_t len)
{
    size_t pos = list_start(text, len), start, n, index = 0;
    if (pos == 0) {
        fprintf(stderr, "socialauth: import-django: not a dumpdata list: no '['; nothing "
                        "imported\n");
        return false;
    }
    while (next_element(text, len, &pos, &start, &n)) {
        json_object *record = NULL;
        sa_error err = {0};
        index++;
        if (sa_json_parse(text + start, n, &record, &err) != SA_OK) {
            fprintf(stderr, "socialauth: import-django: record %zu (byte %zu) is not JSON: %s; "
                            "nothing imported\n", index, start, err.msg);
            return false;
        }
        json_object_put(record);
    }
    if (pos >= len || text[pos] != ']') {
        fprintf(stderr, "socialauth: import-django: the list breaks off at byte %zu (a "
                        "truncated file?); nothing imported\n", pos);
        return false;
    }
    return true;
}

/* One pass over the list, handling the records of `want`. Returns false when the list
 * itself is malformed (reported). */
static bool import_pass(import_run *run, record_kind want)
{
    size_t pos = list_start(run->text, run->len), start, n, index = 0;
    if (pos == 0)
        return false;   /* validate_list reported it */
    while (next_element(run->text, run->len, &pos, &start, &n)) {
        index++;
        cli_progress_update(&run->bar, (want == RECORD_USER ? 0 : run->len) + start);
        json_object *record = NULL, *fields = NULL;
        sa_error err = {0};
        char pk[SA_ID_MAX + 1] = "";
        if (sa_json_parse(run->text + start, n, &record, &err) != SA_OK ||
            !json_object_is_type(record, json_type_object)) {
            if (want == RECORD_USER)
                skip(run, index, pk, "not a dumpdata record (an object with model, pk and "
                                     "fields)%s%s", err.msg[0] ? ": " : "", err.msg);
            json_object_put(record);
            continue;
        }
        record_kind kind = kind_of(record, &fields);
        if (kind == want && !pk_text(record, pk, sizeof pk))
            skip(run, index, pk, "pk is missing, or not an integer or a string of at most %d "
                                 "bytes", SA_ID_MAX);
        else if (kind == want && kind == RECORD_USER)
            import_user(run, index, pk, fields);
        else if (kind == want && kind == RECORD_LINK)
            import_link(run, index, pk, fields);
        else if (kind == RECORD_OTHER && want == RECORD_USER)
            run->ignored++;
        json_object_put(record);
        /* Checkpoint now and then: it lets the log files already applied go, so a large
         * import does not fill the disk with log (1 MB per ~600 users). */
        if (index % 10000 == 0 && sa_store_checkpoint(run->store, &err) != SA_OK) {
            cli_progress_end(&run->bar);
            fprintf(stderr, "socialauth: import-django: checkpoint: %s\n", err.msg);
        }
    }
    if (pos >= run->len || run->text[pos] != ']') {
        cli_progress_end(&run->bar);
        fprintf(stderr, "socialauth: import-django: the list breaks off at byte %zu\n", pos);
        return false;
    }
    return true;
}

static int act_import(sa_config *cfg, sa_store *store, void *ctx)
{
    import_run *run = ctx;
    struct timespec t0, t1;
    sa_error err = {0};
    run->store = store;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cli_progress_begin(&run->bar, "import", 2 * (uint64_t)run->len);
    bool whole = import_pass(run, RECORD_USER);
    owners_seal(run);
    whole = whole && import_pass(run, RECORD_LINK);
    run->bar.shown_ms = 0;   /* draw the full bar once: the link pass may be too quick */
    cli_progress_update(&run->bar, 2 * (uint64_t)run->len);
    cli_progress_end(&run->bar);
    if (sa_store_flush(store, &err) != SA_OK)
        return cli_fail("import-django", &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    uint64_t users = run->created + run->updated;
    fprintf(stderr,
            "socialauth: import-django: %" PRIu64 " users (%" PRIu64 " new, %" PRIu64
            " updated), %" PRIu64 " Google links, %" PRIu64 " skipped, %" PRIu64
            " other records ignored, in %.1f s",
            users, run->created, run->updated, run->linked, run->skipped, run->ignored, secs);
    if (users && secs >= 0.1)
        fprintf(stderr, " (%.0f users/s)", (double)users / secs);
    fputc('\n', stderr);
    if (!whole)
        return CLI_EXIT_FAILED;
    return run->skipped ? CLI_EXIT_PROBLEMS : CLI_EXIT_OK;
}

int cli_import_django(int argc, char **argv)
{
    static const char usage[] =
        "usage: socialauth import-django FILE\n"
        "Imports users and their Google links from `manage.py dumpdata` JSON, e.g.\n"
        "  python manage.py dumpdata auth.user socialaccount.socialaccount > FILE\n"
        "(or your custom user model instead of auth.user). Keeps each user's primary key\n"
        "as its id (so tokens minted by Django with the same signing key keep working),\n"
        "username, e-mail, names, active/staff/superuser flags, date joined, last login,\n"
        "and the password hash exactly (never shown). allauth's Google accounts become\n"
        "Google links, only for users whose record in the same file imported. The file is\n"
        "checked whole first: a truncated or corrupt one imports nothing (exit 1). A bad\n"
        "record is reported by its position in the list and its pk, and skipped (exit 6\n"
        "when any was). Naive dates (USE_TZ = False) are read as UTC. Running it again\n"
        "overwrites local changes, naming each user it changes and the fields.\n";
    int rc = cli_start(&argc, argv, usage, NULL, 1, "one file");
    if (rc != CLI_GO_ON)
        return rc;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "socialauth: import-django: cannot open %s: %s\n", argv[1],
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return errno == ENOENT ? CLI_EXIT_NOT_FOUND : CLI_EXIT_FAILED;
    }
    if (S_ISDIR(st.st_mode)) {
        fprintf(stderr, "socialauth: import-django: %s is a directory, not a dumpdata file\n",
                argv[1]);
        close(fd);
        return CLI_EXIT_FAILED;
    }
    import_run run = {0};
    run.len = (size_t)st.st_size;
    void *map = run.len ? mmap(NULL, run.len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED) {
        fprintf(stderr, "socialauth: import-django: cannot read %s: %s\n", argv[1],
                run.len ? strerror(errno) : "empty file");
        return CLI_EXIT_FAILED;
    }
    run.text = map;
    rc = validate_list(run.text, run.len) ? cli_with_store(SA_STORE_SERVE, act_import, &run)
                                          : CLI_EXIT_FAILED;
    owners_free(&run);
    munmap(map, run.len);
    return rc;
}
