package heyken.actors.chat;

import java.time.Instant;
import java.util.Map;

/**
 * A live subscription to what people write, started by {@link ChatPlatform#listen}. It reconnects by itself until
 * closed and catches up after every (re)subscription; the caller persists {@link #highWaterMarks()} and hands them
 * back to the next {@code listen} after a restart.
 */
public interface RealtimeSession extends AutoCloseable {

  /** Where the connection stands. */
  enum Status {
    /** Opening the socket, logging in, subscribing, catching up. */
    CONNECTING,
    /** Subscribed and caught up: everything written so far was delivered, new messages flow. */
    LIVE,
    /** The connection was lost; waiting for the next attempt. */
    RECONNECTING,
    /** Closed by the caller. */
    STOPPED
  }

  Status status();

  /**
   * Per room id, the timestamp of the newest message handled (delivered or deliberately skipped). A snapshot; safe to
   * call from any thread.
   */
  Map<String, Instant> highWaterMarks();

  /** Stops reconnecting and closes the socket. Idempotent. */
  @Override
  void close();
}
