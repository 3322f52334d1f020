/* optee_examples_test: the ports of OP-TEE's example TAs (io.ferry.tee.ta.examples), called as their own client
 * programs call them: the same UUIDs, commands and parameter kinds (tools/compat/optee-examples.sh runs those
 * programs themselves, from a checkout of optee_examples). Known answers where the algorithm has them: RFC 4226's
 * HOTP values, FIPS-197's AES-128 example, SHA-256 and SHA3-256 of "abc", and a CTR round trip. */
#include "teectest.h"

static const TEEC_UUID HELLO_WORLD_TA = {0x8aaaf200, 0x2450, 0x11e4, {0xab, 0xe2, 0x00, 0x02, 0xa5, 0xd5, 0xc5, 0x1b}};
static const TEEC_UUID RANDOM_TA = {0xb6c53aba, 0x9669, 0x4668, {0xa7, 0xf2, 0x20, 0x56, 0x29, 0xd0, 0x0f, 0x86}};
static const TEEC_UUID SECURE_STORAGE_TA = {0xf4e750bb, 0x1437, 0x4fbf,
                                            {0x87, 0x85, 0x8d, 0x35, 0x80, 0xc3, 0x49, 0x94}};
static const TEEC_UUID HOTP_TA = {0x484d4143, 0x2d53, 0x4841, {0x31, 0x20, 0x4a, 0x6f, 0x63, 0x6b, 0x65, 0x42}};
static const TEEC_UUID AES_TA = {0x5dbac793, 0xf574, 0x4871, {0x8a, 0xd3, 0x04, 0x33, 0x1e, 0xc1, 0x7f, 0x24}};
static const TEEC_UUID ACIPHER_TA = {0xa734eed9, 0xd6a1, 0x4244, {0xaa, 0x50, 0x7c, 0x99, 0x71, 0x9e, 0x7b, 0x7b}};
static const TEEC_UUID BASE_SHA_TA = {0xabb97be3, 0xf56b, 0x46d5, {0xb7, 0xfd, 0x70, 0xf2, 0x8c, 0xfe, 0xd9, 0x92}};
static const TEEC_UUID ECDH_TA = {0x50c82425, 0x94da, 0x4072, {0xa3, 0xe0, 0x58, 0xef, 0x06, 0x37, 0x67, 0xc0}};

static TEEC_Context ctx;

static void open_ta(TEEC_Session *s, const TEEC_UUID *uuid, const char *what) {
    uint32_t origin = 0;
    MUST(TEEC_OpenSession(&ctx, s, uuid, TEEC_LOGIN_PUBLIC, NULL, NULL, &origin), what);
}

static TEEC_Operation ops(uint32_t types) {
    TEEC_Operation op;
    memset(&op, 0, sizeof op);
    op.paramTypes = types;
    return op;
}

static void hello_world(void) {
    TEEC_Session s;
    open_ta(&s, &HELLO_WORLD_TA, "open hello_world");
    TEEC_Operation op = ops(TEEC_PARAM_TYPES(TEEC_VALUE_INOUT, TEEC_NONE, TEEC_NONE, TEEC_NONE));
    op.params[0].value.a = 42;
    uint32_t origin = 0;
    TEEC_Result rc = TEEC_InvokeCommand(&s, 0, &op, &origin);
    CHECK(rc == TEEC_SUCCESS && op.params[0].value.a == 43, "INC_VALUE: 0x%x, %u", rc, op.params[0].value.a);
    rc = TEEC_InvokeCommand(&s, 1, &op, &origin);
    rc = rc == TEEC_SUCCESS ? TEEC_InvokeCommand(&s, 1, &op, &origin) : rc;
    CHECK(rc == TEEC_SUCCESS && op.params[0].value.a == 41, "DEC_VALUE twice: 0x%x, %u", rc, op.params[0].value.a);
    op.paramTypes = TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE);
    rc = TEEC_InvokeCommand(&s, 0, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_TRUSTED_APP, "INC_VALUE with a value input");
    TEEC_CloseSession(&s);
}

