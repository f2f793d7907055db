package heyken.actors.chat;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A {@link MessageListener} for tests: keeps everything it is told and lets a test wait (with a deadline) for it. */
final class Inbox implements MessageListener {

  record StatusChange(RealtimeSession.Status status, String reason) {}

  private final List<InboundMessage> messages = new ArrayList<>();
  private final List<StatusChange> statuses = new ArrayList<>();

  @Override
  public synchronized void onMessage(InboundMessage message) {
    messages.add(message);
    notifyAll();
  }

  @Override
  public synchronized void onStatus(RealtimeSession.Status status, String reason) {
    statuses.add(new StatusChange(status, reason));
    notifyAll();
  }

  synchronized List<InboundMessage> messages() {
    return List.copyOf(messages);
  }

  synchronized List<StatusChange> statuses() {
    return List.copyOf(statuses);
  }

  /** How many times the message with this id was delivered. */
  synchronized long count(String messageId) {
    return messages.stream().filter(m -> m.id().equals(messageId)).count();
  }

  /** The first delivered message with this id; fails the test after {@code timeout}. */
  InboundMessage await(String messageId, Duration timeout) {
    return awaitMessage(m -> m.id().equals(messageId), timeout, "message " + messageId);
  }

  synchronized InboundMessage awaitMessage(Predicate<InboundMessage> p, Duration timeout, String what) {
    waitFor(() -> messages.stream().anyMatch(p), timeout, what + " to arrive");
    return messages.stream().filter(p).findFirst().orElseThrow();
  }

  /** Waits until the session has reported {@code status} at least {@code times} times; returns the last such report. */
  synchronized StatusChange awaitStatus(RealtimeSession.Status status, int times, Duration timeout) {
    waitFor(() -> statuses.stream().filter(s -> s.status() == status).count() >= times, timeout,
        status + " reported " + times + " time(s)");
    return statuses.stream().filter(s -> s.status() == status).reduce((a, b) -> b).orElseThrow();
  }

  synchronized long statusCount(RealtimeSession.Status status) {
    return statuses.stream().filter(s -> s.status() == status).count();
  }

  private void waitFor(java.util.function.BooleanSupplier condition, Duration timeout, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        fail("waited " + timeout + " for " + what + "; statuses " + statuses + ", messages " + messages);
      }
      try {
        TimeUnit.NANOSECONDS.timedWait(this, left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted while waiting for " + what);
      }
    }
  }
}
