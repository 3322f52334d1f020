package io.ferry.spi;

/**
 * Whether the guest asked to cancel the call in progress (GP RequestCancellation). A backend polls it while the
 * call waits and then asks the TEE to cancel; the trusted application decides whether to honour it.
 */
@FunctionalInterface
public interface TeeCancellation {
    TeeCancellation NEVER = () -> false;

    boolean requested();
}
