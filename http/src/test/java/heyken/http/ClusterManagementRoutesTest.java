package heyken.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Over real HTTP, against Pekko Management's own server configured as in application.conf: a cluster of two members
 * in this JVM; a join, leave or down without the API token is a 401 JSON and changes nothing, with the token it is
 * done; the reads and {@code /ready}, {@code /alive} answer without one.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterManagementRoutesTest {

  private static final String TOKEN = "cluster-test-token-0123456789";
  private static final HttpClient http = HttpClient.newHttpClient();
  private static ActorSystem<Void> first;
  private static ActorSystem<Void> second;
  private static String management;
  private static String secondAddress;

  private static Config config() {
    // the management routes exactly as application.conf has them; the rest is a minimal cluster on loopback
    var root = ConfigFactory.parseFile(new File("../application.conf"));
    return ConfigFactory.parseString("""
        pekko.actor.provider = cluster
        pekko.remote.artery.canonical.hostname = 127.0.0.1
        pekko.remote.artery.canonical.port = 0
        pekko.management.http.hostname = 127.0.0.1
        pekko.management.http.port = 0
        pekko.cluster.jmx.enabled = off
        pekko.coordinated-shutdown.exit-jvm = off
        heyken.auth { mode = on, api-token = "%s" }
        """.formatted(TOKEN))
        .withFallback(root.withOnlyPath("pekko.management.http.routes"))
        .withFallback(root.withOnlyPath("pekko.management.http.route-providers-read-only"))
        .withFallback(ConfigFactory.load())
        .resolve();
  }

  @BeforeAll
  static void cluster() throws Exception {
    first = ActorSystem.create(Behaviors.empty(), "mgmt-test", config());
    second = ActorSystem.create(Behaviors.empty(), "mgmt-test", config());
    var a = Cluster.get(first);
    a.manager().tell(Join.create(a.selfMember().address()));
    Cluster.get(second).manager().tell(Join.create(a.selfMember().address()));
    await("both members Up", () -> upMembers(first) == 2 && upMembers(second) == 2);
    secondAddress = Cluster.get(second).selfMember().address().toString();
    management = PekkoManagement.get(first.classicSystem()).start().toCompletableFuture()
        .get(20, java.util.concurrent.TimeUnit.SECONDS).toString();
  }

  @AfterAll
  static void stop() {
    for (var s : new ActorSystem<?>[] {second, first}) {
      if (s != null) {
        s.terminate();
        s.getWhenTerminated().toCompletableFuture().join();
      }
    }
  }

  @Test
  @Order(1)
  void readsAndHealthChecksAnswerWithoutAToken() throws Exception {
    var members = send("GET", "/cluster/members", null, null);
    assertEquals(200, members.statusCode(), members.body());
    assertEquals(2, Json.MAPPER.readTree(members.body()).path("members").size(), members.body());
    assertEquals(200, send("GET", "/cluster/members/" + secondAddress, null, null).statusCode());
    assertEquals(200, send("GET", "/ready", null, null).statusCode());
    assertEquals(200, send("GET", "/alive", null, null).statusCode());
  }

  @Test
  @Order(2)
  void downLeaveAndJoinWithoutTheTokenAre401AndChangeNothing() throws Exception {
    for (var r : new HttpResponse[] {
        send("DELETE", "/cluster/members/" + secondAddress, null, null),
        send("PUT", "/cluster/members/" + secondAddress, "operation=Down", null),
        send("PUT", "/cluster/members/" + secondAddress, "operation=Leave", "wrong-token"),
        send("POST", "/cluster/members", "address=pekko://mgmt-test@127.0.0.1:1", null),
        send("PUT", "/cluster", "operation=prepare-for-full-shutdown", null)}) {
      assertEquals(401, r.statusCode(), r.request() + " " + r.body());
      JsonNode body = Json.MAPPER.readTree((String) r.body());
      assertEquals("unauthorized", body.path("error").asText(), r.body().toString());
      assertTrue(body.path("detail").asText().contains("HEYKEN_API_TOKEN"), r.body().toString());
    }
    // nothing was downed or left: give a wrongly accepted DELETE the time it takes to show (it is ~100 ms)
    var until = Instant.now().plusSeconds(2);
    while (Instant.now().isBefore(until)) {
      assertEquals(2, upMembers(first), "a refused request downed or removed a member");
      Thread.onSpinWait();
    }
    assertEquals(MemberStatus.up(), Cluster.get(second).selfMember().status());
  }

  @Test
  @Order(3)
  void withTheTokenADeleteIsDone() throws Exception {
    var r = send("DELETE", "/cluster/members/" + secondAddress, null, TOKEN);
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("Leaving"), r.body());
    await("the second member to leave", () -> second.getWhenTerminated().toCompletableFuture().isDone() && upMembers(first) == 1);
  }

  private static long upMembers(ActorSystem<?> system) {
    var members = Cluster.get(system).state().getMembers();
    long n = 0;
    for (var m : members) {
      if (m.status().equals(MemberStatus.up())) {
        n++;
      }
    }
    return n;
  }

  private static HttpResponse<String> send(String method, String path, String form, String token) throws Exception {
    var b = HttpRequest.newBuilder(URI.create(management + path)).timeout(Duration.ofSeconds(10))
        .method(method, form == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(form));
    if (form != null) {
      b.header("Content-Type", "application/x-www-form-urlencoded");
    }
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    var deadline = Instant.now().plusSeconds(30);
    while (!condition.getAsBoolean()) {
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }
}
