package io.ferry.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HandleMapTest {

    @Test
    void behavesLikeAMap() {
        HandleMap<Long> table = new HandleMap<>();
        Map<Long, Long> reference = new HashMap<>();
        Random random = new Random(42);
        for (int i = 0; i < 100_000; i++) {
            long key = random.nextInt(500) - 250L + (random.nextBoolean() ? 0 : Long.MIN_VALUE);
            switch (random.nextInt(3)) {
                case 0 -> {
                    if (!reference.containsKey(key)) {
                        table.put(key, key);
                        reference.put(key, key);
                    }
                }
                case 1 -> assertEquals(reference.remove(key), table.remove(key));
                default -> assertEquals(reference.get(key), table.get(key));
            }
            assertEquals(reference.size(), table.size());
        }
        for (Map.Entry<Long, Long> e : reference.entrySet()) {
            assertEquals(e.getValue(), table.get(e.getKey()));
        }
        assertEquals(reference.size(), table.values().size());
        table.clear();
        assertNull(table.get(0));
        assertEquals(0, table.size());
    }
}
