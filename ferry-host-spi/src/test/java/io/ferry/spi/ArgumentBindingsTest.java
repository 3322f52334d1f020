package io.ferry.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ferry.protocol.Status;
import org.junit.jupiter.api.Test;

class ArgumentBindingsTest {
    @Test
    void namesUnsetArgumentsAndReleasedBuffers() throws BackendException {
        ArgumentBindings a = new ArgumentBindings("vadd", "argument", 3);
        a.markSet(0, null);
        BackendException e = assertThrows(BackendException.class, () -> a.checkLaunch(i -> i + " 'x" + i + "'"));
        assertEquals(Status.INVALID_KERNEL_ARGS, e.status());
        assertEquals("kernel 'vadd': arguments not set: 1 'x1', 2 'x2'", e.getMessage());
        DeviceObject buffer = new DeviceObject() { };
        a.markSet(1, buffer);
        a.markSet(2, null);
        a.checkLaunch(i -> "" + i);
        buffer.markReleased();
        e = assertThrows(BackendException.class, () -> a.checkLaunch(i -> i + " 'b'"));
        assertEquals("kernel 'vadd' argument 1 'b' refers to a buffer that was released; set it again", e.getMessage());
        a.markSet(1, null);
        a.checkLaunch(i -> "" + i);
    }
}
