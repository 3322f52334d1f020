/**
 * The shared-memory channel between a guest and a host: region layout, rings hardened against a hostile peer,
 * handshake, idle strategies, and the OS calls under them (memfd, Unix sockets, eventfd, futex, VFIO), over FFM.
 *
 * <p>Not an API for guest programs: the guest library ({@code io.ferry.client}) reads it without passing it on.
 * Its restricted FFM calls need {@code --enable-native-access=io.ferry.channel} on the module path (or
 * {@code ALL-UNNAMED} on the class path).
 */
module io.ferry.channel {
    requires io.ferry.protocol;

    exports io.ferry.channel;
    exports io.ferry.channel.os;
}
