package io.ferry.channel;

/**
 * How a polling loop waits when it found no work. A loop calls {@link #idle(int)} after each pass with the
 * amount of work it did; the strategy returns at once when there was work and backs off when there was none.
 * An instance belongs to one thread.
 */
public interface IdleStrategy {

    /** Waits according to the strategy when {@code workCount} is zero; resets the back-off otherwise. */
    void idle(int workCount);

    /** Starts the back-off from the beginning, e.g. after being woken for a reason the loop knows. */
    void reset();
}
