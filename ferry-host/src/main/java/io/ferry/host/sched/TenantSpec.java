package io.ferry.host.sched;

import java.util.Objects;

/**
 * What the scheduler needs to know about one tenant (a guest on this device).
 *
 * @param id          unique per scheduler
 * @param name        for figures and messages
 * @param schedClass  criticality class
 * @param weight      share inside the class, {@code >= 1}
 * @param reservation device time per period at the class's precedence, or {@code null} for none (never demoted)
 */
public record TenantSpec(long id, String name, SchedClass schedClass, int weight, Reservation reservation) {
    public TenantSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(schedClass, "schedClass");
        if (weight < 1) {
            throw new IllegalArgumentException("weight of tenant " + name + " must be >= 1, got " + weight);
        }
    }
}
