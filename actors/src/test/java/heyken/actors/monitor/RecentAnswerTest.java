package heyken.actors.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** What /api/status's requests wait for: a recent answer is given at once, an old one never hides a slow look. */
class RecentAnswerTest {

  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final List<CompletableFuture<String>> looks = new ArrayList<>();
  private final RecentAnswer<String> answer = new RecentAnswer<>(() -> {
    var look = new CompletableFuture<String>();
    looks.add(look);
    return look;
  }, Duration.ofMillis(50), Duration.ofMillis(250), now::get);

  private void later(long millis) {
    now.addAndGet(Duration.ofMillis(millis).toNanos());
  }

  @Test
  void theFirstRequestWaitsForTheFirstLookAndTheNextOnesShareIt() {
    var first = answer.get();
    var second = answer.get();
    assertFalse(first.isDone());
    assertEquals(1, looks.size(), "one look for both");
    looks.get(0).complete("a");
    assertEquals("a", first.join());
    assertEquals("a", second.join());
    later(49);
    assertEquals("a", answer.get().join());
    assertEquals(1, looks.size(), "within status-max-age no new look");
  }

  @Test
  void pastMaxAgeTheRequestsGetThePreviousAnswerAtOnceWhileOneNewLookRuns() {
    answer.get();
    looks.get(0).complete("a");
    later(60);
    var during = answer.get();
    assertTrue(during.isDone(), "nobody waits for the new look");
    assertEquals("a", during.join());
    later(100);
    assertEquals("a", answer.get().join());
    assertEquals(2, looks.size(), "one new look, not one per request");
    looks.get(1).complete("b");
    assertEquals("b", answer.get().join(), "the new answer, at once");
    assertEquals(3, looks.size(), "it counts from when its look began, 100 ms ago: past status-max-age, so a new look");
  }

  @Test
  void aLookThatTakesLongerThanTheStaleLimitIsWaitedFor() {
    answer.get();
    looks.get(0).complete("a");
    later(60);
    answer.get(); // starts the second look, which hangs (a core that does not answer)
    later(250);
    var late = answer.get();
    assertFalse(late.isDone(), "an answer 310 ms old is not given: the status would hide the trouble");
    assertEquals(2, looks.size(), "still the one look");
    looks.get(1).complete("b");
    assertEquals("b", late.join());
  }

  @Test
  void aRequestAfterAQuietSpellWaitsForAFreshLook() {
    answer.get();
    looks.get(0).complete("a");
    later(1_000);
    var r = answer.get();
    assertFalse(r.isDone(), "a poll once a second always sees a fresh look, never the one before");
    looks.get(1).complete("b");
    assertEquals("b", r.join());
  }

  @Test
  void aFailedLookKeepsThePreviousAnswerAndTheNextRequestLooksAgain() {
    answer.get();
    looks.get(0).complete("a");
    later(60);
    assertEquals("a", answer.get().join());
    looks.get(1).completeExceptionally(new IllegalStateException("ask timed out"));
    assertEquals("a", answer.get().join());
    assertEquals(3, looks.size(), "the failure did not stick: a new look started");
    looks.get(2).complete("c");
    assertEquals("c", answer.get().join());
  }

  @Test
  void aLookThatIsDoneAtOnceIsUsedAtOnce() {
    var done = new RecentAnswer<>(() -> CompletableFuture.completedFuture("x"), Duration.ofMillis(50),
        Duration.ofMillis(250), now::get);
    var r = done.get();
    assertSame("x", r.join());
    later(60);
    assertEquals("x", done.get().join());
  }

  @Test
  void manyRequestsAtOnceStartOneLookAndNoneWaitsForIt() throws Exception {
    var started = new java.util.concurrent.atomic.AtomicInteger();
    var slow = new CompletableFuture<String>();
    var shared = new RecentAnswer<>(() -> {
      if (started.incrementAndGet() == 1) {
        return CompletableFuture.completedFuture("a");
      }
      return slow;
    }, Duration.ofMillis(50), Duration.ofMillis(250), now::get);
    assertEquals("a", shared.get().join());
    later(60);
    var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
    try {
      var answers = new ArrayList<java.util.concurrent.Future<String>>();
      for (int i = 0; i < 400; i++) {
        answers.add(pool.submit(() -> shared.get().getNow("waited")));
      }
      for (var a : answers) {
        assertEquals("a", a.get(10, java.util.concurrent.TimeUnit.SECONDS), "the previous answer, at once");
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(2, started.get(), "one new look for 400 requests");
    slow.complete("b");
    assertEquals("b", shared.get().join());
  }
}
