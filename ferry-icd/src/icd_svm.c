/* icd_svm.c: OpenCL 2.x shared virtual memory and pipes. Ferry presents OpenCL 1.2 and its device is on another
 * machine, so there is no SVM (clSVMAlloc answers NULL, as for a device without SVM capabilities) and no pipes:
 * each of these entry points answers CL_INVALID_OPERATION after checking its queue or context. */
#include "enqueue.h"

cl_mem clCreatePipe(cl_context context, cl_mem_flags flags, cl_uint packet_size, cl_uint max_packets,
                    const cl_pipe_properties *properties, cl_int *errcode_ret)
{
    if (errcode_ret) {
        *errcode_ret = ferry_valid(context, FERRY_MAGIC_CONTEXT) ? CL_INVALID_OPERATION : CL_INVALID_CONTEXT;
    }
    return NULL;
}

cl_int clGetPipeInfo(cl_mem pipe, cl_pipe_info param, size_t size, void *value, size_t *size_ret)
{
    return CL_INVALID_MEM_OBJECT;   /* no pipe exists */
}

void *clSVMAlloc(cl_context context, cl_svm_mem_flags flags, size_t size, cl_uint alignment)
{
    return NULL;
}

void clSVMFree(cl_context context, void *svm_pointer)
{
}

static cl_int no_svm(cl_command_queue q)
{
    return ferry_valid(q, FERRY_MAGIC_QUEUE) ? CL_INVALID_OPERATION : CL_INVALID_COMMAND_QUEUE;
}

cl_int clEnqueueSVMFree(cl_command_queue q, cl_uint n, void *pointers[],
                        void (CL_CALLBACK *fn)(cl_command_queue, cl_uint, void *[], void *), void *data,
                        cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return no_svm(q);
}

cl_int clEnqueueSVMMemcpy(cl_command_queue q, cl_bool blocking, void *dst, const void *src, size_t size,
                          cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return no_svm(q);
}

cl_int clEnqueueSVMMemFill(cl_command_queue q, void *ptr, const void *pattern, size_t pattern_size, size_t size,
                           cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return no_svm(q);
}

cl_int clEnqueueSVMMap(cl_command_queue q, cl_bool blocking, cl_map_flags flags, void *ptr, size_t size,
                       cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return no_svm(q);
}

cl_int clEnqueueSVMUnmap(cl_command_queue q, void *ptr, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return no_svm(q);
}

cl_int clEnqueueSVMMigrateMem(cl_command_queue q, cl_uint n, const void **pointers, const size_t *sizes,
                              cl_mem_migration_flags flags, cl_uint nwait, const cl_event *wait, cl_event *event)
{
    return no_svm(q);
}
