package io.ferry.host.worker;

/**
 * The one-way requests not yet known to be done, in order: a ring of primitive columns {worker seq, guest seq,
 * guest op, first argument} that grows by doubling up to {@link WorkerClient#MAX_OUTSTANDING} entries (about 1.8 MiB) and
 * allocates nothing per request.
 */
final class Outstanding {
    private long[] seqs = new long[256];
    private long[] guestSeqs = new long[256];
    private long[] args = new long[256];
    private int[] ops = new int[256];
    private int head;
    private int size;

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void add(long seq, long guestSeq, long guestOp, long arg) {
        if (size == seqs.length) {
            grow();
        }
        int i = (head + size) & (seqs.length - 1);
        seqs[i] = seq;
        guestSeqs[i] = guestSeq;
        ops[i] = (int) guestOp;
        args[i] = arg;
        size++;
    }

    private void grow() {
        int n = seqs.length;
        long[] s = new long[2 * n];
        long[] g = new long[2 * n];
        long[] a = new long[2 * n];
        int[] o = new int[2 * n];
        for (int k = 0; k < size; k++) {
            int i = (head + k) & (n - 1);
            s[k] = seqs[i];
            g[k] = guestSeqs[i];
            a[k] = args[i];
            o[k] = ops[i];
        }
        seqs = s;
        guestSeqs = g;
        args = a;
        ops = o;
        head = 0;
    }

    long firstSeq() {
        return seqs[head];
    }

    long firstGuestSeq() {
        return guestSeqs[head];
    }

    int firstGuestOp() {
        return ops[head];
    }

    long firstArg() {
        return args[head];
    }

    void removeFirst() {
        head = (head + 1) & (seqs.length - 1);
        size--;
    }

    /** Forgets the requests before worker seq {@code seq}: served well. */
    void dropBefore(long seq) {
        while (size > 0 && seqs[head] < seq) {
            removeFirst();
        }
    }

    /** Forgets every request (all served); gives back the room of a flood. */
    void clear() {
        head = 0;
        size = 0;
        if (seqs.length > 16_384) {
            seqs = new long[256];
            guestSeqs = new long[256];
            args = new long[256];
            ops = new int[256];
        }
    }
}
