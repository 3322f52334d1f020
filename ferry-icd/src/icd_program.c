/* icd_program.c: programs (from source, from a binary, compiled and linked) and their builds. The program keeps
 * its source, build status, options and log; what only the host's compiler knows (binaries, kernel names, the
 * binary type, a fresh log) is asked through INFO. Kernels are in icd_kernel.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "icd_objects.h"

/* ---- creation and reference counting ---- */

static cl_program new_program(cl_context context, uint64_t handle) {
    cl_program p = calloc(1, sizeof *p);
    if (!p) {
        return NULL;
    }
    ferry_object_init(&p->o, FERRY_MAGIC_PROGRAM, handle);
    p->context = context;
    pthread_mutex_init(&p->lock, NULL);
    p->status = CL_BUILD_NONE;
    p->binary_type = CL_PROGRAM_BINARY_TYPE_NONE;
    ferry_context_retain(context);
    return p;
}

static void free_program(cl_program p) {
    p->o.magic = FERRY_MAGIC_DEAD;
    ferry_kernel_infos_free(p->infos);
    pthread_mutex_destroy(&p->lock);
    free(p->source);
    free(p->options);
    free(p->log);
    cl_context c = p->context;
    free(p);
    ferry_context_release(c);
}

/* Sources up to this size travel in the call's record; larger ones through the heap (a record is at most half the
 * command ring, 128 KiB with the default ring). */
#define INLINE_SOURCE_MAX (32u << 10)

/* PROGRAM_CREATE (or PROGRAM_CREATE_HEAP) of OpenCL C source as program handle, sent with the reply flag (a failure
 * is this call's). */
static int create_on_host(ferry_conn *c, uint64_t handle, cl_context context, const char *source, size_t length,
                          ferry_reply *r) {
    uint64_t args[FERRY_PROGRAM_CREATE_ARGC];
    args[FERRY_ARG_PROGRAM_CREATE_PROGRAM] = handle;
    args[FERRY_ARG_PROGRAM_CREATE_CONTEXT] = context->o.handle;
    args[FERRY_ARG_PROGRAM_CREATE_LANGUAGE] = 1; /* OpenCL C */
    /* The host's compiler defines __OPENCL_VERSION__ as its device's version (300 for PoCL 3), but this platform
     * offers OpenCL 1.2 (icd_platform.c): a kernel that chose its code by the macro would take paths the platform
     * does not offer. So the source the host compiles starts by saying 1.2; #line 1 keeps the build log's line
     * numbers the application's. clGetProgramInfo's CL_PROGRAM_SOURCE stays the application's text. */
    static const char version[] = "#undef __OPENCL_VERSION__\n#define __OPENCL_VERSION__ 120\n#line 1\n";
    size_t total = sizeof version - 1 + length;
    memset(r, 0, sizeof *r);
    if (total <= INLINE_SOURCE_MAX) {
        ferry_iov blob[2] = { { version, sizeof version - 1 }, { source, length } };
        return ferry_call(c, FERRY_OP_PROGRAM_CREATE, args, FERRY_PROGRAM_CREATE_ARGC, blob, 2, r);
    }
    /* Larger than a record may carry: the source goes through the heap (PROGRAM_CREATE_HEAP), freed once the host
     * has answered the call (it copies the source out at once). */
    int64_t at = ferry_heap_alloc(c, total);
    if (at < 0) {
        char why[160];
        snprintf(why, sizeof why, "no room in the heap for a program source of %zu bytes", total);
        r->status = FERRY_STATUS_QUOTA_EXCEEDED;
        r->text = strdup(why);
        r->length = r->text ? strlen(r->text) : 0;
        return r->status;
    }
    memcpy(ferry_heap_base(c) + at, version, sizeof version - 1);
    memcpy(ferry_heap_base(c) + at + sizeof version - 1, source, length);
    uint64_t heap[FERRY_PROGRAM_CREATE_HEAP_ARGC];
    heap[FERRY_ARG_PROGRAM_CREATE_HEAP_PROGRAM] = handle;
    heap[FERRY_ARG_PROGRAM_CREATE_HEAP_CONTEXT] = context->o.handle;
    heap[FERRY_ARG_PROGRAM_CREATE_HEAP_LANGUAGE] = 1; /* OpenCL C */
    heap[FERRY_ARG_PROGRAM_CREATE_HEAP_HEAP_OFFSET] = (uint64_t) at;
    heap[FERRY_ARG_PROGRAM_CREATE_HEAP_SIZE] = total;
    int status = ferry_call(c, FERRY_OP_PROGRAM_CREATE_HEAP, heap, FERRY_PROGRAM_CREATE_HEAP_ARGC, NULL, 0, r);
    ferry_heap_free(c, at);
    return status;
}

