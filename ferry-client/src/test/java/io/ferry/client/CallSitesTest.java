package io.ferry.client;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** Call sites: the caller outside this library, for the recent calls only, during start-up and after a failure. */
class CallSitesTest {

    @Test
    void namesTheFirstFrameOutsideTheLibrary() {
        CallSites sites = new CallSites();
        sites.capture(1);
        String where = sites.where(1);
        assertNotNull(where);
        assertFalse(where.startsWith("io.ferry.client."), where); // this test is inside the package: its caller
    }

    @Test
    void keepsOnlyTheRecentCalls() {
        CallSites sites = new CallSites();
        for (long s = 1; s <= CallSites.SLOTS + 1; s++) {
            sites.capture(s);
        }
        assertNull(sites.where(1), "overwritten by call " + (CallSites.SLOTS + 1));
        assertNotNull(sites.where(2));
        assertNull(sites.where(CallSites.SLOTS + 2), "never made");
    }

    @Test
    void capturesDuringStartUpAndAgainAfterAFailure() {
        CallSites sites = new CallSites();
        long s = 0;
        while (s < CallSites.STARTUP_CALLS) {
            sites.capture(++s);
        }
        sites.capture(++s);
        assertNull(sites.where(s), "past start-up: not captured");
        sites.alwaysOn();
        sites.capture(++s);
        assertNotNull(sites.where(s));
    }
}
