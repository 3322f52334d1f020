/**
 * Ferry's wire: the message catalogue ({@code Op}), the one codec of calls and completions, and the status codes a
 * guest and a host exchange. Depends on nothing but {@code java.base}.
 */
module io.ferry.protocol {
    exports io.ferry.protocol;
}
