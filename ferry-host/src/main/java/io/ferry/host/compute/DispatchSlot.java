package io.ferry.host.compute;

import io.ferry.host.sched.Ticket;

/** {@link DeviceDispatch}'s payload of one ticket: whether its thread got the device, or left. Under its lock. */
final class DispatchSlot {
    boolean granted;
    boolean abandoned;
    Ticket ticket;
}
