package heyken.actors.chat;

import java.time.Instant;

/**
 * A message the bot posted, as the server stored it.
 *
 * @param id the message id
 * @param roomId the room it went to
 * @param threadId the thread parent ({@code tmid}) or null
 * @param ts the server's timestamp
 */
public record PostedMessage(String id, String roomId, String threadId, Instant ts) {}