static void random_ta(void) {
    TEEC_Session s;
    open_ta(&s, &RANDOM_TA, "open random");
    uint8_t a[16] = {0}, b[16] = {0};
    TEEC_Operation op = ops(TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE));
    op.params[0].tmpref.buffer = a;
    op.params[0].tmpref.size = sizeof a;
    uint32_t origin = 0;
    TEEC_Result rc = TEEC_InvokeCommand(&s, 0, &op, &origin);
    op.params[0].tmpref.buffer = b;
    rc = rc == TEEC_SUCCESS ? TEEC_InvokeCommand(&s, 0, &op, &origin) : rc;
    CHECK(rc == TEEC_SUCCESS && op.params[0].tmpref.size == 16, "GENERATE: 0x%x, %zu bytes", rc,
          op.params[0].tmpref.size);
    CHECK(memcmp(a, b, sizeof a) != 0, "two draws of 16 random bytes are equal");
    TEEC_CloseSession(&s);
}

static TEEC_Result storage(TEEC_Session *s, uint32_t cmd, const char *id, void *data, size_t *size, uint32_t kind,
                           uint32_t *origin) {
    TEEC_Operation op = ops(TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, kind, TEEC_NONE, TEEC_NONE));
    op.params[0].tmpref.buffer = (void *) id;
    op.params[0].tmpref.size = strlen(id);
    if (kind != TEEC_NONE) {
        op.params[1].tmpref.buffer = data;
        op.params[1].tmpref.size = *size;
    }
    TEEC_Result rc = TEEC_InvokeCommand(s, cmd, &op, origin);
    if (kind != TEEC_NONE) *size = op.params[1].tmpref.size;
    return rc;
}

static void secure_storage(void) {
    enum { READ_RAW = 0, WRITE_RAW = 1, DELETE = 2 };
    TEEC_Session s;
    open_ta(&s, &SECURE_STORAGE_TA, "open secure_storage");
    static char data[7000], back[7000];
    memset(data, 0xA1, sizeof data);
    uint32_t origin = 0;
    size_t n = sizeof data;
    storage(&s, DELETE, "object#1", NULL, NULL, TEEC_NONE, &origin); /* a run before may have left it */
    TEEC_Result rc = storage(&s, WRITE_RAW, "object#1", data, &n, TEEC_MEMREF_TEMP_INPUT, &origin);
    CHECK(rc == TEEC_SUCCESS, "WRITE_RAW: 0x%x origin %u", rc, origin);
    n = 100;
    rc = storage(&s, READ_RAW, "object#1", back, &n, TEEC_MEMREF_TEMP_OUTPUT, &origin);
    CHECK(rc == TEEC_ERROR_SHORT_BUFFER && n == sizeof data, "READ_RAW into 100 bytes: 0x%x, size %zu", rc, n);
    n = sizeof back;
    rc = storage(&s, READ_RAW, "object#1", back, &n, TEEC_MEMREF_TEMP_OUTPUT, &origin);
    CHECK(rc == TEEC_SUCCESS && n == sizeof data && memcmp(data, back, n) == 0, "READ_RAW: 0x%x, %zu bytes", rc, n);
    rc = storage(&s, DELETE, "object#1", NULL, NULL, TEEC_NONE, &origin);
    CHECK(rc == TEEC_SUCCESS, "DELETE: 0x%x", rc);
    n = sizeof back;
    rc = storage(&s, READ_RAW, "object#1", back, &n, TEEC_MEMREF_TEMP_OUTPUT, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_ITEM_NOT_FOUND, TEEC_ORIGIN_TRUSTED_APP, "READ_RAW after DELETE");
    rc = storage(&s, DELETE, "object#1", NULL, NULL, TEEC_NONE, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_ITEM_NOT_FOUND, TEEC_ORIGIN_TRUSTED_APP, "DELETE twice");
    TEEC_CloseSession(&s);
}

