package io.ferry.host.session;

import io.ferry.host.config.Quotas;

/**
 * What a service that keeps guest objects sees of its session (compute): the {@link SessionContext}, plus the
 * session's one handle table and the guest's quotas. Narrow on purpose: no completions, no sticky errors.
 */
public interface ServiceContext extends SessionContext {
    /** The session's handle table; endpoint thread only. */
    HandleTable handles();

    Quotas quotas();

    /** Sets the completion's blob for the current call to {@code text}, cut to what a completion carries. */
    default void replyText(String text) {
        replyBytes(text == null ? null : CompletionText.of(text));
    }
}