cl_program CL_API_CALL clCreateProgramWithSource(cl_context context, cl_uint count, const char **strings,
                                                 const size_t *lengths, cl_int *errcode_ret) {
    cl_int dummy;
    cl_int *err = errcode_ret ? errcode_ret : &dummy;
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        *err = CL_INVALID_CONTEXT;
        return NULL;
    }
    if (count == 0 || !strings) {
        *err = CL_INVALID_VALUE;
        return NULL;
    }
    size_t total = 0;
    for (cl_uint i = 0; i < count; i++) {
        if (!strings[i]) {
            *err = CL_INVALID_VALUE;
            return NULL;
        }
        total += lengths && lengths[i] ? lengths[i] : strlen(strings[i]);
    }
    char *source = malloc(total + 1);
    ferry_conn *c = ferry_icd_conn();
    cl_program p = source && c ? new_program(context, ferry_new_handle(c)) : NULL;
    if (!p) {
        free(source);
        *err = c ? CL_OUT_OF_HOST_MEMORY : CL_OUT_OF_RESOURCES;
        return NULL;
    }
    size_t at = 0;
    for (cl_uint i = 0; i < count; i++) {
        size_t n = lengths && lengths[i] ? lengths[i] : strlen(strings[i]);
        memcpy(source + at, strings[i], n);
        at += n;
    }
    source[total] = 0;
    p->source = source;
    p->source_size = total;
    ferry_reply r;
    int status = create_on_host(c, p->o.handle, context, source, total, &r);
    if (status != FERRY_STATUS_OK) {
        *err = ferry_cl_reply_error(status, CL_INVALID_CONTEXT, "clCreateProgramWithSource", &r);
        if (status == FERRY_STATUS_INVALID_ARGUMENT) {
            *err = CL_INVALID_VALUE; /* e.g. a source larger than a call carries */
        }
        ferry_reply_free(&r);
        p->o.handle = 0;
        free_program(p);
        return NULL;
    }
    ferry_reply_free(&r);
    *err = CL_SUCCESS;
    return p;
}

cl_program CL_API_CALL clCreateProgramWithBinary(cl_context context, cl_uint num_devices,
                                                 const cl_device_id *device_list, const size_t *lengths,
                                                 const unsigned char **binaries, cl_int *binary_status,
                                                 cl_int *errcode_ret) {
    cl_int dummy;
    cl_int *err = errcode_ret ? errcode_ret : &dummy;
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        *err = CL_INVALID_CONTEXT;
        return NULL;
    }
    if (num_devices == 0 || !device_list || !lengths || !binaries) {
        *err = CL_INVALID_VALUE;
        return NULL;
    }
    for (cl_uint i = 0; i < num_devices; i++) {
        if (device_list[i] != context->device) {
            *err = CL_INVALID_DEVICE;
            return NULL;
        }
    }
    if (num_devices != 1) { /* the one device listed twice */
        *err = CL_INVALID_DEVICE;
        return NULL;
    }
    if (lengths[0] == 0 || !binaries[0]) {
        if (binary_status) {
            binary_status[0] = CL_INVALID_VALUE;
        }
        *err = CL_INVALID_VALUE;
        return NULL;
    }
    if (lengths[0] > FERRY_PROGRAM_BINARY_MAX) {
        if (binary_status) {
            binary_status[0] = CL_INVALID_BINARY;
        }
        ferry_log("clCreateProgramWithBinary: a binary of %zu bytes is over Ferry's limit of %d", lengths[0],
                  FERRY_PROGRAM_BINARY_MAX);
        *err = CL_INVALID_BINARY;
        return NULL;
    }
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        *err = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    int64_t at = ferry_heap_alloc(c, lengths[0]);
    if (at < 0) {
        ferry_log("clCreateProgramWithBinary: no room in the heap for a binary of %zu bytes", lengths[0]);
        *err = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    memcpy(ferry_heap_base(c) + at, binaries[0], lengths[0]);
    cl_program p = new_program(context, ferry_new_handle(c));
    if (!p) {
        ferry_heap_free(c, at);
        *err = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    p->from_binary = 1;
    uint64_t args[FERRY_PROGRAM_CREATE_BINARY_ARGC];
    args[FERRY_ARG_PROGRAM_CREATE_BINARY_PROGRAM] = p->o.handle;
    args[FERRY_ARG_PROGRAM_CREATE_BINARY_CONTEXT] = context->o.handle;
    args[FERRY_ARG_PROGRAM_CREATE_BINARY_HEAP_OFFSET] = (uint64_t) at;
    args[FERRY_ARG_PROGRAM_CREATE_BINARY_SIZE] = lengths[0];
    ferry_reply r;
    memset(&r, 0, sizeof r);
    int status = ferry_call(c, FERRY_OP_PROGRAM_CREATE_BINARY, args, FERRY_PROGRAM_CREATE_BINARY_ARGC, NULL, 0, &r);
    ferry_heap_free(c, at);
    if (status != FERRY_STATUS_OK) {
        if (status == FERRY_STATUS_BUILD_FAILED || status == FERRY_STATUS_INVALID_ARGUMENT) {
            ferry_cl_reply_error(status, CL_INVALID_CONTEXT, "clCreateProgramWithBinary", &r);
            *err = CL_INVALID_BINARY;
        } else if (status == FERRY_STATUS_UNSUPPORTED) {
            ferry_cl_reply_error(status, CL_INVALID_CONTEXT, "clCreateProgramWithBinary", &r);
            *err = CL_INVALID_BINARY;
        } else {
            *err = ferry_cl_reply_error(status, CL_INVALID_CONTEXT, "clCreateProgramWithBinary", &r);
        }
        if (binary_status) {
            binary_status[0] = *err == CL_INVALID_BINARY ? CL_INVALID_BINARY : CL_INVALID_VALUE;
        }
        ferry_reply_free(&r);
        p->o.handle = 0;
        free_program(p);
        return NULL;
    }
    ferry_reply_free(&r);
    if (binary_status) {
        binary_status[0] = CL_SUCCESS;
    }
    *err = CL_SUCCESS;
    return p;
}

cl_program CL_API_CALL clCreateProgramWithBuiltInKernels(cl_context context, cl_uint num_devices,
                                                         const cl_device_id *device_list, const char *kernel_names,
                                                         cl_int *errcode_ret) {
    cl_int dummy;
    cl_int *err = errcode_ret ? errcode_ret : &dummy;
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        *err = CL_INVALID_CONTEXT;
    } else if (num_devices == 0 || !device_list || !kernel_names) {
        *err = CL_INVALID_VALUE;
    } else {
        *err = CL_INVALID_VALUE; /* the device lists no built-in kernels (CL_DEVICE_BUILT_IN_KERNELS) */
        for (cl_uint i = 0; i < num_devices; i++) {
            if (device_list[i] != context->device) {
                *err = CL_INVALID_DEVICE;
            }
        }
    }
    return NULL;
}