static void hotp(void) {
    /* RFC 4226, appendix D: the secret "12345678901234567890" and the first ten values */
    static const uint32_t expected[10] = {755224, 287082, 359152, 969429, 338314,
                                          254676, 287922, 162583, 399871, 520489};
    TEEC_Session s;
    open_ta(&s, &HOTP_TA, "open hotp");
    char key[] = "12345678901234567890";
    TEEC_Operation op = ops(TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE));
    op.params[0].tmpref.buffer = key;
    op.params[0].tmpref.size = 20;
    uint32_t origin = 0;
    MUST(TEEC_InvokeCommand(&s, 0, &op, &origin), "REGISTER_SHARED_KEY");
    op = ops(TEEC_PARAM_TYPES(TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE));
    for (int i = 0; i < 10; i++) {
        TEEC_Result rc = TEEC_InvokeCommand(&s, 1, &op, &origin);
        CHECK(rc == TEEC_SUCCESS && op.params[0].value.a == expected[i], "HOTP %d: 0x%x, %u (RFC 4226: %u)", i, rc,
              op.params[0].value.a, expected[i]);
    }
    /* the counter is the session's: a second session starts again at 0 */
    TEEC_Session s2;
    open_ta(&s2, &HOTP_TA, "open hotp again");
    op = ops(TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE));
    op.params[0].tmpref.buffer = key;
    op.params[0].tmpref.size = 20;
    MUST(TEEC_InvokeCommand(&s2, 0, &op, &origin), "REGISTER_SHARED_KEY (second session)");
    op = ops(TEEC_PARAM_TYPES(TEEC_VALUE_OUTPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE));
    TEEC_Result rc = TEEC_InvokeCommand(&s2, 1, &op, &origin);
    CHECK(rc == TEEC_SUCCESS && op.params[0].value.a == expected[0], "second session's first HOTP: %u",
          op.params[0].value.a);
    TEEC_CloseSession(&s2);
    TEEC_CloseSession(&s);
}

static TEEC_Result aes_setup(TEEC_Session *s, uint32_t algo, int encode, const uint8_t key[16], const uint8_t iv[16]) {
    uint32_t origin = 0;
    TEEC_Operation op = ops(TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_VALUE_INPUT, TEEC_VALUE_INPUT, TEEC_NONE));
    op.params[0].value.a = algo;
    op.params[1].value.a = 16;
    op.params[2].value.a = encode ? 1 : 0;
    TEEC_Result rc = TEEC_InvokeCommand(s, 0, &op, &origin);
    op = ops(TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE));
    op.params[0].tmpref.buffer = (void *) key;
    op.params[0].tmpref.size = 16;
    rc = rc == TEEC_SUCCESS ? TEEC_InvokeCommand(s, 1, &op, &origin) : rc;
    op.params[0].tmpref.buffer = (void *) iv;
    return rc == TEEC_SUCCESS ? TEEC_InvokeCommand(s, 2, &op, &origin) : rc;
}

static TEEC_Result aes_cipher(TEEC_Session *s, const void *in, void *out, size_t n) {
    uint32_t origin = 0;
    TEEC_Operation op = ops(TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE));
    op.params[0].tmpref.buffer = (void *) in;
    op.params[0].tmpref.size = n;
    op.params[1].tmpref.buffer = out;
    op.params[1].tmpref.size = n;
    return TEEC_InvokeCommand(s, 3, &op, &origin);
}

