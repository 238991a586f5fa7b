/* standalone.c: replays fuzz corpora without libFuzzer, so `make test` checks every seed
 * (and every crash input kept as a regression) with the ordinary compiler.
 *
 * usage: fuzz_<target>-replay DIR...
 * Feeds every regular file of every DIR to LLVMFuzzerTestOneInput, once, in name order.
 * Exits 1 when a DIR is missing, unreadable or holds no file (a corpus that silently vanished
 * must not pass); a broken invariant aborts. Prints "<n> inputs replayed" per DIR. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (cap - len < 4096) {
            uint8_t *more = realloc(buf, cap = cap * 2 + 4096);
            if (!more) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = more;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    int bad = ferror(f);
    fclose(f);
    /* An exact-size copy, so that reading past the input is caught by sanitizers. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!bad && exact) {
        memcpy(exact, buf, len);
        LLVMFuzzerTestOneInput(exact, len);
    }
    free(exact);
    free(buf);
    return bad || !exact ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct dirent **names;
        int n = scandir(argv[i], &names, NULL, alphasort), files = 0;
        if (n < 0) {
            fprintf(stderr, "%s: cannot read corpus %s\n", argv[0], argv[i]);
            return 1;
        }
        for (int j = 0; j < n; j++) {
            char path[4096];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", argv[i], names[j]->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (replay_file(path) != 0) {
                    fprintf(stderr, "%s: cannot read %s\n", argv[0], path);
                    return 1;
                }
                files++;
            }
            free(names[j]);
        }
        free(names);
        if (files == 0) {
            fprintf(stderr, "%s: corpus %s is empty\n", argv[0], argv[i]);
            return 1;
        }
        printf("%s: %d inputs replayed from %s\n", argv[0], files, argv[i]);
    }
    return 0;
}
