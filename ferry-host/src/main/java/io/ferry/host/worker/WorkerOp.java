package io.ferry.host.worker;

/**
 * Requests the host sends to a guest's device worker, one per {@link io.ferry.spi.BackendSession} method.
 * Records use the call and completion layout of {@link io.ferry.protocol.Wire}; this catalogue is private to the
 * host and its workers (both come from the same jar), so only the argument counts are fixed here. A request without
 * the REPLY flag is answered only when it fails; the worker serves requests in order.
 */
enum WorkerOp {
    CREATE_CONTEXT(1, 2), CREATE_QUEUE(2, 4), CREATE_BUFFER(3, 5), CREATE_PROGRAM(4, 3), BUILD_PROGRAM(5, 1),
    CREATE_KERNEL(6, 2), ARG_BUFFER(7, 3), ARG_VALUE(8, 2), ARG_LOCAL(9, 3), WRITE(10, 6), READ(11, 6),
    COPY(12, 7), FILL(13, 5), LAUNCH(14, 14), FINISH(15, 1), WAIT_EVENT(16, 1), RELEASE(17, 1), CLOSE(18, 0),
    PING(19, 0);

    private static final WorkerOp[] BY_CODE = new WorkerOp[32];

    static {
        for (WorkerOp op : values()) {
            BY_CODE[op.code] = op;
        }
    }

    final int code;
    final int args;

    WorkerOp(int code, int args) {
        this.code = code;
        this.args = args;
    }

    static WorkerOp of(int code) {
        return code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
