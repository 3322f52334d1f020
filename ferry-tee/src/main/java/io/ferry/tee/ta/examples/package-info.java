/**
 * Ports of OP-TEE's example TAs (the {@code optee_examples} repository: hello_world, random, secure_storage, hotp,
 * aes, acipher, base_sha, ecdh) to the software TEE: the same UUIDs, commands, parameter types and results, written
 * anew in Java from the TAs' published interfaces, so that the examples' unmodified client programs, built against
 * Ferry's libteec, run against Ferry (docs/tee.md, "OP-TEE's example TAs"). Each is a built-in
 * (io.ferry.tee.BuiltinTas).
 */
package io.ferry.tee.ta.examples;
