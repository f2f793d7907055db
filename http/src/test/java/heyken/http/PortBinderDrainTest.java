package heyken.http;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/**
 * A core that shuts down (or hands over in a planned switch) answers the requests it has already accepted: the ports
 * are unbound first, then the requests in flight get the drain deadline to finish; the active core's documented ports
 * stay until it steps down.
 */
class PortBinderDrainTest {

  private static int freePort() throws IOException {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Test
  void aRequestInFlightIsAnsweredDuringAGracefulShutdown() throws Exception {
    var system = ActorSystem.create(Behaviors.empty(), "drain-test", ConfigFactory.load());
    var arrived = new CountDownLatch(1);
    var answer = new CompletableFuture<org.apache.pekko.http.javadsl.model.HttpResponse>();
    int port = freePort();
    var api = new PortBinder.Api("Slow API", port, path("slow", () -> completeWithFuture(
        CompletableFuture.runAsync(arrived::countDown).thenCompose(v -> answer))));
    // core 0: the inspection port is the documented one, bound at once
    var binder = system.systemActorOf(PortBinder.create("127.0.0.1", 0, 0, List.of(api), Duration.ofMillis(100),
        Duration.ofSeconds(10), new ConnectionLimits(Duration.ofSeconds(10), 64)), "http", org.apache.pekko.actor.typed.Props.empty());
    var client = HttpClient.newHttpClient();
    var url = URI.create("http://127.0.0.1:" + port + "/slow");
    awaitBound(system, binder, port);

    var inFlight = client.sendAsync(HttpRequest.newBuilder(url).build(), HttpResponse.BodyHandlers.ofString());
    assertTrue(arrived.await(10, TimeUnit.SECONDS), "the request never reached the route");
    var shutdown = CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason());
    // the port is unbound while the request is still being worked on: new connections are refused
    awaitRefused(url);
    // a slow request: it finishes well after the ports are gone, while the shutdown waits for it
    CompletableFuture.delayedExecutor(1500, TimeUnit.MILLISECONDS).execute(() ->
        answer.complete(org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("done at last")));
    assertTrue(!shutdown.toCompletableFuture().isDone(), "the shutdown did not wait for the request in flight");

    var response = inFlight.get(10, TimeUnit.SECONDS);
    assertEquals(200, response.statusCode());
    assertEquals("done at last", response.body());
    shutdown.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  @Test
  void anActiveCoreKeepsItsDocumentedPortsUntilItStepsDown() throws Exception {
    var system = ActorSystem.create(Behaviors.empty(), "drain-test-active", ConfigFactory.load());
    int documented = freePort();
    int inspectionPort = freePort();
    while (inspectionPort == documented) {
      inspectionPort = freePort();
    }
    int offset = inspectionPort - documented; // core 1: inspection port = documented + offset
    var api = new PortBinder.Api("Registry", documented, path("ping", () -> org.apache.pekko.http.javadsl.server
        .Directives.complete("pong")));
    var binder = system.systemActorOf(PortBinder.create("127.0.0.1", 1, offset, List.of(api), Duration.ofMillis(100),
        Duration.ofSeconds(2), new ConnectionLimits(Duration.ofSeconds(10), 64)), "http", org.apache.pekko.actor.typed.Props.empty());
    binder.tell(new PortBinder.ActivationChanged(7));
    awaitBound(system, binder, documented);
    awaitBound(system, binder, documented + offset);
    // the shutdown stops where a planned switch hands the singletons over (the CoreManager steps down there)
    var handOver = new CompletableFuture<org.apache.pekko.Done>();
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseClusterExiting(), "test-hand-over",
        () -> handOver);
    var shutdown = CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason());
    var inspection = URI.create("http://127.0.0.1:" + (documented + offset) + "/ping");
    var documentedUrl = URI.create("http://127.0.0.1:" + documented + "/ping");
    awaitRefused(inspection);
    var client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    var stillServing = client.send(HttpRequest.newBuilder(documentedUrl).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals("pong", stillServing.body(), "the active core still answers on its documented port in the hand-over");
    binder.tell(new PortBinder.ActivationChanged(0)); // the CoreManager stopped: the core steps down
    awaitRefused(documentedUrl);
    handOver.complete(org.apache.pekko.Done.getInstance());
    shutdown.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static void awaitBound(ActorSystem<?> system,
      org.apache.pekko.actor.typed.ActorRef<PortBinder.Command> binder, int port) throws Exception {
    heyken.testkit.Await.until("port " + port + " bound", Duration.ofSeconds(10), () -> {
      try {
        return org.apache.pekko.actor.typed.javadsl.AskPattern.<PortBinder.Command, Map<Integer, String>>ask(binder,
            PortBinder.GetBound::new, Duration.ofSeconds(3), system.scheduler())
            .toCompletableFuture().get(5, TimeUnit.SECONDS).containsKey(port);
      } catch (Exception e) {
        return false;
      }
    });
  }

  private static void awaitRefused(URI url) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    var fresh = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    while (System.nanoTime() < deadline) {
      try {
        fresh.send(HttpRequest.newBuilder(url).timeout(Duration.ofMillis(500)).build(),
            HttpResponse.BodyHandlers.discarding());
      } catch (java.net.ConnectException refused) {
        return;
      } catch (java.net.http.HttpTimeoutException stillSlow) {
        // accepted by a port that is still bound: not yet unbound
      }
      Thread.sleep(50);
    }
    assertThrows(java.net.ConnectException.class, () -> fresh.send(HttpRequest.newBuilder(url).build(),
        HttpResponse.BodyHandlers.discarding()), "the port was still bound during the shutdown");
  }
}