static void aes(void) {
    TEEC_Session s;
    open_ta(&s, &AES_TA, "open aes");
    /* FIPS-197 appendix C.1: AES-128 of 00112233..ff under the key 00010203..0f */
    uint8_t key[16], iv[16] = {0}, block[16], out[16];
    static const uint8_t want[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                                     0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
    for (int i = 0; i < 16; i++) {
        key[i] = (uint8_t) i;
        block[i] = (uint8_t) (i * 0x11);
    }
    TEEC_Result rc = aes_setup(&s, 0, 1, key, iv);
    rc = rc == TEEC_SUCCESS ? aes_cipher(&s, block, out, 16) : rc;
    CHECK(rc == TEEC_SUCCESS && memcmp(out, want, 16) == 0, "AES-128 ECB known answer: 0x%x", rc);

    /* CTR as the example client does it: 4 KiB encoded in two calls, decoded in one, compared */
    static uint8_t clear[4096], ciph[4096], back[4096];
    memset(key, 0xa5, sizeof key);
    memset(clear, 0x5a, sizeof clear);
    rc = aes_setup(&s, 2, 1, key, iv);
    rc = rc == TEEC_SUCCESS ? aes_cipher(&s, clear, ciph, 1000) : rc;
    rc = rc == TEEC_SUCCESS ? aes_cipher(&s, clear + 1000, ciph + 1000, sizeof clear - 1000) : rc;
    rc = rc == TEEC_SUCCESS ? aes_setup(&s, 2, 0, key, iv) : rc;
    rc = rc == TEEC_SUCCESS ? aes_cipher(&s, ciph, back, sizeof ciph) : rc;
    CHECK(rc == TEEC_SUCCESS && memcmp(clear, back, sizeof clear) == 0 && memcmp(clear, ciph, sizeof clear) != 0,
          "AES-128 CTR round trip: 0x%x", rc);

    /* CIPHER before PREPARE in a fresh session */
    TEEC_Session s2;
    open_ta(&s2, &AES_TA, "open aes again");
    uint32_t origin = 0;
    TEEC_Operation op = ops(TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE));
    op.params[0].tmpref.buffer = block;
    op.params[0].tmpref.size = 16;
    op.params[1].tmpref.buffer = out;
    op.params[1].tmpref.size = 16;
    rc = TEEC_InvokeCommand(&s2, 3, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_STATE, TEEC_ORIGIN_TRUSTED_APP, "CIPHER before PREPARE");
    TEEC_CloseSession(&s2);
    TEEC_CloseSession(&s);
}

static void acipher(void) {
    TEEC_Session s;
    open_ta(&s, &ACIPHER_TA, "open acipher");
    uint32_t origin = 0;
    TEEC_Operation op = ops(TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE));
    op.params[0].value.a = 1024;
    MUST(TEEC_InvokeCommand(&s, 0, &op, &origin), "GEN_KEY 1024");
    char text[] = "ferry";
    op = ops(TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE));
    op.params[0].tmpref.buffer = text;
    op.params[0].tmpref.size = strlen(text);
    /* the example asks for the size first: a NULL output of size 0 */
    TEEC_Result rc = TEEC_InvokeCommand(&s, 1, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_SHORT_BUFFER, TEEC_ORIGIN_TRUSTED_APP, "ENCRYPT into nothing");
    CHECK(op.params[1].tmpref.size == 128, "size needed: %zu", op.params[1].tmpref.size);
    uint8_t out[128];
    op.params[1].tmpref.buffer = out;
    rc = TEEC_InvokeCommand(&s, 1, &op, &origin);
    CHECK(rc == TEEC_SUCCESS && op.params[1].tmpref.size == 128, "ENCRYPT: 0x%x, %zu bytes", rc,
          op.params[1].tmpref.size);
    op = ops(TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_NONE, TEEC_NONE, TEEC_NONE));
    op.params[0].value.a = 100;
    rc = TEEC_InvokeCommand(&s, 0, &op, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_NOT_SUPPORTED, TEEC_ORIGIN_TRUSTED_APP, "GEN_KEY 100 bits");
    TEEC_CloseSession(&s);
}

static TEEC_Result digest(TEEC_Session *s, uint32_t algo, uint8_t *out, size_t *size, uint32_t *origin) {
    TEEC_Operation op = ops(TEEC_PARAM_TYPES(TEEC_MEMREF_TEMP_INPUT, TEEC_MEMREF_TEMP_OUTPUT, TEEC_VALUE_INPUT,
                                             TEEC_NONE));
    op.params[0].tmpref.buffer = "abc";
    op.params[0].tmpref.size = 3;
    op.params[1].tmpref.buffer = out;
    op.params[1].tmpref.size = *size;
    op.params[2].value.a = algo;
    TEEC_Result rc = TEEC_InvokeCommand(s, 0, &op, origin);
    *size = op.params[1].tmpref.size;
    return rc;
}

