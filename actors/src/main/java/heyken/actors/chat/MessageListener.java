package heyken.actors.chat;

/**
 * Receives what a {@link RealtimeSession} reads. Called on the session's one realtime thread, one call at a time, in
 * order: hand the work off (e.g. {@code tell} an actor) and return quickly, or the connection's watchdog falls behind.
 */
public interface MessageListener {

  /** A message to consider; each id at most once per session. */
  void onMessage(InboundMessage message);

  /** The connection changed state ({@code reason} says why, e.g. "no frame for 45s"). Default: ignored. */
  default void onStatus(RealtimeSession.Status status, String reason) {}
}
