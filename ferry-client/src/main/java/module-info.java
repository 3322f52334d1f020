/**
 * Ferry's guest library: connect to a Ferry host ({@link io.ferry.client.Ferry#connect(String)}), run OpenCL-style
 * compute on its devices ({@code io.ferry.client}), and call trusted applications through the GlobalPlatform TEE
 * Client API ({@code io.ferry.client.tee}).
 *
 * <p>{@code requires transitive io.ferry.protocol}: the API speaks the wire's own types where a guest must name
 * them ({@code Status} in {@link io.ferry.client.FerryException#status()}, {@code DeviceType} in
 * {@link io.ferry.client.Ferry#device(io.ferry.protocol.DeviceType)}, {@code SourceLanguage}), so a module that
 * reads this one reads those too. A copy of them in the client would be a second catalogue to keep in step with the
 * host's. The channel ({@code io.ferry.channel}) is not passed on: no public signature uses it.
 *
 * <p>The restricted FFM calls of the channel (mmap, futex, sockets) and of this library (heap segments) need
 * {@code --enable-native-access=io.ferry.channel,io.ferry.client} on the module path, or
 * {@code --enable-native-access=ALL-UNNAMED} on the class path.
 */
module io.ferry.client {
    requires transitive io.ferry.protocol;
    requires io.ferry.channel;
    requires java.logging;

    exports io.ferry.client;
    exports io.ferry.client.tee;
}