cl_program CL_API_CALL clCreateProgramWithIL(cl_context context, const void *il, size_t length,
                                             cl_int *errcode_ret) {
    if (errcode_ret) {
        *errcode_ret = ferry_valid(context, FERRY_MAGIC_CONTEXT) ? CL_INVALID_OPERATION : CL_INVALID_CONTEXT;
    }
    return NULL;
}

cl_int CL_API_CALL clRetainProgram(cl_program program) {
    if (!ferry_valid(program, FERRY_MAGIC_PROGRAM)) {
        return CL_INVALID_PROGRAM;
    }
    atomic_fetch_add(&program->o.refs, 1);
    return CL_SUCCESS;
}

void ferry_program_release(cl_program p) {
    if (atomic_fetch_sub(&p->o.refs, 1) != 1) {
        return;
    }
    ferry_callbacks_run(p->release_callbacks, p);
    ferry_conn *c = ferry_icd_conn();
    if (c && p->o.handle) {
        uint64_t args[FERRY_RELEASE_ARGC] = { p->o.handle };
        ferry_send(c, FERRY_OP_RELEASE, args, FERRY_RELEASE_ARGC, NULL, 0, 1);
    }
    free_program(p);
}

cl_int CL_API_CALL clReleaseProgram(cl_program program) {
    if (!ferry_valid(program, FERRY_MAGIC_PROGRAM)) {
        return CL_INVALID_PROGRAM;
    }
    ferry_program_release(program);
    return CL_SUCCESS;
}

cl_int CL_API_CALL clSetProgramReleaseCallback(cl_program program,
                                               void (CL_CALLBACK *pfn_notify)(cl_program, void *),
                                               void *user_data) {
    if (!ferry_valid(program, FERRY_MAGIC_PROGRAM)) {
        return CL_INVALID_PROGRAM;
    }
    if (!pfn_notify) {
        return CL_INVALID_VALUE;
    }
    return ferry_callback_push(&program->release_callbacks, &program->lock,
                               (void (CL_CALLBACK *)(void *, void *)) pfn_notify, user_data);
}

cl_int CL_API_CALL clSetProgramSpecializationConstant(cl_program program, cl_uint spec_id, size_t spec_size,
                                                      const void *spec_value) {
    return ferry_valid(program, FERRY_MAGIC_PROGRAM) ? CL_INVALID_OPERATION : CL_INVALID_PROGRAM;
}

/* ---- build, compile, link ---- */

/* The device list of a build call: NULL/0 (the context's device) or the context's device. */
static cl_int check_devices(cl_program p, cl_uint num_devices, const cl_device_id *device_list) {
    if ((num_devices == 0) != (device_list == NULL)) {
        return CL_INVALID_VALUE;
    }
    for (cl_uint i = 0; i < num_devices; i++) {
        if (device_list[i] != p->context->device) {
            return CL_INVALID_DEVICE;
        }
    }
    return CL_SUCCESS;
}

