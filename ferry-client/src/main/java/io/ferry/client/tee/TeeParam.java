package io.ferry.client.tee;

import io.ferry.protocol.TeeWire;
import java.lang.foreign.MemorySegment;

/**
 * One of the four parameters of a {@link TeeOperation}: nothing, a value (two unsigned 32-bit words), a temporary
 * memref (any memory: region heap memory travels without a copy, other memory is staged through the heap), or a
 * registered memref (whole or part of a {@link TeeSharedMemory}). After a call the operation holds updated
 * parameters: output values, and every memref's output size. An invalid type or a null parent throws
 * {@link TeeException} BAD_PARAMETERS with origin API; sizes and ranges are checked when the operation is used.
 */
public sealed interface TeeParam {
    int NONE = TeeWire.NONE;
    int VALUE_INPUT = TeeWire.VALUE_INPUT;
    int VALUE_OUTPUT = TeeWire.VALUE_OUTPUT;
    int VALUE_INOUT = TeeWire.VALUE_INOUT;
    int MEMREF_TEMP_INPUT = TeeWire.MEMREF_TEMP_INPUT;
    int MEMREF_TEMP_OUTPUT = TeeWire.MEMREF_TEMP_OUTPUT;
    int MEMREF_TEMP_INOUT = TeeWire.MEMREF_TEMP_INOUT;
    int MEMREF_WHOLE = TeeWire.MEMREF_WHOLE;
    int MEMREF_PARTIAL_INPUT = TeeWire.MEMREF_PARTIAL_INPUT;
    int MEMREF_PARTIAL_OUTPUT = TeeWire.MEMREF_PARTIAL_OUTPUT;
    int MEMREF_PARTIAL_INOUT = TeeWire.MEMREF_PARTIAL_INOUT;

    /** The GP parameter type. */
    int type();

    /** TEEC_NONE. */
    record None() implements TeeParam {
        @Override
        public int type() {
            return NONE;
        }
    }

    /** TEEC_VALUE_*: {@code a} and {@code b} are unsigned 32-bit words. */
    record Value(int type, int a, int b) implements TeeParam {
        public Value {
            if (!TeeWire.isValue(type)) {
                throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API,
                        "0x" + Integer.toHexString(type) + " is not a value type");
            }
        }
    }

    /**
     * TEEC_MEMREF_TEMP_*: {@code buffer} null is a null memref of {@code size} bytes (a TA may answer how much it
     * needs); otherwise {@code size} must not exceed the buffer when the call is made. After a call {@code size} is
     * what the TA reported, which may exceed the buffer (SHORT_BUFFER: that many bytes are needed).
     */
    record TempMemref(int type, MemorySegment buffer, long size) implements TeeParam {
        public TempMemref {
            if (!TeeWire.isTempMemref(type)) {
                throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API,
                        "0x" + Integer.toHexString(type) + " is not a temporary memref type");
            }
        }
    }

    /** TEEC_MEMREF_WHOLE and TEEC_MEMREF_PARTIAL_*: a range of registered or allocated shared memory. */
    record RegisteredMemref(int type, TeeSharedMemory parent, long offset, long size) implements TeeParam {
        public RegisteredMemref {
            if (parent == null) {
                throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API,
                        "a registered memref needs its shared memory (parent)");
            }
            if (!TeeWire.isRegisteredMemref(type)) {
                throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API,
                        "0x" + Integer.toHexString(type) + " is not a registered memref type");
            }
        }
    }

    static TeeParam none() {
        return new None();
    }

    static Value valueInput(int a, int b) {
        return new Value(VALUE_INPUT, a, b);
    }

    static Value valueOutput() {
        return new Value(VALUE_OUTPUT, 0, 0);
    }

    static Value valueInout(int a, int b) {
        return new Value(VALUE_INOUT, a, b);
    }

    static TempMemref input(MemorySegment buffer) {
        return new TempMemref(MEMREF_TEMP_INPUT, buffer, buffer == null ? 0 : buffer.byteSize());
    }

    static TempMemref output(MemorySegment buffer) {
        return new TempMemref(MEMREF_TEMP_OUTPUT, buffer, buffer == null ? 0 : buffer.byteSize());
    }

    static TempMemref inout(MemorySegment buffer) {
        return new TempMemref(MEMREF_TEMP_INOUT, buffer, buffer == null ? 0 : buffer.byteSize());
    }

    static RegisteredMemref whole(TeeSharedMemory shm) {
        if (shm == null) {
            throw new TeeException(TeeResult.ERROR_BAD_PARAMETERS, TeeResult.ORIGIN_API, "null shared memory");
        }
        return new RegisteredMemref(MEMREF_WHOLE, shm, 0, shm.size());
    }

    static RegisteredMemref partial(int type, TeeSharedMemory shm, long offset, long size) {
        return new RegisteredMemref(type, shm, offset, size);
    }
}
