package io.ferry.host.tee;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.protocol.TeeWire;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class TeePolicyTest {
    static final UUID TA = UUID.fromString("11111111-2222-3333-4444-555555555555");

    @Test
    void nothingIsAllowedByDefault() {
        assertTrue(TeePolicy.parse("# empty\n").matching("g", TA, 0, 0).isEmpty());
    }

    @Test
    void rulesMatchGuestTaLoginAndGroups() {
        TeePolicy p = TeePolicy.parse("allow guest=g ta=" + TA + " login=public,group groups=5 commands=1-3\n"
                + "allow guest=* ta=* login=user");
        assertEquals(1, p.matching("g", TA, TeeWire.LOGIN_PUBLIC, 0).size());
        assertTrue(p.matching("h", TA, TeeWire.LOGIN_PUBLIC, 0).isEmpty());
        assertEquals(1, p.matching("g", TA, TeeWire.LOGIN_GROUP, 5).size());
        assertTrue(p.matching("g", TA, TeeWire.LOGIN_GROUP, 6).isEmpty());
        assertEquals(1, p.matching("h", UUID.randomUUID(), TeeWire.LOGIN_USER, 0).size());
        var granted = p.matching("g", TA, TeeWire.LOGIN_PUBLIC, 0);
        assertTrue(TeePolicy.allowsCommand(granted, 3));
        assertTrue(!TeePolicy.allowsCommand(granted, 4));
    }

    @Test
    void badLinesAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> TeePolicy.parse("\ndeny guest=g ta=*"));
        assertTrue(e.getMessage().contains("line 2"));
        assertThrows(IllegalArgumentException.class, () -> TeePolicy.parse("allow guest=g ta=* login=application"));
        assertThrows(IllegalArgumentException.class, () -> TeePolicy.parse("allow ta=*"));
    }
}
