package heyken.actors.monitor;

import heyken.actors.store.MongoStore;
import heyken.protocol.api.SystemStatus.ComponentStatus;
import heyken.sandbox.DockerEngine;
import heyken.sandbox.SandboxBackend;
import heyken.actors.llm.LanguageModel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.bson.Document;

/**
 * Checks the components a core depends on — the store, the Docker engine, Rocket.Chat, Ollama — and says for
 * each one that is down why and what to do. Results are cached briefly so /api/status stays fast.
 */
public final class ComponentProbes {

  private final MongoStore store;
  private final boolean embeddedStore;
  private final String dockerHost;
  private final String rocketChatUrl;
  private final String ollamaUrl;
  private final Duration timeout;
  private final Duration cacheFor;
  private final HttpClient http;
  private DockerEngine docker;
  private CompletableFuture<List<ComponentStatus>> cached;
  private long cachedAtNanos;

  private final SandboxBackend sandbox;
  private final LanguageModel model;

  public ComponentProbes(MongoStore store, ProbeSettings settings, SandboxBackend sandbox, LanguageModel model) {
    this.store = store;
    this.sandbox = sandbox;
    this.model = model;
    this.embeddedStore = settings.embeddedStore();
    this.dockerHost = settings.dockerHost();
    this.rocketChatUrl = settings.rocketChatUrl();
    this.ollamaUrl = settings.ollamaUrl();
    this.timeout = settings.timeout();
    this.cacheFor = settings.cacheFor();
    this.http = HttpClient.newBuilder().connectTimeout(timeout).executor(store.blockingExecutor()).build();
  }

  public synchronized CompletableFuture<List<ComponentStatus>> probe() {
    if (cached == null || System.nanoTime() - cachedAtNanos > cacheFor.toNanos()) {
      cachedAtNanos = System.nanoTime();
      var checks = List.of(
          async(this::store), async(this::docker), async(this::sandbox), rocketChat(), ollamaWithin());
      cached = CompletableFuture.allOf(checks.toArray(CompletableFuture[]::new))
          .thenApply(v -> checks.stream().map(CompletableFuture::join).toList());
    }
    return cached;
  }

  private CompletableFuture<ComponentStatus> async(Supplier<ComponentStatus> probe) {
    return CompletableFuture.supplyAsync(probe, store.blockingExecutor());
  }

  private ComponentStatus store() {
    String what = (embeddedStore ? "embedded store " : "MongoDB ") + store.redactedUri();
    try {
      store.database().runCommand(new Document("ping", 1));
      return new ComponentStatus("store", ComponentStatus.UP, what + " answers");
    } catch (RuntimeException e) {
      return new ComponentStatus("store", ComponentStatus.DOWN, what + " does not answer (" + brief(e) + "): "
          + (embeddedStore ? "start it with scripts/run_heyken.sh" : "check HEYKEN_MONGO_URI and that MongoDB runs"));
    }
  }

  private ComponentStatus docker() {
    try {
      synchronized (this) {
        if (docker == null) {
          docker = new DockerEngine(dockerHost, timeout);
        }
      }
      return new ComponentStatus("docker", ComponentStatus.UP, "Docker engine " + docker.version() + " at " + dockerHost);
    } catch (RuntimeException e) {
      return new ComponentStatus("docker", ComponentStatus.DOWN, e.getMessage());
    }
  }

  /** Which isolation runs feature code on this core, and whether it can. */
  private ComponentStatus sandbox() {
    try {
      var availability = sandbox.availability();
      return new ComponentStatus("sandbox", availability.available() ? ComponentStatus.UP : ComponentStatus.DOWN,
          "backend " + sandbox.name() + ": " + availability.detail());
    } catch (RuntimeException e) {
      return new ComponentStatus("sandbox", ComponentStatus.DOWN, "backend " + sandbox.name() + ": " + brief(e));
    }
  }

  private CompletableFuture<ComponentStatus> rocketChat() {
    if (rocketChatUrl.isEmpty()) {
      return CompletableFuture.completedFuture(new ComponentStatus("rocketchat", ComponentStatus.NOT_CONFIGURED,
          "ROCKETCHAT_URL is not set: the bot lives in the web console only; set ROCKETCHAT_URL in .env "
              + "(e.g. http://localhost:3100) and restart to use Rocket.Chat"));
    }
    return get("rocketchat", rocketChatUrl, "/api/info", "Rocket.Chat",
        "start Rocket.Chat (docker/docker-compose.yml) or correct ROCKETCHAT_URL in .env");
  }

  /** The model check, bounded by the probe timeout: a hanging Ollama must not hold up /api/status. */
  private CompletableFuture<ComponentStatus> ollamaWithin() {
    return async(this::ollama).completeOnTimeout(new ComponentStatus("ollama", ComponentStatus.DOWN,
        "Ollama at " + ollamaUrl + " did not answer within " + timeout.toMillis() + " ms: check that it runs "
            + "(`ollama serve`) and is not overloaded, or correct OLLAMA_URL in .env"),
        timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** The server and the configured model, as the language model's client sees them (it never pulls a model). */
  private ComponentStatus ollama() {
    try {
      var a = model.availability();
      String status = switch (a.state()) {
        case UP -> ComponentStatus.UP;
        case NOT_CONFIGURED -> ComponentStatus.NOT_CONFIGURED;
        default -> ComponentStatus.DOWN;
      };
      return new ComponentStatus("ollama", status, a.up() ? a.reason() : a.describe());
    } catch (RuntimeException e) {
      return new ComponentStatus("ollama", ComponentStatus.DOWN, "Ollama at " + ollamaUrl + " could not be checked ("
          + brief(e) + "): start Ollama (`ollama serve`) and pull the model, or correct OLLAMA_URL in .env");
    }
  }

  private CompletableFuture<ComponentStatus> get(String name, String base, String path, String what, String todo) {
    URI uri;
    try {
      uri = URI.create(base.replaceAll("/+$", "") + path);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.completedFuture(
          new ComponentStatus(name, ComponentStatus.DOWN, base + " is not a URL (" + e.getMessage() + "): " + todo));
    }
    var request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).handle((response, error) -> {
      if (error != null) {
        Throwable cause = error instanceof CompletionException ? error.getCause() : error;
        return new ComponentStatus(name, ComponentStatus.DOWN,
            what + " at " + base + " does not answer (" + brief(cause) + "): " + todo);
      }
      if (response.statusCode() >= 400) {
        return new ComponentStatus(name, ComponentStatus.DOWN,
            what + " at " + base + " answered " + response.statusCode() + " on " + path + ": " + todo);
      }
      String body = response.body();
      String version = body.replaceAll("(?s).*\"version\"\\s*:\\s*\"([^\"]{1,40})\".*", "$1");
      return new ComponentStatus(name, ComponentStatus.UP,
          what + (version.equals(body) ? "" : " " + version) + " at " + base);
    });
  }

  private static String brief(Throwable t) {
    String m = t.getMessage();
    String s = t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    return s.length() > 200 ? s.substring(0, 200) + "…" : s;
  }
}
