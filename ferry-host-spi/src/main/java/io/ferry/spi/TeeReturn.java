package io.ferry.spi;

/**
 * What a TEE call answered: a GP return code and origin, and for OpenSession the backend's session id.
 *
 * @param code    TEEC return code (see {@code io.ferry.protocol.TeeWire})
 * @param origin  TEEC return origin
 * @param session the new session's id (OpenSession SUCCESS only), else 0
 */
public record TeeReturn(int code, int origin, long session) {

    public static TeeReturn of(int code, int origin) {
        return new TeeReturn(code, origin, 0);
    }

    public boolean ok() {
        return code == 0;
    }
}
