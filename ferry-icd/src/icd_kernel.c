/* icd_kernel.c: kernels. clCreateKernel asks the host for the kernel (its argument count comes back); argument
 * info (address qualifier, type) is asked through INFO the first time an argument is set or queried, and kept in
 * the program per kernel name. clSetKernelArg decides by it what the argument is (a memory object, a sampler,
 * __local bytes or a value), checks it, sends it one-way and keeps it so clCloneKernel can replay it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include "icd_objects.h"

/* What the host said about one argument; each field asked once. */
struct ferry_arg_info {
    unsigned asked;                  /* bit per param index (address, access, type name, type qualifier, name) */
    cl_int errors[5];
    cl_kernel_arg_address_qualifier address;
    cl_kernel_arg_access_qualifier access;
    cl_kernel_arg_type_qualifier type_qualifier;
    char *type_name, *name;
};

struct ferry_kernel_info {
    struct ferry_kernel_info *next;
    char *name;
    cl_uint num_args;
    struct ferry_arg_info *args;
};

enum arg_kind { ARG_UNSET, ARG_MEM, ARG_SAMPLER, ARG_LOCAL, ARG_VALUE };

/* An argument's last value (in the kernel: value is its own copy, of capacity bytes; while being set: the
 * application's bytes). */
struct ferry_arg {
    enum arg_kind kind;
    size_t size;
    uint64_t handle;                 /* ARG_MEM, ARG_SAMPLER (0: a NULL buffer) */
    const void *value;               /* ARG_VALUE's bytes */
    size_t capacity;
};

static const cl_kernel_arg_info arg_params[5] = {
    CL_KERNEL_ARG_ADDRESS_QUALIFIER, CL_KERNEL_ARG_ACCESS_QUALIFIER, CL_KERNEL_ARG_TYPE_NAME,
    CL_KERNEL_ARG_TYPE_QUALIFIER, CL_KERNEL_ARG_NAME
};

void ferry_kernel_infos_free(struct ferry_kernel_info *infos) {
    for (struct ferry_kernel_info *k = infos, *next; k; k = next) {
        next = k->next;
        for (cl_uint i = 0; i < k->num_args; i++) {
            free(k->args[i].type_name);
            free(k->args[i].name);
        }
        free(k->args);
        free(k->name);
        free(k);
    }
}