/* The options to send: the guest's include directories (-I DIR, -IDIR) are dropped, as they name files the host's
 * compiler cannot see (and the host refuses options that read files); pyopencl, for one, always passes its own.
 * The files those directories provide are inlined into the source first (icd_includes.c). -cl-kernel-arg-info is added: some
 * compilers keep argument info (clSetKernelArg's guide) only with it. malloc'd. */
static char *host_options(const char *options, const char *call) {
    static const char arg_info[] = "-cl-kernel-arg-info";
    if (!options) {
        options = "";
    }
    char *out = malloc(strlen(options) + sizeof arg_info + 1);
    if (!out) {
        return NULL;
    }
    size_t n = 0;
    for (const char *p = options; *p;) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        const char *e = p;
        while (*e && *e != ' ' && *e != '\t') {
            e++;
        }
        if (e - p >= 2 && p[0] == '-' && p[1] == 'I') {
            if (e - p == 2) { /* "-I DIR": the directory is the next word */
                while (*e == ' ' || *e == '\t') {
                    e++;
                }
                while (*e && *e != ' ' && *e != '\t') {
                    e++;
                }
            }
            ferry_log("%s: option '%.*s' dropped: the host's compiler cannot read the guest's files", call,
                      (int) (e - p), p);
        } else if (e > p) {
            if (n) {
                out[n++] = ' ';
            }
            memcpy(out + n, p, (size_t) (e - p));
            n += (size_t) (e - p);
        }
        p = e;
    }
    out[n] = 0;
    if (!strstr(out, arg_info)) {
        strcpy(out + n, n ? " -cl-kernel-arg-info" : arg_info);
    }
    return out;
}

/* Starts a build-like step: refuses while kernels exist or another build runs; records the options. */
static cl_int begin_build(cl_program p, const char *options) {
    pthread_mutex_lock(&p->lock);
    cl_int err = CL_SUCCESS;
    if (atomic_load(&p->kernels) > 0 || p->status == CL_BUILD_IN_PROGRESS) {
        err = CL_INVALID_OPERATION;
    } else {
        p->status = CL_BUILD_IN_PROGRESS;
        free(p->options);
        p->options = strdup(options ? options : "");
        free(p->log);
        p->log = NULL;
        p->log_from_host = 0;
    }
    pthread_mutex_unlock(&p->lock);
    return err;
}

/* The log in a host reply: a failed build's message carries "build log:\n" before the log itself; a refusal (options
 * not allowed, a quota) is its own log, so the application's usual log printing shows why. */
static char *reply_log(const ferry_reply *r) {
    const char *t = r->text ? r->text : "";
    const char *mark = strstr(t, "build log:\n");
    return strdup(mark ? mark + strlen("build log:\n") : t);
}

static void end_build(cl_program p, const ferry_reply *r, cl_build_status status, cl_program_binary_type type) {
    pthread_mutex_lock(&p->lock);
    p->status = status;
    if (status == CL_BUILD_SUCCESS) {
        p->binary_type = type;
    }
    p->log = reply_log(r);
    /* a refusal (options, a quota) never reached the compiler: its message is the whole log, nothing to ask for */
    p->log_from_host = status == CL_BUILD_ERROR && !(r->text && strstr(r->text, "build log:\n"));
    pthread_mutex_unlock(&p->lock);
}

/* The OpenCL error of a failed build-like host call: options the device's compiler refused (its own
 * CL_INVALID_BUILD/COMPILER/LINKER_OPTIONS, passed on by the host) are this call's bad-options code. */
static cl_int build_error(int status, cl_int failure, cl_int bad_options, const char *call, const ferry_reply *r) {
    const char *text = r->text;
    cl_int native = ferry_cl_native(r, status);
    if (native == CL_INVALID_BUILD_OPTIONS || native == CL_INVALID_COMPILER_OPTIONS
        || native == CL_INVALID_LINKER_OPTIONS) {
        ferry_cl_error(status, CL_INVALID_PROGRAM, call, text);
        return bad_options;
    }
    if (status == FERRY_STATUS_BUILD_FAILED) {
        ferry_cl_error(status, CL_INVALID_PROGRAM, call, text);
        return failure;
    }
    if (status == FERRY_STATUS_INVALID_ARGUMENT) {
        ferry_cl_error(status, CL_INVALID_PROGRAM, call, text);
        return bad_options;
    }
    return ferry_cl_error(status, CL_INVALID_PROGRAM, call, text);
}

/* Replaces the host's program by one made from source (the guest headers inlined): a new handle, the old one
 * released. Only between builds, with no kernels (begin_build holds that). The program's own source is unchanged. */
