package io.ferry.host.compute;

import io.ferry.channel.RegionLayout;
import io.ferry.host.config.HostConfig;
import io.ferry.host.config.Quotas;

/**
 * A guest's region layout and lanes as the host derives them from the config, never from the header a guest can
 * rewrite: the host lays the region out with it, and the host and every device worker find a lane's rings and heap
 * slice with it.
 */
public final class GuestLayout {
    private GuestLayout() {
    }

    /**
     * The lanes of {@code guest}'s region: its {@code lanes} where the config names a number, else
     * {@link HostConfig#DEFAULT_LANES}; for {@code lanes: auto}, up to {@link HostConfig#AUTO_LANES}, as many as leave
     * each lane {@link HostConfig#MIN_DEFAULT_LANE_HEAP} of heap (at least one).
     */
    public static int lanes(HostConfig.GuestConfig guest) {
        if (guest.lanes() == HostConfig.LANES_AUTO) {
            return RegionLayout.lanesThatFit(guest.regionSize(), HostConfig.AUTO_LANES, HostConfig.MIN_DEFAULT_LANE_HEAP);
        }
        return guest.lanes() > 0 ? guest.lanes() : HostConfig.DEFAULT_LANES;
    }

    /**
     * The guest's region layout: default rings per lane, the rest heap, split evenly between the lanes.
     *
     * @throws HostConfig.ConfigException when the region has no room for the lanes the config names
     */
    public static RegionLayout of(HostConfig.GuestConfig guest) {
        int lanes = lanes(guest);
        try {
            return RegionLayout.forSize(guest.regionSize(), lanes);
        } catch (IllegalArgumentException e) {
            throw new HostConfig.ConfigException("guest " + guest.name() + ": " + e.getMessage() + "; raise its"
                    + " regionSize" + (lanes > 1 ? " or lower its lanes (now " + lanes + ")" : ""));
        }
    }

    /** What one lane's session of {@code guest} may hold: its quotas divided between its lanes. */
    public static Quotas laneQuotas(HostConfig.GuestConfig guest) {
        return guest.quotas().share(lanes(guest));
    }
}
