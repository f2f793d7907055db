package heyken.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import com.typesafe.config.ConfigFactory;
import heyken.testkit.Await;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The documented ports follow the core's own activation even when its changes reach the binder out of order (a lease
 * loss and a new activation on two threads, issue 16 finding 6): a core that is not active never keeps them, and the
 * active one always gets them.
 */
class PortBinderActivationTest {

  private ActorSystem<Void> system;
  private int documented;
  private int offset;
  private final AtomicLong coreEpoch = new AtomicLong();
  private ActorRef<PortBinder.Command> binder;

  @BeforeEach
  void start() throws IOException {
    system = ActorSystem.create(Behaviors.empty(), "binder-activation-test", ConfigFactory.load());
    documented = freePort();
    int inspection = freePort();
    while (inspection == documented) {
      inspection = freePort();
    }
    offset = inspection - documented;
    var api = new PortBinder.Api("Registry", documented, path("ping", () -> complete("pong")));
    binder = system.systemActorOf(PortBinder.create("127.0.0.1", 1, offset, List.of(api), Duration.ofMillis(100),
        Duration.ofSeconds(1), new ConnectionLimits(Duration.ofSeconds(10), 64), coreEpoch::get), "http", org.apache.pekko.actor.typed.Props.empty());
  }

  @AfterEach
  void stop() {
    system.terminate();
  }

  @Test
  void aCoreThatIsNoLongerActiveGivesUpTheDocumentedPortsWhateverItWasToldLast() {
    // the activation (epoch 8) told after the loss that cleared it: the binder's last word says active
    coreEpoch.set(0);
    binder.tell(new PortBinder.ActivationChanged(8));
    Await.until("the inspection port bound", Duration.ofSeconds(10), () -> bound().containsKey(documented + offset));
    // the message alone binds the documented port at once; the binder must follow the core and give it up
    long until = System.nanoTime() + Duration.ofMillis(1500).toNanos();
    while (System.nanoTime() < until) {
      pause(); // an observation window, not synchronization
    }
    Await.until("the documented port released although the last message said active", Duration.ofSeconds(10),
        () -> !bound().containsKey(documented));
    assertRefused(documented);
  }

  private static void pause() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void assertRefused(int port) {
    try (var socket = new java.net.Socket("127.0.0.1", port)) {
      throw new AssertionError("port " + port + " still accepts connections");
    } catch (IOException refused) {
      // nobody listens there
    }
  }

  @Test
  void theActiveCoreGetsTheDocumentedPortsWhateverItWasToldLast() {
    coreEpoch.set(9);
    binder.tell(new PortBinder.ActivationChanged(0));
    Await.until("the documented port bound although the last message said not active", Duration.ofSeconds(10),
        () -> bound().containsKey(documented));
  }

  private Map<Integer, String> bound() {
    try {
      return AskPattern.<PortBinder.Command, Map<Integer, String>>ask(binder, PortBinder.GetBound::new,
          Duration.ofSeconds(3), system.scheduler()).toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      return Map.of();
    }
  }

  private static int freePort() throws IOException {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
