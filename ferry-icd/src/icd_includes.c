/* icd_includes.c: guest headers for the host's compiler. A build's "-I DIR" names directories in the guest, which
 * the host's compiler cannot read (and the host refuses options that read files). So before a build the ICD
 * replaces each #include line whose file it finds in those directories (or, for a quoted include inside a guest
 * header, next to that header) with the file's text, between #line markers so the compiler's messages still name
 * the right file and line. Includes it cannot find are left for the host's compiler (its own headers). pyopencl
 * depends on this: its generated kernels include pyopencl-complex.h from its package directory. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "icd_objects.h"

#define MAX_DIRS 32
#define MAX_DEPTH 16
#define MAX_FILES 256
#define MAX_EXPANDED (64u << 20)

typedef struct text {
    char *data;
    size_t length, capacity;
    int failed;
} text;

typedef struct expansion {
    const char *dirs[MAX_DIRS];
    int dir_count;
    char *once[MAX_FILES];          /* real paths of files with #pragma once already inlined */
    int once_count;
    int inlined;
} expansion;

static void put(text *t, const char *s, size_t n) {
    if (t->failed) {
        return;
    }
    if (t->length + n + 1 > t->capacity) {
        size_t cap = t->capacity ? t->capacity : 4096;
        while (t->length + n + 1 > cap) {
            cap *= 2;
        }
        char *d = cap <= MAX_EXPANDED ? realloc(t->data, cap) : NULL;
        if (!d) {
            t->failed = 1;
            return;
        }
        t->data = d;
        t->capacity = cap;
    }
    memcpy(t->data + t->length, s, n);
    t->length += n;
    t->data[t->length] = 0;
}

static void put_line_marker(text *t, long line, const char *file) {
    char buf[PATH_MAX + 64];
    int n = snprintf(buf, sizeof buf, "#line %ld \"%s\"\n", line, file);
    if (n > 0 && (size_t) n < sizeof buf) {
        put(t, buf, (size_t) n);
    }
}

static char *read_file(const char *path, size_t *length) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    text t = { 0 };
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        put(&t, buf, n);
    }
    fclose(f);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    if (!t.data) {
        put(&t, "", 0);
        t.data = calloc(1, 1);
    }
    *length = t.length;
    return t.data;
}

/* The include line's file name and kind ('"' or '<'), or 0 when the line is not an #include. */
static char include_name(const char *line, size_t length, char *name, size_t name_size) {
    const char *p = line, *end = line + length;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if (p == end || *p != '#') {
        return 0;
    }
    p++;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if ((size_t) (end - p) < 7 || strncmp(p, "include", 7) != 0) {
        return 0;
    }
    p += 7;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if (p == end || (*p != '"' && *p != '<')) {
        return 0;
    }
    char close = *p == '"' ? '"' : '>';
    const char *s = ++p;
    while (p < end && *p != close) {
        p++;
    }
    if (p == end || p == s || (size_t) (p - s) >= name_size) {
        return 0;
    }
    memcpy(name, s, (size_t) (p - s));
    name[p - s] = 0;
    return close == '"' ? '"' : '<';
}

static int is_pragma_once(const char *line, size_t length) {
    char buf[64];
    size_t n = 0;
    for (size_t i = 0; i < length && n + 1 < sizeof buf; i++) {
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
            buf[n++] = line[i];
        }
    }
    buf[n] = 0;
    return strcmp(buf, "#pragmaonce") == 0;
}

/* Finds name in the including file's directory (quoted includes of guest headers) or the -I directories. */
static int find(const expansion *x, const char *name, char kind, const char *from_dir, char *out) {
    if (name[0] == '/') {
        return 0; /* an absolute path: not a -I lookup; left to the host's compiler, which will say it is missing */
    }
    char path[PATH_MAX];
    if (kind == '"' && from_dir) {
        if (snprintf(path, sizeof path, "%s/%s", from_dir, name) < (int) sizeof path && realpath(path, out)) {
            return 1;
        }
    }
    for (int i = 0; i < x->dir_count; i++) {
        if (snprintf(path, sizeof path, "%s/%s", x->dirs[i], name) < (int) sizeof path && realpath(path, out)) {
            return 1;
        }
    }
    return 0;
}

static int expand(expansion *x, text *out, const char *src, size_t length, const char *file, const char *dir,
                  int depth) {
    long line_no = 1;
    const char *p = src, *end = src + length;
    while (p < end && !out->failed) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        const char *line_end = nl ? nl : end;
        char name[PATH_MAX], real[PATH_MAX];
        char kind = include_name(p, (size_t) (line_end - p), name, sizeof name);
        if (kind && depth < MAX_DEPTH && find(x, name, kind, dir, real)) {
            int skip = 0;
            for (int i = 0; i < x->once_count; i++) {
                skip |= strcmp(x->once[i], real) == 0;
            }
            size_t n = 0;
            char *body = skip ? NULL : read_file(real, &n);
            if (body) {
                if (memmem(body, n, "pragma", 6) && x->once_count < MAX_FILES) {
                    for (const char *q = body; q < body + n;) { /* a #pragma once file is inlined once */
                        const char *e = memchr(q, '\n', (size_t) (body + n - q));
                        e = e ? e : body + n;
                        if (is_pragma_once(q, (size_t) (e - q))) {
                            x->once[x->once_count++] = strdup(real);
                            break;
                        }
                        q = e + 1;
                    }
                }
                char real_dir[PATH_MAX];
                strcpy(real_dir, real);
                char *slash = strrchr(real_dir, '/');
                if (slash) {
                    *slash = 0;
                }
                put_line_marker(out, 1, real);
                expand(x, out, body, n, real, real_dir, depth + 1);
                put(out, "\n", 1);
                put_line_marker(out, line_no + 1, file);
                free(body);
                x->inlined++;
            } else if (skip) {
                put(out, "\n", 1);
            } else {
                put(out, p, (size_t) (line_end - p));
                put(out, "\n", 1);
            }
        } else if (depth > 0 && is_pragma_once(p, (size_t) (line_end - p))) {
            put(out, "\n", 1); /* handled above: in one text it would only draw a warning */
        } else {
            put(out, p, (size_t) (line_end - p));
            if (nl) {
                put(out, "\n", 1);
            }
        }
        line_no++;
        p = nl ? nl + 1 : end;
    }
    return !out->failed;
}

char *ferry_inline_includes(const char *source, size_t length, const char *options) {
    if (!options || !strstr(options, "-I")) {
        return NULL;
    }
    expansion x = { 0 };
    char *copy = strdup(options);
    if (!copy) {
        return NULL;
    }
    char *save = NULL;
    for (char *w = strtok_r(copy, " \t", &save); w && x.dir_count < MAX_DIRS; w = strtok_r(NULL, " \t", &save)) {
        if (strcmp(w, "-I") == 0) {
            char *d = strtok_r(NULL, " \t", &save);
            if (d) {
                x.dirs[x.dir_count++] = d;
            }
        } else if (strncmp(w, "-I", 2) == 0) {
            x.dirs[x.dir_count++] = w + 2;
        }
    }
    char *result = NULL;
    if (x.dir_count > 0) {
        text out = { 0 };
        if (expand(&x, &out, source, length, "source", NULL, 0) && x.inlined > 0) {
            result = out.data;
            ferry_log("build: %d guest header(s) from the -I directories inlined into the source", x.inlined);
        } else {
            free(out.data);
        }
    }
    for (int i = 0; i < x.once_count; i++) {
        free(x.once[i]);
    }
    free(copy);
    return result;
}
