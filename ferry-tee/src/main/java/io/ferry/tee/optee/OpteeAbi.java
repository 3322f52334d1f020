package io.ferry.tee.optee;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.UUID;

/**
 * The Linux TEE subsystem's user API ({@code include/uapi/linux/tee.h}) as byte layouts: ioctl numbers and the
 * argument structs OP-TEE's libteec passes. Generic ioctl encoding (x86_64, arm64, riscv); little-endian, natural
 * alignment. Every method writes or reads one struct in place, so tests can check the bytes against the kernel's.
 *
 * <pre>
 * tee_ioctl_open_session_arg (56 bytes + 32 per param)        tee_ioctl_invoke_arg (24 bytes + 32 per param)
 *  0  uuid[16] (big-endian)                                     0  func        4  session    8  cancel_id
 * 16  clnt_uuid[16]                                            12  ret        16  ret_origin 20  num_params
 * 32  clnt_login  36 cancel_id  40 session  44 ret             24  params[]
 * 48  ret_origin  52 num_params 56 params[]
 *
 * tee_ioctl_param (32 bytes): attr u64, a u64, b u64, c u64
 *   memref: a = offset in the shared memory, b = size, c = shared-memory id (all ones: null memref)
 * tee_ioctl_buf_data (16): buf_ptr u64, buf_len u64          tee_ioctl_version_data (12): impl_id, impl_caps, gen_caps
 * tee_ioctl_shm_register_data (24): addr u64, length u64, flags u32, id s32
 * tee_ioctl_shm_alloc_data (16): size u64, flags u32, id s32
 * tee_ioctl_cancel_arg (8): cancel_id u32, session u32        tee_ioctl_close_session_arg (4): session u32
 * </pre>
 */
public final class OpteeAbi {
    private OpteeAbi() {
    }

    public static final int TEE_IOC_MAGIC = 0xA4;
    public static final int IOC_WRITE = 1;
    public static final int IOC_READ = 2;

    /** {@code _IOC(dir, type, nr, size)} of the generic encoding. */
    public static int ioc(int dir, int type, int nr, int size) {
        return (dir << 30) | (size << 16) | (type << 8) | nr;
    }

    public static final int VERSION_LENGTH = 12;
    public static final int BUF_DATA_LENGTH = 16;
    public static final int SHM_ALLOC_LENGTH = 16;
    public static final int SHM_REGISTER_LENGTH = 24;
    public static final int CANCEL_LENGTH = 8;
    public static final int CLOSE_LENGTH = 4;
    public static final int PARAM_LENGTH = 32;
    public static final int OPEN_SESSION_LENGTH = 56;
    public static final int INVOKE_LENGTH = 24;
    /** The kernel refuses argument blocks longer than this. */
    public static final int MAX_ARG_LENGTH = 1024;

    public static final int TEE_IOC_VERSION = ioc(IOC_READ, TEE_IOC_MAGIC, 0, VERSION_LENGTH);
    public static final int TEE_IOC_SHM_ALLOC = ioc(IOC_READ | IOC_WRITE, TEE_IOC_MAGIC, 1, SHM_ALLOC_LENGTH);
    public static final int TEE_IOC_OPEN_SESSION = ioc(IOC_READ, TEE_IOC_MAGIC, 2, BUF_DATA_LENGTH);
    public static final int TEE_IOC_INVOKE = ioc(IOC_READ, TEE_IOC_MAGIC, 3, BUF_DATA_LENGTH);
    public static final int TEE_IOC_CANCEL = ioc(IOC_READ, TEE_IOC_MAGIC, 4, CANCEL_LENGTH);
    public static final int TEE_IOC_CLOSE_SESSION = ioc(IOC_READ, TEE_IOC_MAGIC, 5, CLOSE_LENGTH);
    public static final int TEE_IOC_SHM_REGISTER = ioc(IOC_READ | IOC_WRITE, TEE_IOC_MAGIC, 9, SHM_REGISTER_LENGTH);

    public static final int IMPL_ID_OPTEE = 1;
    public static final int GEN_CAP_GP = 1;
    public static final int GEN_CAP_REG_MEM = 1 << 2;
    public static final int GEN_CAP_MEMREF_NULL = 1 << 3;

