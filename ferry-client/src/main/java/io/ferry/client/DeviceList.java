package io.ferry.client;

import io.ferry.protocol.Calls;
import io.ferry.protocol.DeviceType;
import io.ferry.protocol.SourceLanguage;
import io.ferry.protocol.Status;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/** The host's devices, asked one by one at connect ({@link Ferry#devices()}). */
final class DeviceList {
    private DeviceList() {
    }

    /**
     * The host's devices by index. HELLO's count includes devices the operator withdrew (VFIO): they answer NO_DEVICE
     * and are left out, and the devices after them still listed; past the count, NO_DEVICE ends the list.
     */
    static List<Device> query(Channel channel, long count) {
        List<Device> out = new ArrayList<>();
        for (int i = 0; ; i++) {
            Channel.Completion c;
            try {
                int index = i;
                c = channel.call(new Calls.DeviceInfo(), null, d -> d.device(index));
            } catch (FerryException e) {
                if (e.status() == Status.NO_DEVICE && i + 1 < count) {
                    continue; // withdrawn, keeping its index: the next may be served
                }
                if (e.status() == Status.NO_DEVICE) {
                    break;
                }
                throw e;
            }
            String[] text = c.text().split("\n", -1);
            EnumSet<SourceLanguage> langs = EnumSet.noneOf(SourceLanguage.class);
            for (SourceLanguage l : SourceLanguage.values()) {
                if (((c.r0() >>> 8) & (1L << l.code())) != 0) {
                    langs.add(l);
                }
            }
            out.add(new Device(i, field(text, 0), field(text, 1), field(text, 2), field(text, 3),
                    DeviceType.of((int) (c.r0() & 0xff)), c.r1(), c.r2(), (int) c.r3(), c.r3() >>> 32, langs));
        }
        return out;
    }

    private static String field(String[] a, int i) {
        return i < a.length ? a[i] : "";
    }
}