static cl_int recreate_from(cl_program p, ferry_conn *c, const char *source) {
    uint64_t handle = ferry_new_handle(c);
    ferry_reply r;
    int status = create_on_host(c, handle, p->context, source, strlen(source), &r);
    if (status != FERRY_STATUS_OK) {
        cl_int err = ferry_cl_reply_error(status, CL_INVALID_PROGRAM, "clBuildProgram (guest headers inlined)", &r);
        ferry_reply_free(&r);
        return status == FERRY_STATUS_INVALID_ARGUMENT ? CL_OUT_OF_RESOURCES : err;
    }
    ferry_reply_free(&r);
    uint64_t release[FERRY_RELEASE_ARGC];
    release[FERRY_ARG_RELEASE_HANDLE] = p->o.handle;
    ferry_send(c, FERRY_OP_RELEASE, release, FERRY_RELEASE_ARGC, NULL, 0, 1);
    p->o.handle = handle;
    return CL_SUCCESS;
}

cl_int CL_API_CALL clBuildProgram(cl_program program, cl_uint num_devices, const cl_device_id *device_list,
                                  const char *options, void (CL_CALLBACK *pfn_notify)(cl_program, void *),
                                  void *user_data) {
    if (!ferry_valid(program, FERRY_MAGIC_PROGRAM)) {
        return CL_INVALID_PROGRAM;
    }
    cl_int err = check_devices(program, num_devices, device_list);
    if (err != CL_SUCCESS) {
        return err;
    }
    if (!pfn_notify && user_data) {
        return CL_INVALID_VALUE;
    }
    if (program->from_link) {
        return CL_INVALID_OPERATION;
    }
    err = begin_build(program, options);
    if (err != CL_SUCCESS) {
        return err;
    }
    ferry_conn *c = ferry_icd_conn();
    if (c && program->source) {
        char *expanded = ferry_inline_includes(program->source, program->source_size, options);
        if (expanded) {
            err = recreate_from(program, c, expanded);
            free(expanded);
            if (err != CL_SUCCESS) {
                pthread_mutex_lock(&program->lock);
                program->status = CL_BUILD_ERROR;
                pthread_mutex_unlock(&program->lock);
                return err;
            }
        }
    }
    uint64_t args[FERRY_PROGRAM_BUILD_ARGC] = { program->o.handle };
    char *sent = host_options(options, "clBuildProgram");
    ferry_iov blob = { sent ? sent : "", sent ? strlen(sent) : 0 };
    ferry_reply r;
    memset(&r, 0, sizeof r);
    int status = c ? ferry_call(c, FERRY_OP_PROGRAM_BUILD, args, FERRY_PROGRAM_BUILD_ARGC, &blob, blob.length ? 1 : 0,
                                &r)
                   : FERRY_STATUS_HOST_UNAVAILABLE;
    free(sent);
    if (status == FERRY_STATUS_OK) {
        end_build(program, &r, CL_BUILD_SUCCESS, CL_PROGRAM_BINARY_TYPE_EXECUTABLE);
    } else {
        end_build(program, &r, CL_BUILD_ERROR, 0);
        err = build_error(status, CL_BUILD_PROGRAM_FAILURE, CL_INVALID_BUILD_OPTIONS, "clBuildProgram", &r);
    }
    ferry_reply_free(&r);
    if (pfn_notify) {
        pfn_notify(program, user_data);
    }
    return err;
}

cl_int CL_API_CALL clCompileProgram(cl_program program, cl_uint num_devices, const cl_device_id *device_list,
                                    const char *options, cl_uint num_input_headers,
                                    const cl_program *input_headers, const char **header_include_names,
                                    void (CL_CALLBACK *pfn_notify)(cl_program, void *), void *user_data) {
    if (!ferry_valid(program, FERRY_MAGIC_PROGRAM)) {
        return CL_INVALID_PROGRAM;
    }
    cl_int err = check_devices(program, num_devices, device_list);
    if (err != CL_SUCCESS) {
        return err;
    }
    if ((!pfn_notify && user_data) || (num_input_headers == 0 && (input_headers || header_include_names))
        || (num_input_headers > 0 && (!input_headers || !header_include_names))) {
        return CL_INVALID_VALUE;
    }
    if (!program->source) {
        return CL_INVALID_OPERATION;
    }
    if (num_input_headers > FERRY_PROGRAM_COMPILE_MAX_HEADERS) {
        ferry_log("clCompileProgram: %u headers, over Ferry's limit of %d", num_input_headers,
                  FERRY_PROGRAM_COMPILE_MAX_HEADERS);
        return CL_OUT_OF_RESOURCES;
    }
    uint64_t handles[FERRY_PROGRAM_COMPILE_MAX_HEADERS];
    size_t names = 0;
    for (cl_uint i = 0; i < num_input_headers; i++) {
        if (!ferry_valid(input_headers[i], FERRY_MAGIC_PROGRAM) || !input_headers[i]->source) {
            return CL_INVALID_PROGRAM;
        }
        if (!header_include_names[i]) {
            return CL_INVALID_VALUE;
        }
        handles[i] = input_headers[i]->o.handle;
        names += strlen(header_include_names[i]) + 1;
    }
    char *name_bytes = malloc(names + 1);
    if (!name_bytes) {
        return CL_OUT_OF_HOST_MEMORY;
    }
    size_t at = 0;
    for (cl_uint i = 0; i < num_input_headers; i++) {
        size_t n = strlen(header_include_names[i]) + 1;
        memcpy(name_bytes + at, header_include_names[i], n);
        at += n;
    }
    err = begin_build(program, options);
    if (err != CL_SUCCESS) {
        free(name_bytes);
        return err;
    }
    ferry_conn *c = ferry_icd_conn();
    uint64_t args[FERRY_PROGRAM_COMPILE_ARGC];
    args[FERRY_ARG_PROGRAM_COMPILE_PROGRAM] = program->o.handle;
    args[FERRY_ARG_PROGRAM_COMPILE_HEADERS] = num_input_headers;
    char *sent = host_options(options, "clCompileProgram");
    ferry_iov blob[3] = { { handles, num_input_headers * sizeof(uint64_t) }, { name_bytes, names },
                          { sent ? sent : "", sent ? strlen(sent) : 0 } };
    ferry_reply r;
    memset(&r, 0, sizeof r);
    int status = c ? ferry_call(c, FERRY_OP_PROGRAM_COMPILE, args, FERRY_PROGRAM_COMPILE_ARGC, blob, 3, &r)
                   : FERRY_STATUS_HOST_UNAVAILABLE;
    free(name_bytes);
    free(sent);
    if (status == FERRY_STATUS_OK) {
        end_build(program, &r, CL_BUILD_SUCCESS, CL_PROGRAM_BINARY_TYPE_COMPILED_OBJECT);
    } else {
        end_build(program, &r, CL_BUILD_ERROR, 0);
        err = build_error(status, CL_COMPILE_PROGRAM_FAILURE, CL_INVALID_COMPILER_OPTIONS, "clCompileProgram",
                          &r);
    }
    ferry_reply_free(&r);
    if (pfn_notify) {
        pfn_notify(program, user_data);
    }
    return err;
}

