/* tee_demo.c: a plain GlobalPlatform TEE client (only tee_client_api.h, nothing Ferry-specific) that
 * `./ferry native-demo` runs in two guests through Ferry's libteec. Built here against Ferry's ABI-compatible header
 * (Debian packages no OP-TEE client header); the same source builds against OP-TEE's. One line per part:
 *   hello      a session to the hello TA: INCREMENT 41 -> 42, and 100 more
 *   storage    (store VALUE) writes VALUE as object 'demo-object' in the storage TA and reads it back
 *   isolation  (absent) the object is not in this guest's storage: ITEM_NOT_FOUND, origin TRUSTED_APP;
 *              (check VALUE) the object still reads VALUE (another guest's write did not reach it)
 * Usage: tee_demo store VALUE | absent | check VALUE.   Exit 0 when every part verified, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tee_client_api.h>

static const TEEC_UUID HELLO = {0xf3a1e7c0, 0x0001, 0x4e11, {0x8f, 0x00, 0, 0, 0, 0, 0, 0xa1}};
static const TEEC_UUID STORAGE = {0xf3a1e7c0, 0x0002, 0x4e11, {0x8f, 0x00, 0, 0, 0, 0, 0, 0xa2}};
static const char OBJECT[] = "demo-object";
static int failed;

static void verdict(const char *part, int ok, const char *detail) {
    printf("%-10s %s  %s\n", part, ok ? "verified" : "FAILED  ", detail);
    failed |= !ok;
}

static void hello(TEEC_Context *ctx) {
    TEEC_Session s;
    uint32_t origin = 0;
    char detail[160];
    TEEC_Result rc = TEEC_OpenSession(ctx, &s, &HELLO, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin);
    if (rc != TEEC_SUCCESS) {
        snprintf(detail, sizeof detail, "TEEC_OpenSession: 0x%08x origin %u", rc, origin);
        verdict("hello", 0, detail);
        return;
    }
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INOUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    op.params[0].value.a = 41;
    rc = TEEC_InvokeCommand(&s, 0, &op, &origin);
    uint32_t first = op.params[0].value.a;
    for (int i = 0; i < 100 && rc == TEEC_SUCCESS; i++) rc = TEEC_InvokeCommand(&s, 0, &op, &origin);
    snprintf(detail, sizeof detail, "INCREMENT 41 -> %u, then 100 more -> %u (0x%08x)", first, op.params[0].value.a,
             rc);
    verdict("hello", rc == TEEC_SUCCESS && first == 42 && op.params[0].value.a == 142, detail);
    TEEC_CloseSession(&s);
}

/* READ of the object into out: the result (and its origin); *length the object's size. */
static TEEC_Result read_object(TEEC_Session *s, char *out, size_t size, size_t *length, uint32_t *origin) {
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
    op.params[0].tmpref.buffer = (void *) OBJECT;
    op.params[0].tmpref.size = strlen(OBJECT);
    op.params[1].tmpref.buffer = out;
    op.params[1].tmpref.size = size;
    TEEC_Result rc = TEEC_InvokeCommand(s, 1, &op, origin);
    *length = op.params[1].tmpref.size;
    return rc;
}

static void storage(TEEC_Context *ctx, const char *mode, const char *value) {
    TEEC_Session s;
    uint32_t origin = 0;
    char detail[300], back[256];
    size_t length = 0;
    TEEC_Result rc = TEEC_OpenSession(ctx, &s, &STORAGE, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin);
    if (rc != TEEC_SUCCESS) {
        snprintf(detail, sizeof detail, "TEEC_OpenSession: 0x%08x origin %u", rc, origin);
        verdict(strcmp(mode, "store") == 0 ? "storage" : "isolation", 0, detail);
        return;
    }
    if (strcmp(mode, "store") == 0) {
        TEEC_Operation op;
        memset(&op, 0, sizeof op);
        op.paramTypes = TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_INPUT, TEEC_NONE, TEEC_NONE);
        op.params[0].tmpref.buffer = (void *) OBJECT;
        op.params[0].tmpref.size = strlen(OBJECT);
        op.params[1].tmpref.buffer = (void *) value;
        op.params[1].tmpref.size = strlen(value);
        rc = TEEC_InvokeCommand(&s, 2, &op, &origin);
        if (rc == TEEC_SUCCESS) rc = read_object(&s, back, sizeof back, &length, &origin);
        int ok = rc == TEEC_SUCCESS && length == strlen(value) && memcmp(back, value, length) == 0;
        snprintf(detail, sizeof detail, "stored '%s' as '%s' in the storage TA and read it back (0x%08x)", value,
                 OBJECT, rc);
        verdict("storage", ok, detail);
    } else if (strcmp(mode, "absent") == 0) {
        rc = read_object(&s, back, sizeof back, &length, &origin);
        snprintf(detail, sizeof detail, "'%s' is not in this guest's storage: 0x%08x origin %u (ITEM_NOT_FOUND from "
                 "the TA expected)", OBJECT, rc, origin);
        verdict("isolation", rc == TEEC_ERROR_ITEM_NOT_FOUND && origin == TEEC_ORIGIN_TRUSTED_APP, detail);
    } else {
        rc = read_object(&s, back, sizeof back, &length, &origin);
        int ok = rc == TEEC_SUCCESS && length == strlen(value) && memcmp(back, value, length) == 0;
        snprintf(detail, sizeof detail, "'%s' still reads '%.*s' in this guest's storage (0x%08x)", OBJECT,
                 rc == TEEC_SUCCESS && length < sizeof back ? (int) length : 0, back, rc);
        verdict("isolation", ok, detail);
    }
    TEEC_CloseSession(&s);
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "absent") != 0 && argc < 3)
        || (strcmp(argv[1], "store") != 0 && strcmp(argv[1], "absent") != 0 && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "usage: tee_demo store VALUE | absent | check VALUE\n");
        return 2;
    }
    TEEC_Context ctx;
    TEEC_Result rc = TEEC_InitializeContext(NULL, &ctx);
    if (rc != TEEC_SUCCESS) {
        printf("tee_demo: TEEC_InitializeContext failed: 0x%08x\n", rc);
        return 1;
    }
    hello(&ctx);
    storage(&ctx, argv[1], argc > 2 ? argv[2] : "");
    TEEC_FinalizeContext(&ctx);
    return failed;
}
