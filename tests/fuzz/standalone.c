/* standalone.c: replay fuzz seeds without libFuzzer, so `make test` runs every corpus.
 *
 * Linked with any fuzz target (tests/fuzz/fuzz_<name>.c) instead of -fsanitize=fuzzer:
 *   replay_<name> PATH...
 * feeds each file (each regular file of a directory, in name order) to
 * LLVMFuzzerTestOneInput once. A target's own invariant checks abort on a failure, so a
 * seed that breaks one fails the run like a crash would. Exits 1 when a PATH cannot be read
 * or holds no file (a renamed corpus must not pass silently), else prints how many inputs
 * ran and exits 0. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEED_MAX (1u << 20)   /* larger seeds are refused: keep corpora small */

/* Run one file; returns 0, or 1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    uint8_t *buf = malloc(SEED_MAX + 1);
    size_t n = buf ? fread(buf, 1, SEED_MAX + 1, f) : 0;
    int bad = !buf || ferror(f) || n > SEED_MAX;
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: cannot read, or larger than %u bytes\n", path, SEED_MAX);
        free(buf);
        return 1;
    }
    /* An exact-size copy, so that a read past the input is caught by valgrind or ASan. */
    uint8_t *input = malloc(n ? n : 1);
    if (!input) {
        free(buf);
        return 1;
    }
    memcpy(input, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(input, n);
    free(input);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Run path (a file or a directory of files); *ran counts inputs. Returns failures. */
static int replay_path(const char *path, size_t *ran)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*ran)++;
        return replay_file(path);
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, by_name), failed = 0;
    size_t before = *ran;
    for (int i = 0; i < n; i++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
            (*ran)++;
            failed += replay_file(file);
        }
        free(names[i]);
    }
    free(names);
    if (n < 0 || *ran == before) {
        fprintf(stderr, "%s: no seed files\n", path);
        failed++;
    }
    return failed;
}

int main(int argc, char **argv)
{
    size_t ran = 0;
    int failed = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        failed += replay_path(argv[i], &ran);
    printf("%s: %zu inputs replayed%s\n", argv[0], ran, failed ? ", with failures" : "");
    return failed ? 1 : 0;
}