cl_program CL_API_CALL clLinkProgram(cl_context context, cl_uint num_devices, const cl_device_id *device_list,
                                     const char *options, cl_uint num_input_programs,
                                     const cl_program *input_programs,
                                     void (CL_CALLBACK *pfn_notify)(cl_program, void *), void *user_data,
                                     cl_int *errcode_ret) {
    cl_int dummy;
    cl_int *err = errcode_ret ? errcode_ret : &dummy;
    if (!ferry_valid(context, FERRY_MAGIC_CONTEXT)) {
        *err = CL_INVALID_CONTEXT;
        return NULL;
    }
    if ((num_devices == 0) != (device_list == NULL) || num_input_programs == 0 || !input_programs
        || (!pfn_notify && user_data)) {
        *err = CL_INVALID_VALUE;
        return NULL;
    }
    for (cl_uint i = 0; i < num_devices; i++) {
        if (device_list[i] != context->device) {
            *err = CL_INVALID_DEVICE;
            return NULL;
        }
    }
    if (num_input_programs > FERRY_PROGRAM_LINK_MAX_INPUTS) {
        ferry_log("clLinkProgram: %u input programs, over Ferry's limit of %d", num_input_programs,
                  FERRY_PROGRAM_LINK_MAX_INPUTS);
        *err = CL_OUT_OF_RESOURCES;
        return NULL;
    }
    uint64_t handles[FERRY_PROGRAM_LINK_MAX_INPUTS];
    for (cl_uint i = 0; i < num_input_programs; i++) {
        cl_program in = input_programs[i];
        if (!ferry_valid(in, FERRY_MAGIC_PROGRAM) || in->context != context) {
            *err = CL_INVALID_PROGRAM;
            return NULL;
        }
        pthread_mutex_lock(&in->lock);
        /* compiled objects and libraries only: an executable (a build's or a link's) is not linked again */
        int compiled = in->status == CL_BUILD_SUCCESS && in->binary_type != CL_PROGRAM_BINARY_TYPE_EXECUTABLE;
        pthread_mutex_unlock(&in->lock);
        if (!compiled) {
            ferry_log("clLinkProgram: input program %u is %s; link compiled objects or libraries "
                      "(clCompileProgram, or clLinkProgram with -create-library)", i,
                      in->status == CL_BUILD_SUCCESS ? "an executable" : "not compiled");
            *err = CL_INVALID_OPERATION;
            return NULL;
        }
        handles[i] = in->o.handle;
    }
    ferry_conn *c = ferry_icd_conn();
    cl_program p = c ? new_program(context, ferry_new_handle(c)) : NULL;
    if (!p) {
        *err = c ? CL_OUT_OF_HOST_MEMORY : CL_OUT_OF_RESOURCES;
        return NULL;
    }
    p->from_link = 1;
    p->status = CL_BUILD_IN_PROGRESS;
    p->options = strdup(options ? options : "");
    uint64_t args[FERRY_PROGRAM_LINK_ARGC];
    args[FERRY_ARG_PROGRAM_LINK_PROGRAM] = p->o.handle;
    args[FERRY_ARG_PROGRAM_LINK_CONTEXT] = context->o.handle;
    args[FERRY_ARG_PROGRAM_LINK_INPUTS] = num_input_programs;
    ferry_iov blob[2] = { { handles, num_input_programs * sizeof(uint64_t) },
                          { options ? options : "", options ? strlen(options) : 0 } };
    ferry_reply r;
    memset(&r, 0, sizeof r);
    int status = ferry_call(c, FERRY_OP_PROGRAM_LINK, args, FERRY_PROGRAM_LINK_ARGC, blob, 2, &r);
    if (status != FERRY_STATUS_OK) {
        *err = build_error(status, CL_LINK_PROGRAM_FAILURE, CL_INVALID_LINKER_OPTIONS, "clLinkProgram", &r);
        ferry_reply_free(&r);
        p->o.handle = 0; /* the host did not create it */
        free_program(p);
        return NULL;
    }
    int library = options && strstr(options, "-create-library") != NULL;
    end_build(p, &r, CL_BUILD_SUCCESS,
              library ? CL_PROGRAM_BINARY_TYPE_LIBRARY : CL_PROGRAM_BINARY_TYPE_EXECUTABLE);
    ferry_reply_free(&r);
    if (pfn_notify) {
        pfn_notify(p, user_data);
    }
    *err = CL_SUCCESS;
    return p;
}

