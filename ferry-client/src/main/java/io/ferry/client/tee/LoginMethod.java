package io.ferry.client.tee;

import io.ferry.protocol.TeeWire;

/**
 * GP login methods. The host decides the client identity a TA sees: PUBLIC is anonymous (nil UUID), USER is the
 * guest (UUIDv5 of {@code "guest=NAME"}), GROUP is a group id the policy grants the guest. Application logins are
 * refused, as Linux refuses them.
 */
public enum LoginMethod {
    PUBLIC(TeeWire.LOGIN_PUBLIC),
    USER(TeeWire.LOGIN_USER),
    GROUP(TeeWire.LOGIN_GROUP),
    APPLICATION(TeeWire.LOGIN_APPLICATION),
    USER_APPLICATION(TeeWire.LOGIN_USER_APPLICATION),
    GROUP_APPLICATION(TeeWire.LOGIN_GROUP_APPLICATION);

    private final int code;

    LoginMethod(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
