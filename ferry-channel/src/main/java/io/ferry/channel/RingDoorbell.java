package io.ferry.channel;

/**
 * A ring's doorbell where a futex does not reach the peer, as across a VM boundary: the producer {@link #ring rings}
 * it only when the consumer announced that it sleeps (the ring's CONSUMER_WAITING word, the same rule as the futex
 * doorbell), and the consumer {@link #await sleeps} on it. Host side of an ivshmem guest: an eventfd that QEMU
 * signals when the guest writes the device's DOORBELL register, and the guest's eventfd that QEMU turns into an
 * MSI-X interrupt. Guest side: the DOORBELL register, and the eventfd VFIO signals on that interrupt.
 *
 * <p>{@link #ring} runs on the producer's thread and {@link #await} on the consumer's; neither may allocate.
 */
public interface RingDoorbell {

    /** Producer: wakes the sleeping consumer. Failures are the doorbell's to report; the consumer's nap bounds them. */
    void ring();

    /**
     * Consumer: sleeps until rung or {@code timeoutNanos} passed; may return early. Returns false when this doorbell
     * cannot wait now (no peer attached), and the ring then waits as it would without one.
     */
    boolean await(long timeoutNanos);
}