/* ---- queries ---- */

/* The program's binary into dst (size bytes): through a heap block. */
static cl_int read_binary(cl_program p, unsigned char *dst, size_t size) {
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        return CL_OUT_OF_RESOURCES;
    }
    int64_t at = ferry_heap_alloc(c, size);
    if (at < 0) {
        ferry_log("clGetProgramInfo: no room in the heap for a binary of %zu bytes", size);
        return CL_OUT_OF_RESOURCES;
    }
    void *out;
    size_t n;
    cl_int err = ferry_query(FERRY_INFO_PROGRAM, p->o.handle, CL_PROGRAM_BINARIES, 0, at, size, &out, &n, NULL,
                             "clGetProgramInfo");
    if (err == CL_SUCCESS) {
        memcpy(dst, ferry_heap_base(c) + at, n < size ? n : size);
        free(out);
    }
    ferry_heap_free(c, at);
    return err;
}

static size_t binary_size(cl_program p, cl_int *err) {
    void *out;
    size_t n;
    *err = ferry_query(FERRY_INFO_PROGRAM, p->o.handle, CL_PROGRAM_BINARY_SIZES, 0, 0, 0, &out, &n, NULL,
                       "clGetProgramInfo");
    if (*err == CL_INVALID_VALUE) { /* no binary (not built) */
        *err = CL_SUCCESS;
        return 0;
    }
    size_t size = 0;
    if (*err == CL_SUCCESS) {
        if (n == sizeof size) {
            memcpy(&size, out, sizeof size);
        }
        free(out);
    }
    return size;
}