    public static final long ATTR_NONE = 0;
    public static final long ATTR_VALUE_INPUT = 1;
    public static final long ATTR_VALUE_OUTPUT = 2;
    public static final long ATTR_VALUE_INOUT = 3;
    public static final long ATTR_MEMREF_INPUT = 5;
    public static final long ATTR_MEMREF_OUTPUT = 6;
    public static final long ATTR_MEMREF_INOUT = 7;
    public static final long ATTR_META = 0x100;
    public static final long MEMREF_NULL = -1L;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** Bytes of an open-session argument block with {@code n} params. */
    public static int openSessionLength(int n) {
        return OPEN_SESSION_LENGTH + PARAM_LENGTH * n;
    }

    public static int invokeLength(int n) {
        return INVOKE_LENGTH + PARAM_LENGTH * n;
    }

    public static void putUuid(MemorySegment s, long at, UUID u) {
        long hi = u.getMostSignificantBits();
        long lo = u.getLeastSignificantBits();
        for (int i = 0; i < 8; i++) {
            s.set(ValueLayout.JAVA_BYTE, at + i, (byte) (hi >>> (56 - 8 * i)));
            s.set(ValueLayout.JAVA_BYTE, at + 8 + i, (byte) (lo >>> (56 - 8 * i)));
        }
    }

    public static void putOpenSession(MemorySegment s, UUID ta, UUID client, int login, int cancelId, int numParams) {
        s.asSlice(0, openSessionLength(numParams)).fill((byte) 0);
        putUuid(s, 0, ta);
        putUuid(s, 16, client);
        s.set(INT, 32, login);
        s.set(INT, 36, cancelId);
        s.set(INT, 52, numParams);
    }

    public static int openSessionSession(MemorySegment s) {
        return s.get(INT, 40);
    }

    public static int openSessionRet(MemorySegment s) {
        return s.get(INT, 44);
    }

    public static int openSessionOrigin(MemorySegment s) {
        return s.get(INT, 48);
    }

    public static void putInvoke(MemorySegment s, int func, int session, int cancelId, int numParams) {
        s.asSlice(0, invokeLength(numParams)).fill((byte) 0);
        s.set(INT, 0, func);
        s.set(INT, 4, session);
        s.set(INT, 8, cancelId);
        s.set(INT, 20, numParams);
    }

    public static int invokeRet(MemorySegment s) {
        return s.get(INT, 12);
    }

    public static int invokeOrigin(MemorySegment s) {
        return s.get(INT, 16);
    }

    /** Writes param {@code i} of a block whose params start at {@code paramsAt}. */
    public static void putParam(MemorySegment s, long paramsAt, int i, long attr, long a, long b, long c) {
        long at = paramsAt + (long) PARAM_LENGTH * i;
        s.set(LONG, at, attr);
        s.set(LONG, at + 8, a);
        s.set(LONG, at + 16, b);
        s.set(LONG, at + 24, c);
    }

    public static long param(MemorySegment s, long paramsAt, int i, int field) {
        return s.get(LONG, paramsAt + (long) PARAM_LENGTH * i + 8L * field);
    }

    public static void putBufData(MemorySegment s, long ptr, long len) {
        s.set(LONG, 0, ptr);
        s.set(LONG, 8, len);
    }

    public static void putCancel(MemorySegment s, int cancelId, int session) {
        s.set(INT, 0, cancelId);
        s.set(INT, 4, session);
    }

    public static void putClose(MemorySegment s, int session) {
        s.set(INT, 0, session);
    }

    public static void putShmRegister(MemorySegment s, long addr, long length) {
        s.set(LONG, 0, addr);
        s.set(LONG, 8, length);
        s.set(INT, 16, 0);
        s.set(INT, 20, 0);
    }

    public static int shmRegisterId(MemorySegment s) {
        return s.get(INT, 20);
    }

    public static void putShmAlloc(MemorySegment s, long size) {
        s.set(LONG, 0, size);
        s.set(INT, 8, 0);
        s.set(INT, 12, 0);
    }

    public static int shmAllocId(MemorySegment s) {
        return s.get(INT, 12);
    }

    /** impl_id, impl_caps, gen_caps. */
    public static int[] version(MemorySegment s) {
        return new int[] {s.get(INT, 0), s.get(INT, 4), s.get(INT, 8)};
    }
}
