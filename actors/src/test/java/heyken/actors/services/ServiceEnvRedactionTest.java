package heyken.actors.services;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.json.JsonMapper;
import heyken.actors.core.CoreManager;
import heyken.protocol.api.service.ServiceRequest;
import heyken.protocol.api.service.ServiceView;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * A service's env values are write-only: the views of {@link ServiceApi} and every toString that a log line, an
 * exception or a chat answer could print show the names only, while the journal's JSON keeps the values.
 */
public class ServiceEnvRedactionTest {

  public static final String MARKER = "s3cr3t-MARKER-4711";
  private static final JsonMapper JSON = JsonMapper.builder().findAndAddModules().build();

  public static ServiceRequest request() {
    return new ServiceRequest("vault", "sandbox/busybox:1", Map.of("API_TOKEN", MARKER, "MODE", "plain-" + MARKER),
        List.of(), List.of("sleep", "1000"), null, null);
  }

  public static ServiceSpec spec() {
    return ServiceSpec.validate(request(), "127.0.0.1").spec();
  }

  /** A ledger in memory that wants one service. */
  private static final class OneService implements WantedServices {
    final DesiredService wanted = new DesiredService(spec(), true, Instant.parse("2026-01-01T00:00:00Z"), "alice");

    @Override
    public CompletionStage<Wanted> wanted() {
      return CompletableFuture.completedFuture(new Wanted("inst", Map.of("vault", wanted), Map.of()));
    }

    @Override
    public CompletionStage<Change> add(ServiceSpec spec, String requestedBy) {
      return CompletableFuture.completedFuture(new Change(new DesiredService(spec, true, Instant.now(), requestedBy),
          null));
    }

    @Override
    public CompletionStage<Change> change(String name, ServiceAction action, String requestedBy) {
      return CompletableFuture.completedFuture(new Change(wanted, null));
    }
  }

  /** A ServiceApi over a ledger that wants the service "vault" with the marker in its env, and an engine in memory. */
  public static ServiceApi api() {
    var settings = new ServiceSettings("none", "127.0.0.1", Duration.ofMillis(100), Duration.ofMillis(200),
        Duration.ofSeconds(1), Duration.ofSeconds(30), 1000, "unix:///nowhere", "http://127.0.0.1:5010");
    return new ServiceApi(new OneService(), new FakeServiceEngine(), settings, Runnable::run);
  }

  @Test
  void theListAndGetViewsShowTheEnvNamesWithRedactedValues() throws Exception {
    var api = api();
    var listing = api.list().toCompletableFuture().get().value();
    var one = api.get("vault").toCompletableFuture().get().value();
    var changed = api.change("vault", ServiceAction.STOP, "alice").toCompletableFuture().get().value();
    for (Object view : List.of(listing, one, changed)) {
      String json = JSON.writeValueAsString(view);
      assertFalse(json.contains(MARKER), json);
      assertTrue(json.contains("\"env\":{\"API_TOKEN\":\"<redacted>\",\"MODE\":\"<redacted>\"}"), json);
    }
    assertEquals(Map.of("API_TOKEN", ServiceView.REDACTED, "MODE", ServiceView.REDACTED), one.env());
  }

  @Test
  void noToStringOfARequestSpecEventOrStatePrintsAValue() {
    var spec = spec();
    var desired = new DesiredService(spec, true, Instant.now(), "alice");
    var added = new CoreManager.ServiceAdded(spec, "alice", 3, Instant.now());
    for (Object o : List.of(request(), spec, desired, added,
        new WantedServices.Wanted("inst", Map.of("vault", desired), Map.of()))) {
      String text = o.toString();
      assertFalse(text.contains(MARKER), text);
      assertTrue(text.contains("API_TOKEN=" + ServiceView.REDACTED), text);
    }
    assertTrue(spec.toString().contains("image=sandbox/busybox:1"), spec.toString());
  }

  @Test
  void theJournalsJsonKeepsTheValuesUnderTheirNames() throws Exception {
    var added = new CoreManager.ServiceAdded(spec(), "alice", 3, Instant.parse("2026-01-01T00:00:00Z"));
    String json = JSON.writeValueAsString(added);
    assertTrue(json.contains("\"env\":{\"API_TOKEN\":\"" + MARKER + "\""), json);
    var back = JSON.readValue(json, CoreManager.ServiceAdded.class);
    assertEquals(MARKER, back.spec().env().get("API_TOKEN"));
    assertEquals(spec().hash(), back.spec().hash(), "the container label's hash still covers the values");
  }
}