static int built(cl_program p) {
    pthread_mutex_lock(&p->lock);
    int ok = p->status == CL_BUILD_SUCCESS && p->binary_type == CL_PROGRAM_BINARY_TYPE_EXECUTABLE;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

cl_int CL_API_CALL clGetProgramInfo(cl_program program, cl_program_info param_name, size_t param_value_size,
                                    void *param_value, size_t *param_value_size_ret) {
    if (!ferry_valid(program, FERRY_MAGIC_PROGRAM)) {
        return CL_INVALID_PROGRAM;
    }
    cl_program p = program;
    switch (param_name) {
    case CL_PROGRAM_REFERENCE_COUNT: {
        cl_uint refs = atomic_load(&p->o.refs);
        return ferry_info(&refs, sizeof refs, param_value_size, param_value, param_value_size_ret);
    }
    case CL_PROGRAM_CONTEXT:
        return ferry_info(&p->context, sizeof p->context, param_value_size, param_value, param_value_size_ret);
    case CL_PROGRAM_NUM_DEVICES: {
        cl_uint one = 1;
        return ferry_info(&one, sizeof one, param_value_size, param_value, param_value_size_ret);
    }
    case CL_PROGRAM_DEVICES:
        return ferry_info(&p->context->device, sizeof(cl_device_id), param_value_size, param_value,
                          param_value_size_ret);
    case CL_PROGRAM_SOURCE:
        return ferry_info_string(p->source ? p->source : "", param_value_size, param_value, param_value_size_ret);
    case CL_PROGRAM_BINARY_SIZES: {
        cl_int err;
        size_t size = binary_size(p, &err);
        return err != CL_SUCCESS ? err
                                 : ferry_info(&size, sizeof size, param_value_size, param_value, param_value_size_ret);
    }
    case CL_PROGRAM_BINARIES: {
        cl_int err = ferry_info(NULL, sizeof(unsigned char *), param_value_size, NULL, param_value_size_ret);
        if (err != CL_SUCCESS || !param_value) {
            return param_value && param_value_size < sizeof(unsigned char *) ? CL_INVALID_VALUE : err;
        }
        unsigned char *dst = ((unsigned char **) param_value)[0];
        if (!dst) {
            return CL_SUCCESS; /* the application does not want this device's binary */
        }
        size_t size = binary_size(p, &err);
        return err != CL_SUCCESS || size == 0 ? err : read_binary(p, dst, size);
    }
    case CL_PROGRAM_NUM_KERNELS:
    case CL_PROGRAM_KERNEL_NAMES: {
        if (!built(p)) {
            return CL_INVALID_PROGRAM_EXECUTABLE;
        }
        void *out;
        size_t n;
        cl_int err = ferry_query(FERRY_INFO_PROGRAM, p->o.handle, param_name, 0, 0, 0, &out, &n, NULL,
                                 "clGetProgramInfo");
        if (err == CL_SUCCESS) {
            err = ferry_info(out, n, param_value_size, param_value, param_value_size_ret);
            free(out);
        }
        return err;
    }
    default:
        return CL_INVALID_VALUE;
    }
}

cl_int CL_API_CALL clGetProgramBuildInfo(cl_program program, cl_device_id device, cl_program_build_info param_name,
                                         size_t param_value_size, void *param_value, size_t *param_value_size_ret) {
    if (!ferry_valid(program, FERRY_MAGIC_PROGRAM)) {
        return CL_INVALID_PROGRAM;
    }
    if (device != program->context->device) {
        return CL_INVALID_DEVICE;
    }
    cl_program p = program;
    cl_int err;
    switch (param_name) {
    case CL_PROGRAM_BUILD_STATUS: {
        pthread_mutex_lock(&p->lock);
        cl_build_status s = p->status;
        pthread_mutex_unlock(&p->lock);
        return ferry_info(&s, sizeof s, param_value_size, param_value, param_value_size_ret);
    }
    case CL_PROGRAM_BUILD_OPTIONS:
        pthread_mutex_lock(&p->lock);
        err = ferry_info_string(p->options ? p->options : "", param_value_size, param_value, param_value_size_ret);
        pthread_mutex_unlock(&p->lock);
        return err;
    case CL_PROGRAM_BUILD_LOG: {
        pthread_mutex_lock(&p->lock);
        int ask = !p->log_from_host && (p->status == CL_BUILD_SUCCESS || p->status == CL_BUILD_ERROR);
        pthread_mutex_unlock(&p->lock);
        if (ask) { /* the host compiler's own log, rather than the log in a failure's message */
            void *out;
            size_t n;
            int got = ferry_query(FERRY_INFO_PROGRAM_BUILD, p->o.handle, CL_PROGRAM_BUILD_LOG, 0, 0, 0, &out, &n, NULL,
                                  "clGetProgramBuildInfo") == CL_SUCCESS;
            pthread_mutex_lock(&p->lock);
            if (got && n > 1 && strlen(out) > 0) { /* an empty log keeps the call's message (a refusal's reason) */
                free(p->log);
                p->log = out;
                out = NULL;
            }
            p->log_from_host = 1; /* asked once: a failed query keeps the build call's log */
            pthread_mutex_unlock(&p->lock);
            if (got) {
                free(out);
            }
        }
        pthread_mutex_lock(&p->lock);
        err = ferry_info_string(p->log ? p->log : "", param_value_size, param_value, param_value_size_ret);
        pthread_mutex_unlock(&p->lock);
        return err;
    }
    case CL_PROGRAM_BINARY_TYPE: {
        pthread_mutex_lock(&p->lock);
        cl_program_binary_type t = p->binary_type;
        int binary = p->from_binary;
        pthread_mutex_unlock(&p->lock);
        if (binary) { /* what the binary holds: the host's compiler knows */
            void *out;
            size_t n;
            if (ferry_query(FERRY_INFO_PROGRAM_BUILD, p->o.handle, CL_PROGRAM_BINARY_TYPE, 0, 0, 0, &out, &n, NULL,
                            "clGetProgramBuildInfo") == CL_SUCCESS) {
                if (n == sizeof t) {
                    memcpy(&t, out, sizeof t);
                }
                free(out);
            }
        }
        return ferry_info(&t, sizeof t, param_value_size, param_value, param_value_size_ret);
    }
    case CL_PROGRAM_BUILD_GLOBAL_VARIABLE_TOTAL_SIZE: {
        void *out;
        size_t n;
        err = ferry_query(FERRY_INFO_PROGRAM_BUILD, p->o.handle, param_name, 0, 0, 0, &out, &n, NULL,
                          "clGetProgramBuildInfo");
        if (err == CL_SUCCESS) {
            err = ferry_info(out, n, param_value_size, param_value, param_value_size_ret);
            free(out);
        }
        return err;
    }
    default:
        return CL_INVALID_VALUE;
    }
}
