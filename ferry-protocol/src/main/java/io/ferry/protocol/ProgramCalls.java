package io.ferry.protocol;

import java.lang.foreign.MemorySegment;

/**
 * Named views of INFO and of the program calls a native OpenCL ICD needs beyond PROGRAM_CREATE and PROGRAM_BUILD
 * (opcodes 44–47); {@code CallsTest} checks them against the {@link Op} catalogue as it does {@link Calls}.
 */
public final class ProgramCalls {
    private ProgramCalls() {
    }

    /**
     * INFO: kind ({@link InfoKind}), handle, param (the OpenCL {@code cl_*_info} value), index (KERNEL_ARG's argument,
     * IMAGE_FORMATS' object type), heap offset, heap size (0: the value comes back in the completion's blob; else it
     * is written to {@code [heap offset, heap offset + heap size)}); results: the value's size in bytes, 1 when it
     * was written to the heap.
     */
    public static final class Info extends CallRecord {
        public static final int KIND = 0, HANDLE = 1, PARAM = 2, INDEX = 3, HEAP_OFFSET = 4, HEAP_SIZE = 5;
        public Info() { super(Op.INFO); }
        @Override public Info wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long kind() { return arg(KIND); }
        public Info kind(long v) { return set(KIND, v); }
        public long handle() { return arg(HANDLE); }
        public Info handle(long v) { return set(HANDLE, v); }
        public long param() { return arg(PARAM); }
        public Info param(long v) { return set(PARAM, v); }
        public long index() { return arg(INDEX); }
        public Info index(long v) { return set(INDEX, v); }
        public long heapOffset() { return arg(HEAP_OFFSET); }
        public Info heapOffset(long v) { return set(HEAP_OFFSET, v); }
        public long heapSize() { return arg(HEAP_SIZE); }
        public Info heapSize(long v) { return set(HEAP_SIZE, v); }
    }

    /**
     * PROGRAM_CREATE_HEAP: program, context, language, heap offset, size: PROGRAM_CREATE with its source (UTF-8) in
     * the lane's heap, for a source larger than a record carries.
     */
    public static final class ProgramCreateHeap extends CallRecord {
        public static final int PROGRAM = 0, CONTEXT = 1, LANGUAGE = 2, HEAP_OFFSET = 3, SIZE = 4;
        /** Largest source the host accepts. */
        public static final int MAX_SIZE = 16 << 20;
        public ProgramCreateHeap() { super(Op.PROGRAM_CREATE_HEAP); }
        @Override public ProgramCreateHeap wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long program() { return arg(PROGRAM); }
        public ProgramCreateHeap program(long v) { return set(PROGRAM, v); }
        public long context() { return arg(CONTEXT); }
        public ProgramCreateHeap context(long v) { return set(CONTEXT, v); }
        public long language() { return arg(LANGUAGE); }
        public ProgramCreateHeap language(long v) { return set(LANGUAGE, v); }
        public long heapOffset() { return arg(HEAP_OFFSET); }
        public ProgramCreateHeap heapOffset(long v) { return set(HEAP_OFFSET, v); }
        public long size() { return arg(SIZE); }
        public ProgramCreateHeap size(long v) { return set(SIZE, v); }
    }

    /** PROGRAM_CREATE_BINARY: program, context, heap offset, size: a device binary in the lane's heap. */
    public static final class ProgramCreateBinary extends CallRecord {
        public static final int PROGRAM = 0, CONTEXT = 1, HEAP_OFFSET = 2, SIZE = 3;
        /** Largest binary the host accepts. */
        public static final int MAX_SIZE = 256 << 20;
        public ProgramCreateBinary() { super(Op.PROGRAM_CREATE_BINARY); }
        @Override public ProgramCreateBinary wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long program() { return arg(PROGRAM); }
        public ProgramCreateBinary program(long v) { return set(PROGRAM, v); }
        public long context() { return arg(CONTEXT); }
        public ProgramCreateBinary context(long v) { return set(CONTEXT, v); }
        public long heapOffset() { return arg(HEAP_OFFSET); }
        public ProgramCreateBinary heapOffset(long v) { return set(HEAP_OFFSET, v); }
        public long size() { return arg(SIZE); }
        public ProgramCreateBinary size(long v) { return set(SIZE, v); }
    }

    /**
     * PROGRAM_COMPILE: program, headers; blob: {@code headers} u64 program handles (embedded headers), then
     * {@code headers} NUL-terminated include names, then the compile options (UTF-8, the rest of the blob).
     */
    public static final class ProgramCompile extends CallRecord {
        public static final int PROGRAM = 0, HEADERS = 1;
        /** Most embedded headers one compile takes. */
        public static final int MAX_HEADERS = 64;
        public ProgramCompile() { super(Op.PROGRAM_COMPILE); }
        @Override public ProgramCompile wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long program() { return arg(PROGRAM); }
        public ProgramCompile program(long v) { return set(PROGRAM, v); }
        public long headers() { return arg(HEADERS); }
        public ProgramCompile headers(long v) { return set(HEADERS, v); }
    }

    /**
     * PROGRAM_LINK: program (the new, linked program), context, inputs; blob: {@code inputs} u64 program handles
     * (compiled programs), then the link options (UTF-8).
     */
    public static final class ProgramLink extends CallRecord {
        public static final int PROGRAM = 0, CONTEXT = 1, INPUTS = 2;
        /** Most programs one link takes. */
        public static final int MAX_INPUTS = 64;
        public ProgramLink() { super(Op.PROGRAM_LINK); }
        @Override public ProgramLink wrap(MemorySegment s, long at) { super.wrap(s, at); return this; }
        public long program() { return arg(PROGRAM); }
        public ProgramLink program(long v) { return set(PROGRAM, v); }
        public long context() { return arg(CONTEXT); }
        public ProgramLink context(long v) { return set(CONTEXT, v); }
        public long inputs() { return arg(INPUTS); }
        public ProgramLink inputs(long v) { return set(INPUTS, v); }
    }
}
