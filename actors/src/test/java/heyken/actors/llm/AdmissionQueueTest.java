package heyken.actors.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import heyken.actors.llm.LanguageModel.QueueStatus;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AdmissionQueueTest {

  private static final long WAIT_SECONDS = 10;

  /** A caller on its own thread: records positions, reports admission, holds its turn until released. */
  private static final class Caller {
    final BlockingQueue<Integer> positions = new LinkedBlockingQueue<>();
    final CountDownLatch admitted = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final CompletableFuture<Void> done = new CompletableFuture<>();
    final Thread thread;

    Caller(AdmissionQueue queue) {
      thread = new Thread(() -> {
        try {
          queue.enter(positions::add);
          admitted.countDown();
          release.await();
          queue.leave();
          done.complete(null);
        } catch (Throwable t) {
          done.completeExceptionally(t);
        }
      });
      thread.setDaemon(true);
      thread.start();
    }

    int nextPosition() throws InterruptedException {
      Integer position = positions.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      if (position == null) {
        throw new AssertionError("no queue position within " + WAIT_SECONDS + " s");
      }
      return position;
    }

    void awaitAdmitted() throws InterruptedException {
      assertTrue(admitted.await(WAIT_SECONDS, TimeUnit.SECONDS), "admitted");
    }
  }

  @Test
  void callersUpToTheCapacityRunAtOnce() {
    var queue = new AdmissionQueue(2, 10);
    queue.enter(position -> {
      throw new AssertionError("must not wait");
    });
    queue.enter(position -> {
      throw new AssertionError("must not wait");
    });
    assertEquals(new QueueStatus(2, 0, 2), queue.status());
    queue.leave();
    queue.leave();
    assertEquals(new QueueStatus(0, 0, 2), queue.status());
  }

  @Test
  void waitersGoInArrivalOrderAndHearTheirPositionImprove() throws Exception {
    var queue = new AdmissionQueue(1, 10);
    queue.enter(position -> { });
    var first = new Caller(queue);
    assertEquals(1, first.nextPosition());
    var second = new Caller(queue);
    assertEquals(2, second.nextPosition());
    assertEquals(new QueueStatus(1, 2, 1), queue.status());

    queue.leave();
    first.awaitAdmitted();
    assertEquals(1, second.nextPosition(), "the second moved up");
    assertEquals(1, second.admitted.getCount(), "but waits while the first runs");

    first.release.countDown();
    second.awaitAdmitted();
    second.release.countDown();
    second.done.get(WAIT_SECONDS, TimeUnit.SECONDS);
    assertEquals(new QueueStatus(0, 0, 1), queue.status());
  }

  @Test
  void aFullQueueRefusesAtOnce() throws Exception {
    var queue = new AdmissionQueue(1, 1);
    queue.enter(position -> { });
    var waiter = new Caller(queue);
    assertEquals(1, waiter.nextPosition());
    var failure = assertThrows(LanguageModelException.class, () -> queue.enter(position -> { }));
    assertEquals(LanguageModelException.Kind.QUEUE_FULL, failure.kind());
    assertTrue(failure.getMessage().contains("1 answer is being written and 1 request waits"), failure.getMessage());
    queue.leave();
    waiter.release.countDown();
    waiter.done.get(WAIT_SECONDS, TimeUnit.SECONDS);
  }

  @Test
  void anInterruptedWaiterLeavesTheQueue() throws Exception {
    var queue = new AdmissionQueue(1, 10);
    queue.enter(position -> { });
    var waiter = new Caller(queue);
    assertEquals(1, waiter.nextPosition());
    waiter.thread.interrupt();
    var failure = assertThrows(Exception.class, () -> waiter.done.get(WAIT_SECONDS, TimeUnit.SECONDS));
    assertTrue(failure.getCause() instanceof LanguageModelException, failure.toString());
    assertEquals(LanguageModelException.Kind.INTERRUPTED, ((LanguageModelException) failure.getCause()).kind());
    assertEquals(new QueueStatus(1, 0, 1), queue.status());
    queue.leave();
  }

  @Test
  void aListenerThatThrowsTakesItsCallerOutOfTheQueue() {
    var queue = new AdmissionQueue(1, 10);
    queue.enter(position -> { });
    assertThrows(IllegalStateException.class, () -> queue.enter(position -> {
      throw new IllegalStateException("the user left");
    }));
    assertEquals(new QueueStatus(1, 0, 1), queue.status());
  }
}