static void base_sha(void) {
    static const uint8_t sha256[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d,
                                       0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10,
                                       0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    static const uint8_t sha3_256[32] = {0x3a, 0x98, 0x5d, 0xa7, 0x4f, 0xe2, 0x25, 0xb2, 0x04, 0x5c, 0x17, 0x2d, 0x6b,
                                         0xd3, 0x90, 0xbd, 0x85, 0x5f, 0x08, 0x6e, 0x3e, 0x9d, 0x52, 0x5b, 0x46, 0xbf,
                                         0xe2, 0x45, 0x11, 0x43, 0x15, 0x32};
    TEEC_Session s;
    open_ta(&s, &BASE_SHA_TA, "open base_sha");
    uint8_t out[64];
    size_t n = sizeof out;
    uint32_t origin = 0;
    TEEC_Result rc = digest(&s, 2, out, &n, &origin);
    CHECK(rc == TEEC_SUCCESS && n == 32 && memcmp(out, sha256, 32) == 0, "SHA-256(abc): 0x%x, %zu bytes", rc, n);
    n = sizeof out;
    rc = digest(&s, 6, out, &n, &origin);
    CHECK(rc == TEEC_SUCCESS && n == 32 && memcmp(out, sha3_256, 32) == 0, "SHA3-256(abc): 0x%x, %zu bytes", rc, n);
    n = 16;
    rc = digest(&s, 4, out, &n, &origin);
    CHECK(rc == TEEC_ERROR_SHORT_BUFFER && n == 64, "SHA-512 into 16 bytes: 0x%x, size %zu", rc, n);
    n = sizeof out;
    rc = digest(&s, 9, out, &n, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_NOT_SUPPORTED, TEEC_ORIGIN_TRUSTED_APP, "SHAKE128");
    TEEC_CloseSession(&s);
}

static TEEC_Result derive(TEEC_Session *s, uint32_t curve, uint8_t *out, size_t *size, uint32_t *origin) {
    TEEC_Operation op = ops(TEEC_PARAM_TYPES(TEEC_VALUE_INPUT, TEEC_NONE, TEEC_NONE, TEEC_MEMREF_TEMP_OUTPUT));
    op.params[0].value.a = curve;
    op.params[3].tmpref.buffer = out;
    op.params[3].tmpref.size = *size;
    TEEC_Result rc = TEEC_InvokeCommand(s, 0, &op, origin);
    *size = op.params[3].tmpref.size;
    return rc;
}

static void ecdh(void) {
    TEEC_Session s;
    open_ta(&s, &ECDH_TA, "open ecdh");
    uint8_t a[64], b[64];
    size_t na = sizeof a, nb = sizeof b;
    uint32_t origin = 0;
    TEEC_Result rc = derive(&s, 3, a, &na, &origin); /* P-384, as the example client */
    CHECK(rc == TEEC_SUCCESS && na == 48, "DERIVE_SELFTEST on P-384: 0x%x, %zu bytes", rc, na);
    rc = derive(&s, 3, b, &nb, &origin);
    CHECK(rc == TEEC_SUCCESS && nb == 48 && memcmp(a, b, 48) != 0, "a second self-test derives another secret");
    na = 8;
    rc = derive(&s, 2, a, &na, &origin);
    CHECK(rc == TEEC_ERROR_SHORT_BUFFER && na == 32, "P-256 into 8 bytes: 0x%x, size %zu", rc, na);
    na = sizeof a;
    rc = derive(&s, 7, a, &na, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_BAD_PARAMETERS, TEEC_ORIGIN_TRUSTED_APP, "an unknown curve");
    na = sizeof a;
    rc = derive(&s, 0, a, &na, &origin);
    CHECK_RESULT(rc, origin, TEEC_ERROR_NOT_SUPPORTED, TEEC_ORIGIN_TRUSTED_APP, "P-192 (not in the JDK)");
    TEEC_CloseSession(&s);
}

int main(void) {
    MUST(TEEC_InitializeContext(NULL, &ctx), "TEEC_InitializeContext");
    hello_world();
    random_ta();
    secure_storage();
    hotp();
    aes();
    acipher();
    base_sha();
    ecdh();
    TEEC_FinalizeContext(&ctx);
    return finish("optee_examples_test");
}
