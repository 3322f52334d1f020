package io.ferry.spi;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A map from 64-bit client handles to objects: open addressing with linear probing and backward-shift deletion, so
 * lookups on the enqueue paths neither box nor allocate. Any {@code long} is a valid key; a slot is empty when its
 * value is null. Not thread-safe (a session is used by one thread at a time). For backends' tables of native
 * objects by the guest's handles.
 */
public final class HandleMap<V> {
    private long[] keys;
    private Object[] values;
    private int size;
    private int mask;

    public HandleMap() {
        keys = new long[64];
        values = new Object[64];
        mask = 63;
    }

    private static int hash(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    @SuppressWarnings("unchecked")
    public V get(long key) {
        int i = hash(key) & mask;
        Object v;
        while ((v = values[i]) != null) {
            if (keys[i] == key) {
                return (V) v;
            }
            i = (i + 1) & mask;
        }
        return null;
    }

    public boolean contains(long key) {
        return get(key) != null;
    }

    /** Puts a new mapping; the key must not be present. */
    public void put(long key, V value) {
        if (value == null) {
            throw new IllegalArgumentException("null value");
        }
        if ((size + 1) * 4 > values.length * 3) {
            grow();
        }
        int i = hash(key) & mask;
        while (values[i] != null) {
            if (keys[i] == key) {
                values[i] = value;
                return;
            }
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
        size++;
    }

    /** Removes and returns the mapping of {@code key}, or null. */
    @SuppressWarnings("unchecked")
    public V remove(long key) {
        int i = hash(key) & mask;
        Object v;
        while ((v = values[i]) != null) {
            if (keys[i] == key) {
                shiftBack(i);
                size--;
                return (V) v;
            }
            i = (i + 1) & mask;
        }
        return null;
    }

    private void shiftBack(int hole) {
        int i = hole;
        while (true) {
            i = (i + 1) & mask;
            Object v = values[i];
            if (v == null) {
                break;
            }
            int home = hash(keys[i]) & mask;
            // move entry i into the hole unless its home lies cyclically in (hole, i]
            boolean stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
            if (!stays) {
                keys[hole] = keys[i];
                values[hole] = v;
                hole = i;
            }
        }
        values[hole] = null;
        keys[hole] = 0;
    }

    private void grow() {
        long[] oldKeys = keys;
        Object[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new Object[oldValues.length * 2];
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < oldValues.length; i++) {
            if (oldValues[i] != null) {
                @SuppressWarnings("unchecked")
                V v = (V) oldValues[i];
                put(oldKeys[i], v);
            }
        }
    }

    public int size() {
        return size;
    }

    /** A snapshot of the values. */
    @SuppressWarnings("unchecked")
    public List<V> values() {
        List<V> out = new ArrayList<>(size);
        for (Object v : values) {
            if (v != null) {
                out.add((V) v);
            }
        }
        return out;
    }

    public void clear() {
        Arrays.fill(values, null);
        Arrays.fill(keys, 0);
        size = 0;
    }
}