/* The program's info record for a kernel name (made on first use); NULL without memory. */
static struct ferry_kernel_info *kernel_info(cl_program p, const char *name, cl_uint num_args) {
    pthread_mutex_lock(&p->lock);
    struct ferry_kernel_info *k = p->infos;
    while (k && (strcmp(k->name, name) != 0 || k->num_args != num_args)) {
        k = k->next;
    }
    if (!k && (k = calloc(1, sizeof *k)) != NULL) {
        k->name = strdup(name);
        k->num_args = num_args;
        k->args = calloc(num_args ? num_args : 1, sizeof *k->args);
        if (!k->name || !k->args) {
            free(k->name);
            free(k->args);
            free(k);
            k = NULL;
        } else {
            k->next = p->infos;
            p->infos = k;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return k;
}

/* Asks the host for param number which of argument index (once); returns its error. */
static cl_int arg_info(cl_kernel k, cl_uint index, int which) {
    cl_program p = k->program;
    struct ferry_arg_info *a = &k->info->args[index];
    pthread_mutex_lock(&p->lock);
    int asked = (a->asked >> which) & 1;
    cl_int err = a->errors[which];
    pthread_mutex_unlock(&p->lock);
    if (asked) {
        return err;
    }
    void *out;
    size_t n;
    err = ferry_query(FERRY_INFO_KERNEL_ARG, k->o.handle, arg_params[which], index, 0, 0, &out, &n, NULL,
                      "clGetKernelArgInfo");
    if (err == CL_INVALID_VALUE || err == CL_INVALID_OPERATION) {
        err = CL_KERNEL_ARG_INFO_NOT_AVAILABLE;
    } else if (err != CL_SUCCESS) {
        return err; /* not kept: the session may recover */
    }
    pthread_mutex_lock(&p->lock);
    if (!((a->asked >> which) & 1)) {
        if (err == CL_SUCCESS) {
            uint32_t v = 0;
            uint64_t v64 = 0;
            memcpy(&v, out, n < 4 ? n : 4);
            memcpy(&v64, out, n < 8 ? n : 8);
            switch (arg_params[which]) {
            case CL_KERNEL_ARG_ADDRESS_QUALIFIER: a->address = v; break;
            case CL_KERNEL_ARG_ACCESS_QUALIFIER: a->access = v; break;
            case CL_KERNEL_ARG_TYPE_QUALIFIER: a->type_qualifier = v64; break;
            case CL_KERNEL_ARG_TYPE_NAME: a->type_name = out; out = NULL; break;
            default: a->name = out; out = NULL; break;
            }
        }
        a->errors[which] = err;
        a->asked |= 1u << which;
    }
    pthread_mutex_unlock(&p->lock);
    free(out);
    return err;
}

/* ---- creation ---- */

static cl_kernel make_kernel(cl_program program, const char *name, cl_int *err) {
    ferry_conn *c = ferry_icd_conn();
    cl_kernel k = calloc(1, sizeof *k);
    char *copy = strdup(name);
    if (!c || !k || !copy) {
        free(k);
        free(copy);
        *err = c ? CL_OUT_OF_HOST_MEMORY : CL_OUT_OF_RESOURCES;
        return NULL;
    }
    uint64_t handle = ferry_new_handle(c);
    uint64_t args[FERRY_KERNEL_CREATE_ARGC];
    args[FERRY_ARG_KERNEL_CREATE_KERNEL] = handle;
    args[FERRY_ARG_KERNEL_CREATE_PROGRAM] = program->o.handle;
    ferry_iov blob = { name, strlen(name) };
    ferry_reply r;
    memset(&r, 0, sizeof r);
    int status = ferry_call(c, FERRY_OP_KERNEL_CREATE, args, FERRY_KERNEL_CREATE_ARGC, &blob, 1, &r);
    int made = status == FERRY_STATUS_OK;
    if (made && r.results[0] > 4096) {
        status = FERRY_STATUS_INTERNAL; /* no kernel has that many arguments: a bad answer */
    }
    if (status != FERRY_STATUS_OK) {
        *err = status == FERRY_STATUS_KERNEL_NOT_FOUND ? CL_INVALID_KERNEL_NAME
             : status == FERRY_STATUS_INVALID_ARGUMENT ? CL_INVALID_PROGRAM_EXECUTABLE
                                                       : CL_SUCCESS;
        cl_int mapped = ferry_cl_reply_error(status, CL_INVALID_PROGRAM, "clCreateKernel", &r);
        if (*err == CL_SUCCESS) {
            *err = mapped;
        }
        if (made) {
            uint64_t rel[FERRY_RELEASE_ARGC] = { handle };
            ferry_send(c, FERRY_OP_RELEASE, rel, FERRY_RELEASE_ARGC, NULL, 0, 1);
        }
        ferry_reply_free(&r);
        free(k);
        free(copy);
        return NULL;
    }
    cl_uint num_args = (cl_uint) r.results[0];
    ferry_reply_free(&r);
    ferry_object_init(&k->o, FERRY_MAGIC_KERNEL, handle);
    k->program = program;
    k->name = copy;
    k->num_args = num_args;
    k->info = kernel_info(program, name, num_args);
    k->args = calloc(num_args ? num_args : 1, sizeof *k->args);
    pthread_mutex_init(&k->lock, NULL);
    if (!k->info || !k->args) {
        uint64_t rel[FERRY_RELEASE_ARGC] = { handle };
        ferry_send(c, FERRY_OP_RELEASE, rel, FERRY_RELEASE_ARGC, NULL, 0, 1);
        pthread_mutex_destroy(&k->lock);
        free(k->args);
        free(k);
        free(copy);
        *err = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    atomic_fetch_add(&program->o.refs, 1);
    atomic_fetch_add(&program->kernels, 1);
    *err = CL_SUCCESS;
    return k;
}

static int executable(cl_program p) {
    pthread_mutex_lock(&p->lock);
    int ok = p->status == CL_BUILD_SUCCESS && p->binary_type == CL_PROGRAM_BINARY_TYPE_EXECUTABLE;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

cl_kernel CL_API_CALL clCreateKernel(cl_program program, const char *kernel_name, cl_int *errcode_ret) {
    cl_int dummy;
    cl_int *err = errcode_ret ? errcode_ret : &dummy;
    if (!ferry_valid(program, FERRY_MAGIC_PROGRAM)) {
        *err = CL_INVALID_PROGRAM;
        return NULL;
    }
    if (!kernel_name) {
        *err = CL_INVALID_VALUE;
        return NULL;
    }
    if (!executable(program)) {
        *err = CL_INVALID_PROGRAM_EXECUTABLE;
        return NULL;
    }
    return make_kernel(program, kernel_name, err);
}

cl_int CL_API_CALL clCreateKernelsInProgram(cl_program program, cl_uint num_kernels, cl_kernel *kernels,
                                            cl_uint *num_kernels_ret) {
    if (!ferry_valid(program, FERRY_MAGIC_PROGRAM)) {
        return CL_INVALID_PROGRAM;
    }
    if (!executable(program)) {
        return CL_INVALID_PROGRAM_EXECUTABLE;
    }
    void *out;
    size_t n;
    cl_int err = ferry_query(FERRY_INFO_PROGRAM, program->o.handle, CL_PROGRAM_KERNEL_NAMES, 0, 0, 0, &out, &n,
                             NULL, "clCreateKernelsInProgram");
    if (err != CL_SUCCESS) {
        return err == CL_INVALID_VALUE ? CL_INVALID_PROGRAM_EXECUTABLE : err;
    }
    char *names = out;
    cl_uint count = 0;
    for (char *s = names; *s;) {
        char *e = strchr(s, ';');
        if (e != s) {
            count++;
        }
        if (!e) {
            break;
        }
        s = e + 1;
    }
    if (kernels && num_kernels < count) {
        free(names);
        return CL_INVALID_VALUE;
    }
    if (kernels) {
        cl_uint made = 0;
        char *save = NULL;
        for (char *t = strtok_r(names, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
            kernels[made] = make_kernel(program, t, &err);
            if (!kernels[made]) {
                while (made > 0) {
                    clReleaseKernel(kernels[--made]);
                }
                free(names);
                return err;
            }
            made++;
        }
    }
    free(names);
    if (num_kernels_ret) {
        *num_kernels_ret = count;
    }
    return CL_SUCCESS;
}

cl_int CL_API_CALL clRetainKernel(cl_kernel kernel) {
    if (!ferry_valid(kernel, FERRY_MAGIC_KERNEL)) {
        return CL_INVALID_KERNEL;
    }
    atomic_fetch_add(&kernel->o.refs, 1);
    return CL_SUCCESS;
}

cl_int CL_API_CALL clReleaseKernel(cl_kernel kernel) {
    if (!ferry_valid(kernel, FERRY_MAGIC_KERNEL)) {
        return CL_INVALID_KERNEL;
    }
    if (atomic_fetch_sub(&kernel->o.refs, 1) != 1) {
        return CL_SUCCESS;
    }
    kernel->o.magic = FERRY_MAGIC_DEAD;
    ferry_conn *c = ferry_icd_conn();
    if (c) {
        uint64_t args[FERRY_RELEASE_ARGC] = { kernel->o.handle };
        ferry_send(c, FERRY_OP_RELEASE, args, FERRY_RELEASE_ARGC, NULL, 0, 1);
    }
    for (cl_uint i = 0; i < kernel->num_args; i++) {
        free((void *) kernel->args[i].value);
    }
    cl_program p = kernel->program;
    atomic_fetch_sub(&p->kernels, 1);
    pthread_mutex_destroy(&kernel->lock);
    free(kernel->args);
    free(kernel->name);
    free(kernel);
    ferry_program_release(p);
    return CL_SUCCESS;
}

/* ---- arguments ---- */

/* The size of an OpenCL C scalar or vector type by name ("float4", "uint"); 0 when not such a type. */
static size_t type_size(const char *t, size_t pointer_size) {
    static const struct { const char *name; size_t size; } base[] = {
        { "char", 1 }, { "uchar", 1 }, { "unsigned char", 1 }, { "short", 2 }, { "ushort", 2 },
        { "unsigned short", 2 }, { "int", 4 }, { "uint", 4 }, { "unsigned int", 4 }, { "long", 8 },
        { "ulong", 8 }, { "unsigned long", 8 }, { "float", 4 }, { "double", 8 }, { "half", 2 },
        { "size_t", 0 }, { "ptrdiff_t", 0 }, { "intptr_t", 0 }, { "uintptr_t", 0 }, { NULL, 0 }
    };
    if (!t) {
        return 0;
    }
    for (int i = 0; base[i].name; i++) {
        size_t n = strlen(base[i].name);
        if (strncmp(t, base[i].name, n) != 0) {
            continue;
        }
        size_t one = base[i].size ? base[i].size : pointer_size;
        const char *rest = t + n;
        if (!*rest) {
            return one;
        }
        int lanes = atoi(rest);
        if ((lanes == 2 || lanes == 3 || lanes == 4 || lanes == 8 || lanes == 16)
            && rest[lanes >= 10 ? 2 : 1] == 0) {
            return one * (lanes == 3 ? 4 : (size_t) lanes);
        }
    }
    return 0;
}

/* Reads a pointer-sized word at p if it is readable memory (for the guess without argument info). */
static int readable_object(const void *p, uint32_t magic) {
    if (!p) {
        return 0;
    }
    unsigned char head[16];
    struct iovec local = { head, sizeof head }, remote = { (void *) p, sizeof head };
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t) sizeof head) {
        if (errno != EPERM && errno != ENOSYS) {
            return 0;
        }
        /* process_vm_readv refused (a seccomp profile): at least the pages must be mapped */
        long page = sysconf(_SC_PAGESIZE);
        uintptr_t start = (uintptr_t) p & ~(uintptr_t) (page - 1);
        unsigned char vec[2];
        size_t span = ((uintptr_t) p + sizeof head - start + (size_t) page - 1) / (size_t) page * (size_t) page;
        if (mincore((void *) start, span, vec) != 0) {
            return 0;
        }
    }
    return ferry_valid(p, magic);
}

/* Sends one argument and keeps it. */
static cl_int send_arg(cl_kernel k, cl_uint index, const struct ferry_arg *a, int keep) {
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        return CL_OUT_OF_RESOURCES;
    }
    int status;
    uint64_t args[3] = { k->o.handle, index, 0 };
    switch (a->kind) {
    case ARG_MEM:
        args[FERRY_ARG_KERNEL_ARG_BUFFER_BUFFER] = a->handle;
        status = ferry_send(c, FERRY_OP_KERNEL_ARG_BUFFER, args, FERRY_KERNEL_ARG_BUFFER_ARGC, NULL, 0, 1);
        break;
    case ARG_SAMPLER:
        args[FERRY_ARG_KERNEL_ARG_SAMPLER_SAMPLER] = a->handle;
        status = ferry_send(c, FERRY_OP_KERNEL_ARG_SAMPLER, args, FERRY_KERNEL_ARG_SAMPLER_ARGC, NULL, 0, 1);
        break;
    case ARG_LOCAL:
        args[FERRY_ARG_KERNEL_ARG_LOCAL_BYTES] = a->size;
        status = ferry_send(c, FERRY_OP_KERNEL_ARG_LOCAL, args, FERRY_KERNEL_ARG_LOCAL_ARGC, NULL, 0, 1);
        break;
    case ARG_VALUE: {
        ferry_iov blob = { a->value, a->size };
        status = ferry_send(c, FERRY_OP_KERNEL_ARG_VALUE, args, FERRY_KERNEL_ARG_VALUE_ARGC, &blob, 1, 1);
        break;
    }
    default:
        return CL_SUCCESS;
    }
    if (status != FERRY_STATUS_OK) {
        return ferry_cl_error(status, CL_INVALID_KERNEL, "clSetKernelArg", NULL);
    }
    if (keep) { /* the copy clCloneKernel replays; its buffer is reused while the value fits */
        pthread_mutex_lock(&k->lock);
        struct ferry_arg *slot = &k->args[index];
        void *own = (void *) slot->value;
        size_t capacity = slot->capacity;
        if (a->kind == ARG_VALUE && a->size > capacity) {
            void *bigger = realloc(own, a->size);
            if (!bigger) {
                pthread_mutex_unlock(&k->lock);
                return CL_OUT_OF_HOST_MEMORY;
            }
            own = bigger;
            capacity = a->size;
        }
        if (a->kind == ARG_VALUE) {
            memcpy(own, a->value, a->size);
        }
        *slot = *a;
        slot->value = own;
        slot->capacity = capacity;
        pthread_mutex_unlock(&k->lock);
    }
    return CL_SUCCESS;
}

/* A memory object argument: arg_value NULL or a NULL cl_mem pass a NULL buffer. */
static cl_int mem_arg(size_t arg_size, const void *arg_value, int image, struct ferry_arg *a) {
    if (arg_size != sizeof(cl_mem)) {
        return CL_INVALID_ARG_SIZE;
    }
    cl_mem m = arg_value ? *(const cl_mem *) arg_value : NULL;
    if (m && !ferry_valid(m, FERRY_MAGIC_MEM)) {
        return CL_INVALID_MEM_OBJECT;
    }
    if (image && (!m || m->type == CL_MEM_OBJECT_BUFFER)) {
        return m ? CL_INVALID_MEM_OBJECT : CL_INVALID_ARG_VALUE;
    }
    if (!image && m && m->type != CL_MEM_OBJECT_BUFFER) {
        return CL_INVALID_MEM_OBJECT;
    }
    a->kind = ARG_MEM;
    a->handle = m ? m->o.handle : 0;
    return CL_SUCCESS;
}

static cl_int value_arg(size_t arg_size, const void *arg_value, size_t expected, struct ferry_arg *a) {
    if (!arg_value) {
        return CL_INVALID_ARG_VALUE;
    }
    if (arg_size == 0 || arg_size > 1024 || (expected && arg_size != expected)) {
        return CL_INVALID_ARG_SIZE;
    }
    a->kind = ARG_VALUE;
    a->size = arg_size;
    a->value = arg_value;
    return CL_SUCCESS;
}

/* Without argument info: guesses as most remoting layers do (only a readable live object counts as one). */
static cl_int guess_arg(size_t arg_size, const void *arg_value, struct ferry_arg *a) {
    if (!arg_value) {
        if (arg_size == 0) {
            return CL_INVALID_ARG_SIZE;
        }
        a->kind = ARG_LOCAL;
        a->size = arg_size;
        return CL_SUCCESS;
    }
    if (arg_size == sizeof(void *)) {
        const void *p = *(const void *const *) arg_value;
        if (readable_object(p, FERRY_MAGIC_MEM)) {
            a->kind = ARG_MEM;
            a->handle = ((cl_mem) p)->o.handle;
            return CL_SUCCESS;
        }
        if (readable_object(p, FERRY_MAGIC_SAMPLER)) {
            a->kind = ARG_SAMPLER;
            a->handle = ((cl_sampler) p)->o.handle;
            return CL_SUCCESS;
        }
    }
    return value_arg(arg_size, arg_value, 0, a);
}

cl_int CL_API_CALL clSetKernelArg(cl_kernel kernel, cl_uint arg_index, size_t arg_size, const void *arg_value) {
    if (!ferry_valid(kernel, FERRY_MAGIC_KERNEL)) {
        return CL_INVALID_KERNEL;
    }
    if (arg_index >= kernel->num_args) {
        return CL_INVALID_ARG_INDEX;
    }
    struct ferry_arg a;
    memset(&a, 0, sizeof a);
    cl_int err = arg_info(kernel, arg_index, 0);
    if (err == CL_SUCCESS) {
        const struct ferry_arg_info *info = &kernel->info->args[arg_index];
        cl_kernel_arg_address_qualifier address = info->address;
        if (address == CL_KERNEL_ARG_ADDRESS_LOCAL) {
            if (arg_value) {
                return CL_INVALID_ARG_VALUE;
            }
            if (arg_size == 0) {
                return CL_INVALID_ARG_SIZE;
            }
            a.kind = ARG_LOCAL;
            a.size = arg_size;
        } else {
            /* images are __global to some compilers, samplers __private: the type tells them apart */
            arg_info(kernel, arg_index, 1);
            arg_info(kernel, arg_index, 2);
            const char *type = info->type_name;
            if (type && strcmp(type, "sampler_t") == 0) {
                if (arg_size != sizeof(cl_sampler)) {
                    return CL_INVALID_ARG_SIZE;
                }
                if (!arg_value) {
                    return CL_INVALID_ARG_VALUE;
                }
                cl_sampler smp = *(const cl_sampler *) arg_value;
                if (!ferry_valid(smp, FERRY_MAGIC_SAMPLER)) {
                    return CL_INVALID_SAMPLER;
                }
                a.kind = ARG_SAMPLER;
                a.handle = smp->o.handle;
            } else if ((type && strncmp(type, "image", 5) == 0)
                       || (info->access != 0 && info->access != CL_KERNEL_ARG_ACCESS_NONE)) {
                err = mem_arg(arg_size, arg_value, 1, &a);
            } else if (address == CL_KERNEL_ARG_ADDRESS_GLOBAL || address == CL_KERNEL_ARG_ADDRESS_CONSTANT) {
                err = mem_arg(arg_size, arg_value, 0, &a);
            } else {
                err = value_arg(arg_size, arg_value,
                                type_size(type, ferry_device_pointer_size(kernel->program->context->device)), &a);
            }
        }
    } else if (err == CL_KERNEL_ARG_INFO_NOT_AVAILABLE) {
        err = guess_arg(arg_size, arg_value, &a);
    }
    if (err != CL_SUCCESS) {
        return err;
    }
    return send_arg(kernel, arg_index, &a, 1);
}

cl_int CL_API_CALL clSetKernelArgSVMPointer(cl_kernel kernel, cl_uint arg_index, const void *arg_value) {
    return ferry_valid(kernel, FERRY_MAGIC_KERNEL) ? CL_INVALID_OPERATION : CL_INVALID_KERNEL;
}

cl_int CL_API_CALL clSetKernelExecInfo(cl_kernel kernel, cl_kernel_exec_info param_name, size_t param_value_size,
                                       const void *param_value) {
    return ferry_valid(kernel, FERRY_MAGIC_KERNEL) ? CL_INVALID_OPERATION : CL_INVALID_KERNEL;
}

cl_kernel CL_API_CALL clCloneKernel(cl_kernel source_kernel, cl_int *errcode_ret) {
    cl_int dummy;
    cl_int *err = errcode_ret ? errcode_ret : &dummy;
    if (!ferry_valid(source_kernel, FERRY_MAGIC_KERNEL)) {
        *err = CL_INVALID_KERNEL;
        return NULL;
    }
    cl_kernel k = make_kernel(source_kernel->program, source_kernel->name, err);
    if (!k) {
        return NULL;
    }
    for (cl_uint i = 0; i < k->num_args && i < source_kernel->num_args; i++) {
        /* the source's lock is held while its bytes are sent and copied: another thread may set them */
        pthread_mutex_lock(&source_kernel->lock);
        struct ferry_arg a = source_kernel->args[i];
        a.capacity = 0;
        *err = send_arg(k, i, &a, 1);
        pthread_mutex_unlock(&source_kernel->lock);
        if (*err != CL_SUCCESS) {
            clReleaseKernel(k);
            return NULL;
        }
    }
    return k;
}

/* ---- queries ---- */

cl_int CL_API_CALL clGetKernelInfo(cl_kernel kernel, cl_kernel_info param_name, size_t param_value_size,
                                   void *param_value, size_t *param_value_size_ret) {
    if (!ferry_valid(kernel, FERRY_MAGIC_KERNEL)) {
        return CL_INVALID_KERNEL;
    }
    switch (param_name) {
    case CL_KERNEL_FUNCTION_NAME:
        return ferry_info_string(kernel->name, param_value_size, param_value, param_value_size_ret);
    case CL_KERNEL_NUM_ARGS:
        return ferry_info(&kernel->num_args, sizeof kernel->num_args, param_value_size, param_value,
                          param_value_size_ret);
    case CL_KERNEL_REFERENCE_COUNT: {
        cl_uint refs = atomic_load(&kernel->o.refs);
        return ferry_info(&refs, sizeof refs, param_value_size, param_value, param_value_size_ret);
    }
    case CL_KERNEL_CONTEXT:
        return ferry_info(&kernel->program->context, sizeof(cl_context), param_value_size, param_value,
                          param_value_size_ret);
    case CL_KERNEL_PROGRAM:
        return ferry_info(&kernel->program, sizeof(cl_program), param_value_size, param_value,
                          param_value_size_ret);
    case CL_KERNEL_ATTRIBUTES: {
        void *out;
        size_t n;
        cl_int err = ferry_query(FERRY_INFO_KERNEL, kernel->o.handle, param_name, 0, 0, 0, &out, &n, NULL,
                                 "clGetKernelInfo");
        if (err != CL_SUCCESS) {
            return err == CL_INVALID_OPERATION || err == CL_INVALID_VALUE
                ? ferry_info_string("", param_value_size, param_value, param_value_size_ret) : err;
        }
        err = ferry_info(out, n, param_value_size, param_value, param_value_size_ret);
        free(out);
        return err;
    }
    default:
        return CL_INVALID_VALUE;
    }
}

/* Whether the application may see its kernels' argument info. The host always builds with -cl-kernel-arg-info
 * (clSetKernelArg's checks need the info), but the specification offers the info only to a program built with that
 * option, and so does the host's PoCL. A linked program shows it (its inputs' compile options are not kept). */
static int arg_info_asked(cl_program p) {
    pthread_mutex_lock(&p->lock);
    int asked = p->from_link || (p->options && strstr(p->options, "-cl-kernel-arg-info") != NULL);
    pthread_mutex_unlock(&p->lock);
    return asked;
}

cl_int CL_API_CALL clGetKernelArgInfo(cl_kernel kernel, cl_uint arg_indx, cl_kernel_arg_info param_name,
                                      size_t param_value_size, void *param_value, size_t *param_value_size_ret) {
    if (!ferry_valid(kernel, FERRY_MAGIC_KERNEL)) {
        return CL_INVALID_KERNEL;
    }
    if (arg_indx >= kernel->num_args) {
        return CL_INVALID_ARG_INDEX;
    }
    int which = -1;
    for (int i = 0; i < 5; i++) {
        if (arg_params[i] == param_name) {
            which = i;
        }
    }
    if (which < 0) {
        return CL_INVALID_VALUE;
    }
    if (!arg_info_asked(kernel->program)) {
        return CL_KERNEL_ARG_INFO_NOT_AVAILABLE;
    }
    cl_int err = arg_info(kernel, arg_indx, which);
    if (err != CL_SUCCESS) {
        return err;
    }
    const struct ferry_arg_info *a = &kernel->info->args[arg_indx];
    switch (param_name) {
    case CL_KERNEL_ARG_ADDRESS_QUALIFIER:
        return ferry_info(&a->address, sizeof a->address, param_value_size, param_value, param_value_size_ret);
    case CL_KERNEL_ARG_ACCESS_QUALIFIER:
        return ferry_info(&a->access, sizeof a->access, param_value_size, param_value, param_value_size_ret);
    case CL_KERNEL_ARG_TYPE_QUALIFIER:
        return ferry_info(&a->type_qualifier, sizeof a->type_qualifier, param_value_size, param_value,
                          param_value_size_ret);
    case CL_KERNEL_ARG_TYPE_NAME:
        return ferry_info_string(a->type_name ? a->type_name : "", param_value_size, param_value,
                                 param_value_size_ret);
    default:
        return ferry_info_string(a->name ? a->name : "", param_value_size, param_value, param_value_size_ret);
    }
}

/* The four figures KERNEL_WORK_GROUP_INFO answers, for a backend without INFO. */
static cl_int work_group_fallback(cl_kernel k, cl_kernel_work_group_info param, size_t size, void *value,
                                  size_t *size_ret) {
    if (param == CL_KERNEL_COMPILE_WORK_GROUP_SIZE) {
        size_t none[3] = { 0, 0, 0 };
        return ferry_info(none, sizeof none, size, value, size_ret);
    }
    ferry_conn *c = ferry_icd_conn();
    if (!c) {
        return CL_OUT_OF_RESOURCES;
    }
    uint64_t args[FERRY_KERNEL_WORK_GROUP_INFO_ARGC] = { k->o.handle };
    ferry_reply r;
    memset(&r, 0, sizeof r);
    int status = ferry_call(c, FERRY_OP_KERNEL_WORK_GROUP_INFO, args, FERRY_KERNEL_WORK_GROUP_INFO_ARGC, NULL, 0, &r);
    cl_int err = status == FERRY_STATUS_OK ? CL_SUCCESS
                                           : ferry_cl_reply_error(status, CL_INVALID_KERNEL, "clGetKernelWorkGroupInfo",
                                                                  &r);
    uint64_t fig[4] = { r.results[0], r.results[1], r.results[2], r.results[3] };
    ferry_reply_free(&r);
    if (err != CL_SUCCESS) {
        return err;
    }
    switch (param) {
    case CL_KERNEL_WORK_GROUP_SIZE:
    case CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE: {
        size_t v = (size_t) fig[param == CL_KERNEL_WORK_GROUP_SIZE ? 0 : 1];
        return ferry_info(&v, sizeof v, size, value, size_ret);
    }
    default: {
        cl_ulong v = fig[param == CL_KERNEL_LOCAL_MEM_SIZE ? 2 : 3];
        return ferry_info(&v, sizeof v, size, value, size_ret);
    }
    }
}

cl_int CL_API_CALL clGetKernelWorkGroupInfo(cl_kernel kernel, cl_device_id device,
                                            cl_kernel_work_group_info param_name, size_t param_value_size,
                                            void *param_value, size_t *param_value_size_ret) {
    if (!ferry_valid(kernel, FERRY_MAGIC_KERNEL)) {
        return CL_INVALID_KERNEL;
    }
    if (device && device != kernel->program->context->device) {
        return CL_INVALID_DEVICE;
    }
    switch (param_name) {
    case CL_KERNEL_WORK_GROUP_SIZE:
    case CL_KERNEL_COMPILE_WORK_GROUP_SIZE:
    case CL_KERNEL_LOCAL_MEM_SIZE:
    case CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE:
    case CL_KERNEL_PRIVATE_MEM_SIZE:
        break;
    default: /* CL_KERNEL_GLOBAL_WORK_SIZE: only for custom devices and built-in kernels */
        return CL_INVALID_VALUE;
    }
    void *out;
    size_t n;
    int unsupported = 0;
    cl_int err = ferry_query(FERRY_INFO_KERNEL_WORK_GROUP, kernel->o.handle, param_name, 0, 0, 0, &out, &n,
                             &unsupported, "clGetKernelWorkGroupInfo");
    if (unsupported) {
        return work_group_fallback(kernel, param_name, param_value_size, param_value, param_value_size_ret);
    }
    if (err != CL_SUCCESS) {
        return err;
    }
    err = ferry_info(out, n, param_value_size, param_value, param_value_size_ret);
    free(out);
    return err;
}

cl_int CL_API_CALL clGetKernelSubGroupInfo(cl_kernel kernel, cl_device_id device,
                                           cl_kernel_sub_group_info param_name, size_t input_value_size,
                                           const void *input_value, size_t param_value_size, void *param_value,
                                           size_t *param_value_size_ret) {
    return ferry_valid(kernel, FERRY_MAGIC_KERNEL) ? CL_INVALID_OPERATION : CL_INVALID_KERNEL;
}
