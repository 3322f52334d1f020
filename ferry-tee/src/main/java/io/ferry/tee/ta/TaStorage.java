package io.ferry.tee.ta;

/**
 * A TA's persistent objects, sealed by the TEE (AES-GCM under a key only this TA's storage uses). Tampering answers
 * {@link TaCodes#ERROR_MAC_INVALID}, a rolled-back object {@link TaCodes#ERROR_CORRUPT_OBJECT}, a missing one
 * {@link TaCodes#ERROR_ITEM_NOT_FOUND}; each is thrown as a {@link TaException}.
 */
public interface TaStorage {
    /** Largest object id in UTF-8 bytes. */
    int MAX_ID = 64;

    byte[] read(String id);

    /** Creates or replaces an object. */
    void write(String id, byte[] data);

    /** Deletes an object; false when it did not exist. */
    boolean delete(String id);

    boolean exists(String id);
}
