package heyken.testkit.ollama;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fake Ollama server for tests: the REST protocol of {@code shared/protocols/ollama.md} §1 and §5 on
 * {@code 127.0.0.1}, with scripted answers and fault hooks, so that Ollama clients can be tested where no model
 * runs. Built on the JDK's {@code com.sun.net.httpserver}: it ignores ollama4j's {@code Upgrade: h2c}, and a
 * chunked response flushed per line really streams.
 *
 * <h2>Protocol</h2>
 * {@code GET /}, {@code GET|HEAD /api/version}, {@code GET|HEAD /api/tags}, {@code GET /api/ps},
 * {@code POST /api/show}, {@code POST /api/chat}, {@code POST /api/generate}, {@code POST /api/pull},
 * {@code POST /api/embed}, {@code DELETE /api/delete}; anything else is 404 {@code 404 page not found}
 * (text/plain, as gin answers). Bodies are compact single-line JSON; streams are {@code application/x-ndjson},
 * chunked, one object per line, flushed per object, no blank lines, every chat chunk carries {@code message}
 * (never {@code "content":null}), the final chunk carries {@code done_reason} and the fixed metrics
 * ({@code total_duration 1234567890}, {@code load_duration 12345678}, {@code prompt_eval_count 26},
 * {@code prompt_eval_duration 130079000}, {@code eval_count 12}, {@code eval_duration 423271000}) and
 * {@code created_at} is always {@value #CREATED_AT}. {@code stream} absent means true. Unknown request fields
 * are ignored. Model names are normalised by adding {@code :latest}; {@code model} falls back to {@code name}
 * for show, pull and delete. Validation answers what Ollama answers:
 * <ul>
 *   <li>empty body → 400 {@code missing request body}; bad JSON → 400 with a Go-decoder-like message;</li>
 *   <li>no model → 400 {@code model is required}; unknown model → 404 {@code model 'x' not found} (no
 *       auto-pull);</li>
 *   <li>{@code tools} on a model without the {@code tools} capability → 400
 *       {@code registry.ollama.ai/library/llama3:latest does not support tools}; {@code think} on a model without
 *       {@code thinking} → 400 {@code "llama3" does not support thinking};</li>
 *   <li>{@code format} other than {@code "json"} or a schema object → 400 {@code invalid format: …}. With a
 *       format, a scripted reply that is not JSON is replaced by the smallest document of the schema (or
 *       {@code {"text": reply}} for {@code "json"}): Ollama constrains decoding, so output always parses;</li>
 *   <li>{@code options.num_predict} shorter than the reply cuts it and ends with {@code done_reason: length};
 *       empty {@code messages} (or prompt) answer {@code done_reason: load} ({@code unload} with
 *       {@code keep_alive: 0});</li>
 *   <li>pull of a name starting {@code nonexistent} fails with {@code pull model manifest: file does not exist};
 *       a successful pull installs the model.</li>
 * </ul>
 *
 * <h2>Script</h2>
 * Answers come from an ordered list of rules; the first rule that matches the last message (its role and a
 * substring of its content; the prompt for generate) and has uses left answers; otherwise the default text.
 * <pre>{@code
 * try (var ollama = OllamaStandIn.start()) {               // llama3:latest installed, no tools
 *   ollama.whenPromptContains("weather").reply(ScriptedReply.text("Sunny in Paris."));
 *   ollama.whenLastMessage("tool", "11 degrees").reply("It is 11 degrees.");
 *   ollama.always().times(2).reply(ScriptedReply.busy());                    // two 503s, then normal
 *   ollama.whenPromptContains("slow").reply(ScriptedReply.text("a b c")
 *       .delayBeforeHeaders(Duration.ofSeconds(3))                         // model load
 *       .delayPerToken(Duration.ofMillis(200)));                           // slow tokens
 *   ollama.whenPromptContains("crash").reply(ScriptedReply.text("a b c").midError(2));
 *   ollama.whenPromptContains("long").reply(ScriptedReply.text("a b").doneReason("length"));
 *   ...
 *   RecordedRequest chat = ollama.lastRequest("/api/chat");
 *   assertEquals(8192, chat.option("num_ctx").asInt());
 * }
 * }</pre>
 * Faults of a reply ({@link ScriptedReply}): error status, busy (503 queue full), delay before headers, delay per
 * token, error line mid-stream, dropped connection, stalled stream, hang, a gate that holds the request, a gate
 * between tokens, {@code done_reason}. Faults of the server: {@link #removeModel} (model missing),
 * {@link #goDown()}/{@link #comeBack()} (server down: connection refused), {@link #failAllRequests} (a proxy
 * answering 502/503 for everything), {@link #maxInFlight} (503 beyond N concurrent generations).
 *
 * <h2>Inspection</h2>
 * Every request is recorded ({@link #requests()}, {@link #lastRequest}, {@link #awaitRequests}); concurrent
 * chat/generate requests are counted ({@link #inFlight()}, {@link #peakInFlight()}, {@link #awaitInFlight},
 * {@link #awaitIdle}). {@link #close()} releases every held, hanging or stalled request.
 */
public final class OllamaStandIn implements AutoCloseable {

  public static final String VERSION = "0.13.5";
  public static final String CREATED_AT = "2025-06-01T12:00:00.123456789Z";
  public static final String QUEUE_FULL = "server busy, please try again.  maximum pending requests exceeded";
  public static final String RUNNER_ERROR = "an error was encountered while running the model";
  public static final String MANIFEST_ERROR = "pull model manifest: file does not exist";
  public static final String DEFAULT_REPLY = "Hello! I am the Ollama stand-in.";
  public static final String DEFAULT_MODEL = "llama3:latest";
  /** Capabilities as {@code /api/show} lists them; every model has {@link #COMPLETION}. */
  public static final String COMPLETION = "completion";
  public static final String TOOLS = "tools";
  public static final String THINKING = "thinking";

  static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger log = LoggerFactory.getLogger(OllamaStandIn.class);
  private static final String NDJSON = "application/x-ndjson";
  private static final String JSON_UTF8 = "application/json; charset=utf-8";
  private static final String TEXT_UTF8 = "text/plain; charset=utf-8";
  private static final String MODIFIED_AT = "2025-05-10T08:06:48.639712648-07:00";
  private static final String EXPIRES_AT = "2025-06-01T12:05:00.123456789Z";
  private static final long MODEL_SIZE = 4661224676L;
  private static final int EMBEDDING_DIMENSIONS = 16;

  private final ExecutorService handlers;
  private final CountDownLatch closing = new CountDownLatch(1);
  private final Object lock = new Object();
  private final Map<String, ModelEntry> models = Collections.synchronizedMap(new LinkedHashMap<>());
  private final List<Rule> rules = new CopyOnWriteArrayList<>();
  private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
  private final Set<String> loaded = Collections.synchronizedSet(new LinkedHashSet<>());
  private final AtomicInteger toolCallIds = new AtomicInteger();
  private volatile String defaultReply = DEFAULT_REPLY;
  private volatile Failure failAll;
  private volatile int maxInFlight;
  // guarded by lock
  private HttpServer server;
  private int port;
  private int inFlight;
  private int peakInFlight;

  private record ModelEntry(String name, Set<String> capabilities, int contextLength) {
  }

  private record Failure(int status, String message) {
  }

  /** What a rule sees: the endpoint, the normalised model and the last message (the prompt for generate). */
  private record Prompt(String endpoint, String model, String role, String content, RecordedRequest request) {
  }

  private static final class Rule {
    final Predicate<Prompt> matches;
    final AtomicInteger remaining;
    final ScriptedReply reply;

    Rule(Predicate<Prompt> matches, int times, ScriptedReply reply) {
      this.matches = matches;
      this.remaining = new AtomicInteger(times);
      this.reply = reply;
    }

    boolean claim(Prompt prompt) {
      if (!matches.test(prompt)) {
        return false;
      }
      while (true) {
        int left = remaining.get();
        if (left <= 0) {
          return false;
        }
        if (left == Integer.MAX_VALUE || remaining.compareAndSet(left, left - 1)) {
          return true;
        }
      }
    }
  }

  /** Drops the TCP connection: thrown out of the handler, the JDK server closes the socket mid-body. */
  private static final class Disconnect extends RuntimeException {
    Disconnect() {
      super("stand-in drops the connection", null, false, false);
    }
  }

  static {
    // Ollama (Go's net/http) sends with TCP_NODELAY; the JDK server does not unless told before its first use, and
    // its small NDJSON writes then meet the client's delayed ACK: ~40 ms per call that the real server never costs
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private OllamaStandIn(int port) {
    AtomicInteger threads = new AtomicInteger();
    this.handlers = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "ollama-stand-in-" + threads.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    this.port = port;
    installModel(DEFAULT_MODEL);
  }

  /** Starts on an ephemeral port of 127.0.0.1 with {@code llama3:latest} installed (no tools, no thinking). */
  public static OllamaStandIn start() {
    return start(0);
  }

  /** Starts on {@code port} of 127.0.0.1 (0: ephemeral). */
  public static OllamaStandIn start(int port) {
    var standIn = new OllamaStandIn(port);
    standIn.comeBack();
    return standIn;
  }

  /** The base URL, e.g. {@code http://127.0.0.1:41234}; stays the same across {@link #goDown()}/{@link #comeBack()}. */
  public String url() {
    synchronized (lock) {
      return "http://127.0.0.1:" + port;
    }
  }

  public int port() {
    synchronized (lock) {
      return port;
    }
  }

  // ---------------------------------------------------------------- models

  /** Installs (or replaces) a model; {@code capabilities} beyond {@link #COMPLETION}: {@link #TOOLS}, {@link #THINKING}. */
  public OllamaStandIn installModel(String name, String... capabilities) {
    return installModel(name, 8192, capabilities);
  }

  /** Installs a model whose {@code /api/show} reports this context length. */
  public OllamaStandIn installModel(String name, int contextLength, String... capabilities) {
    var caps = new LinkedHashSet<String>();
    caps.add(COMPLETION);
    caps.addAll(List.of(capabilities));
    String normalized = normalize(name);
    models.put(normalized, new ModelEntry(normalized, Set.copyOf(caps), contextLength));
    return this;
  }

  /** Removes a model: chat with it answers 404 and {@code /api/tags} no longer lists it. */
  public OllamaStandIn removeModel(String name) {
    models.remove(normalize(name));
    return this;
  }

  /** Installed models, normalised ({@code llama3:latest}). */
  public List<String> modelNames() {
    synchronized (models) {
      return List.copyOf(models.keySet());
    }
  }

  // ---------------------------------------------------------------- script

  /** Rules matching when the last message (any role) or the generate prompt contains {@code text}. */
  public When whenPromptContains(String text) {
    Objects.requireNonNull(text);
    return new When(p -> p.content().contains(text));
  }

  /** Rules matching when the last message has {@code role} and contains {@code text}. */
  public When whenLastMessage(String role, String text) {
    Objects.requireNonNull(role);
    Objects.requireNonNull(text);
    return new When(p -> p.role().equals(role) && p.content().contains(text));
  }

  /** Rules matching any chat or generate request that satisfies {@code predicate}. */
  public When whenRequest(Predicate<RecordedRequest> predicate) {
    Objects.requireNonNull(predicate);
    return new When(p -> predicate.test(p.request()));
  }

  /** Rules matching every chat and generate request. */
  public When always() {
    return new When(p -> true);
  }

  /** The text answered when no rule matches. */
  public OllamaStandIn defaultReply(String text) {
    this.defaultReply = Objects.requireNonNull(text);
    return this;
  }

  /** Drops every rule. */
  public OllamaStandIn clearRules() {
    rules.clear();
    return this;
  }

  /** A rule being written: narrow it, limit its uses, then give its {@link #reply}. */
  public final class When {
    private Predicate<Prompt> predicate;
    private int times = Integer.MAX_VALUE;

    private When(Predicate<Prompt> predicate) {
      this.predicate = predicate;
    }

    /** Only for this model ({@code llama3} matches {@code llama3:latest}). */
    public When forModel(String model) {
      String normalized = normalize(model);
      predicate = predicate.and(p -> p.model().equals(normalized));
      return this;
    }

    /** Only on {@code /api/chat} or {@code /api/generate} ({@code "chat"}, {@code "generate"}). */
    public When onEndpoint(String endpoint) {
      predicate = predicate.and(p -> p.endpoint().equals(endpoint));
      return this;
    }

    /** The rule answers {@code n} requests, then no longer matches. */
    public When times(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("times must be at least 1: " + n);
      }
      times = n;
      return this;
    }

    /** Adds the rule after the existing ones. */
    public OllamaStandIn reply(ScriptedReply reply) {
      rules.add(new Rule(predicate, times, Objects.requireNonNull(reply)));
      return OllamaStandIn.this;
    }

    public OllamaStandIn reply(String text) {
      return reply(ScriptedReply.text(text));
    }
  }

  // ---------------------------------------------------------------- server faults

  /** Stops listening: clients get connection refused until {@link #comeBack()}. */
  public OllamaStandIn goDown() {
    synchronized (lock) {
      if (server != null) {
        server.stop(0);
        server = null;
        log.info("Ollama stand-in down port={}", port);
      }
    }
    return this;
  }

  /** Listens again on the same port. */
  public OllamaStandIn comeBack() {
    synchronized (lock) {
      if (server != null) {
        return this;
      }
      if (closing.getCount() == 0) {
        throw new IllegalStateException("the Ollama stand-in is closed");
      }
      try {
        var created = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
        created.setExecutor(handlers);
        created.createContext("/", this::handle);
        created.start();
        server = created;
        port = created.getAddress().getPort();
        log.info("Ollama stand-in up url=http://127.0.0.1:{}", port);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot listen on 127.0.0.1:" + port, e);
      }
    }
    return this;
  }

  public boolean isUp() {
    synchronized (lock) {
      return server != null;
    }
  }

  /** Every request (any path) answers {@code status} with {@code {"error":message}}, until {@link #stopFailingRequests()}. */
  public OllamaStandIn failAllRequests(int status, String message) {
    failAll = new Failure(status, Objects.requireNonNull(message));
    return this;
  }

  public OllamaStandIn stopFailingRequests() {
    failAll = null;
    return this;
  }

  /** Beyond {@code n} concurrent chat/generate requests, answer 503 queue full; 0 lifts the limit. */
  public OllamaStandIn maxInFlight(int n) {
    this.maxInFlight = n;
    return this;
  }

  // ---------------------------------------------------------------- inspection

  public List<RecordedRequest> requests() {
    return List.copyOf(requests);
  }

  public List<RecordedRequest> requests(String path) {
    return requests.stream().filter(r -> r.path().equals(path)).toList();
  }

  /** The last request to {@code path}; fails listing what was received when there is none. */
  public RecordedRequest lastRequest(String path) {
    var matching = requests(path);
    if (matching.isEmpty()) {
      throw new IllegalStateException("no request to " + path + "; received: "
          + requests.stream().map(r -> r.method() + " " + r.path()).toList());
    }
    return matching.get(matching.size() - 1);
  }

  /** Waits until {@code count} requests to {@code path} arrived; returns them, or fails at the deadline. */
  public List<RecordedRequest> awaitRequests(String path, int count, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (requests(path).size() < count) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new IllegalStateException("expected " + count + " requests to " + path + " within " + timeout
              + ", got " + requests(path).size());
        }
        TimeUnit.NANOSECONDS.timedWait(lock, left);
      }
    }
    return requests(path);
  }

  public OllamaStandIn clearRequests() {
    requests.clear();
    return this;
  }

  /** Chat/generate requests being answered now. */
  public int inFlight() {
    synchronized (lock) {
      return inFlight;
    }
  }

  /** The most chat/generate requests that were in flight at once. */
  public int peakInFlight() {
    synchronized (lock) {
      return peakInFlight;
    }
  }

  /** Waits until at least {@code n} chat/generate requests are in flight; false at the deadline. */
  public boolean awaitInFlight(int n, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (inFlight < n) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, left);
      }
      return true;
    }
  }

  /**
   * Waits until no chat/generate request is in flight; false at the deadline. A client can read the end of a
   * response a moment before the stand-in's handler returns, so assert "idle" with this, not {@link #inFlight()}.
   */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (inFlight > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, left);
      }
      return true;
    }
  }

  /** Stops the server and releases every held, hanging or stalled request. */
  @Override
  public void close() {
    closing.countDown();
    goDown();
    handlers.shutdownNow();
  }

  // ---------------------------------------------------------------- HTTP

  private void handle(HttpExchange exchange) throws IOException {
    boolean dropped = false;
    try {
      String method = exchange.getRequestMethod();
      String path = exchange.getRequestURI().getPath();
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      var headers = new HashMap<String, List<String>>();
      exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(), List.copyOf(values)));
      var request = new RecordedRequest(method, path, Map.copyOf(headers), body, parse(body));
      synchronized (lock) {
        requests.add(request);
        lock.notifyAll();
      }
      log.debug("Ollama stand-in request method={} path={} body={}", method, path, body);
      Failure failure = failAll;
      if (failure != null) {
        sendError(exchange, failure.status(), failure.message());
        return;
      }
      route(exchange, request);
    } catch (Disconnect e) {
      dropped = true;
      throw e;
    } catch (IOException e) {
      // the client went away (timeout, cancelled stream): nothing left to answer
      log.debug("Ollama stand-in client gone: {}", e.toString());
    } finally {
      if (!dropped) {
        exchange.close();
      }
    }
  }

  private void route(HttpExchange exchange, RecordedRequest request) throws IOException {
    switch (request.method() + " " + request.path()) {
      case "GET /":
      case "HEAD /":
        send(exchange, 200, TEXT_UTF8, "Ollama is running");
        break;
      case "GET /api/version":
      case "HEAD /api/version":
        sendJson(exchange, 200, JSON.createObjectNode().put("version", VERSION));
        break;
      case "GET /api/tags":
      case "HEAD /api/tags":
        tags(exchange);
        break;
      case "GET /api/ps":
        ps(exchange);
        break;
      case "POST /api/show":
        show(exchange, request);
        break;
      case "POST /api/chat":
        generation(exchange, request, false);
        break;
      case "POST /api/generate":
        generation(exchange, request, true);
        break;
      case "POST /api/pull":
        pull(exchange, request);
        break;
      case "POST /api/embed":
        embed(exchange, request);
        break;
      case "DELETE /api/delete":
        delete(exchange, request);
        break;
      default:
        send(exchange, 404, TEXT_UTF8, "404 page not found");
    }
  }

  private void tags(HttpExchange exchange) throws IOException {
    ObjectNode body = JSON.createObjectNode();
    ArrayNode list = body.putArray("models");
    for (ModelEntry model : snapshot()) {
      // no "capabilities" here: ollama4j 1.1.6's Model does not ignore unknown fields (ollama.md §2)
      list.addObject()
          .put("name", model.name())
          .put("model", model.name())
          .put("modified_at", MODIFIED_AT)
          .put("size", MODEL_SIZE)
          .put("digest", digest(model.name()))
          .set("details", details());
    }
    sendJson(exchange, 200, body);
  }

  private void ps(HttpExchange exchange) throws IOException {
    ObjectNode body = JSON.createObjectNode();
    ArrayNode list = body.putArray("models");
    List<String> names;
    synchronized (loaded) {
      names = List.copyOf(loaded);
    }
    for (String name : names) {
      ModelEntry model = models.get(name);
      if (model == null) {
        continue;
      }
      ObjectNode entry = list.addObject()
          .put("name", model.name())
          .put("model", model.name())
          .put("size", MODEL_SIZE)
          .put("digest", digest(model.name()));
      entry.set("details", details());
      entry.put("expires_at", EXPIRES_AT).put("size_vram", MODEL_SIZE).put("context_length", model.contextLength());
    }
    sendJson(exchange, 200, body);
  }

  /**
   * The model a request names, or null after answering as the server does: the body's own error when it is not the
   * expected JSON object, 400 "model is required" when it names none.
   */
  private String requiredModel(HttpExchange exchange, RecordedRequest request, String type) throws IOException {
    if (requestObject(exchange, request, type) == null) {
      return null;
    }
    String name = request.model();
    if (name == null || name.isBlank()) {
      sendError(exchange, 400, "model is required");
      return null;
    }
    return name;
  }

  private void show(HttpExchange exchange, RecordedRequest request) throws IOException {
    String name = requiredModel(exchange, request, "ShowRequest");
    if (name == null) {
      return;
    }
    ModelEntry model = models.get(normalize(name));
    if (model == null) {
      sendError(exchange, 404, "model '" + name + "' not found");
      return;
    }
    ObjectNode show = JSON.createObjectNode()
        .put("modelfile", "# Modelfile generated by \"ollama show\"\nFROM " + model.name() + "\n")
        .put("parameters", "num_keep                       24\nstop                           \"<|eot_id|>\"")
        .put("template", "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}"
            + "<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>");
    show.set("details", details());
    show.putObject("model_info")
        .put("general.architecture", "llama")
        .put("general.parameter_count", 8030261248L)
        .put("llama.context_length", model.contextLength())
        .put("llama.embedding_length", 4096);
    ArrayNode capabilities = show.putArray("capabilities");
    model.capabilities().stream().sorted().forEach(capabilities::add);
    show.put("modified_at", MODIFIED_AT);
    sendJson(exchange, 200, show);
  }

  private void pull(HttpExchange exchange, RecordedRequest request) throws IOException {
    String name = requiredModel(exchange, request, "PullRequest");
    if (name == null) {
      return;
    }
    boolean missing = name.startsWith("nonexistent");
    if (!request.streaming()) {
      if (missing) {
        sendError(exchange, 500, MANIFEST_ERROR);
      } else {
        installModel(name);
        sendJson(exchange, 200, JSON.createObjectNode().put("status", "success"));
      }
      return;
    }
    OutputStream out = startStream(exchange);
    writeLine(out, JSON.createObjectNode().put("status", "pulling manifest"));
    if (missing) {
      writeLine(out, JSON.createObjectNode().put("error", MANIFEST_ERROR));
      return;
    }
    String digest = digest(normalize(name));
    for (long completed : new long[] {0, MODEL_SIZE}) {
      writeLine(out, JSON.createObjectNode()
          .put("status", "pulling " + digest.substring("sha256:".length(), "sha256:".length() + 12))
          .put("digest", digest).put("total", MODEL_SIZE).put("completed", completed));
    }
    writeLine(out, JSON.createObjectNode().put("status", "verifying sha256 digest"));
    writeLine(out, JSON.createObjectNode().put("status", "writing manifest"));
    installModel(name);
    writeLine(out, JSON.createObjectNode().put("status", "success"));
  }

  private void embed(HttpExchange exchange, RecordedRequest request) throws IOException {
    JsonNode body = requestObject(exchange, request, "EmbedRequest");
    if (body == null) {
      return;
    }
    String name = body.path("model").asText("");
    if (name.isBlank()) {
      sendError(exchange, 400, "model is required");
      return;
    }
    if (!models.containsKey(normalize(name))) {
      sendError(exchange, 404, "model '" + name + "' not found");
      return;
    }
    JsonNode input = body.path("input");
    List<String> inputs = new ArrayList<>();
    if (input.isTextual()) {
      inputs.add(input.textValue());
    } else if (input.isArray()) {
      for (JsonNode item : input) {
        if (!item.isTextual()) {
          sendError(exchange, 400, "invalid input type");
          return;
        }
        inputs.add(item.textValue());
      }
    } else if (!input.isMissingNode() && !input.isNull()) {
      sendError(exchange, 400, "invalid input type");
      return;
    }
    loaded.add(normalize(name));
    ObjectNode answer = JSON.createObjectNode().put("model", name);
    ArrayNode embeddings = answer.putArray("embeddings");
    inputs.forEach(text -> embeddings.add(embedding(text)));
    answer.put("total_duration", 14143917L).put("load_duration", 1019500L)
        .put("prompt_eval_count", inputs.stream().mapToInt(t -> Math.max(1, t.length() / 4)).sum());
    sendJson(exchange, 200, answer);
  }

  private void delete(HttpExchange exchange, RecordedRequest request) throws IOException {
    String name = requiredModel(exchange, request, "DeleteRequest");
    if (name == null) {
      return;
    }
    if (models.remove(normalize(name)) == null) {
      sendError(exchange, 404, "model '" + name + "' not found");
      return;
    }
    loaded.remove(normalize(name));
    exchange.sendResponseHeaders(200, -1);
  }

  // ---------------------------------------------------------------- chat and generate

  private enum FormatMode { NONE, JSON, SCHEMA }

  /** One chat/generate request as the player needs it. */
  private record Generation(String model, boolean generate, boolean stream, FormatMode format, JsonNode schema,
      int numPredict) {
  }

  private void generation(HttpExchange exchange, RecordedRequest request, boolean generate) throws IOException {
    JsonNode body = requestObject(exchange, request, generate ? "GenerateRequest" : "ChatRequest");
    if (body == null) {
      return;
    }
    String requested = body.path("model").asText("");
    if (requested.isBlank()) {
      sendError(exchange, 400, "model is required");
      return;
    }
    ModelEntry model = models.get(normalize(requested));
    if (model == null) {
      sendError(exchange, 404, "model '" + requested + "' not found");
      return;
    }
    JsonNode format = body.path("format");
    FormatMode formatMode;
    if (format.isMissingNode() || format.isNull() || (format.isTextual() && format.textValue().isEmpty())) {
      formatMode = FormatMode.NONE;
    } else if (format.isTextual() && format.textValue().equals("json")) {
      formatMode = FormatMode.JSON;
    } else if (format.isObject()) {
      formatMode = FormatMode.SCHEMA;
    } else {
      sendError(exchange, 400, "invalid format: " + goQuote(format.toString())
          + "; expected \"json\" or a valid JSON Schema object");
      return;
    }
    JsonNode tools = body.path("tools");
    if (!generate && tools.isArray() && tools.size() > 0 && !model.capabilities().contains(TOOLS)) {
      sendError(exchange, 400, "registry.ollama.ai/library/" + model.name() + " does not support tools");
      return;
    }
    JsonNode think = body.path("think");
    boolean thinking = (think.isBoolean() && think.booleanValue()) || (think.isTextual() && !think.textValue().isEmpty());
    if (thinking && !model.capabilities().contains(THINKING)) {
      sendError(exchange, 400, "\"" + requested + "\" does not support thinking");
      return;
    }
    boolean stream = request.streaming();
    var generation = new Generation(requested, generate, stream, formatMode,
        formatMode == FormatMode.SCHEMA ? format : null, body.path("options").path("num_predict").asInt(-1));

    String role;
    String content;
    if (generate) {
      role = "user";
      content = body.path("prompt").asText("");
    } else {
      JsonNode messages = body.path("messages");
      JsonNode last = messages.isArray() && messages.size() > 0 ? messages.get(messages.size() - 1) : null;
      role = last == null ? "" : last.path("role").asText("");
      content = last == null ? null : last.path("content").asText("");
    }
    loaded.add(model.name());
    if (content == null || (generate && content.isEmpty())) {
      // Ollama only loads (or, with keep_alive 0, unloads) the model when there is nothing to answer
      JsonNode keepAlive = body.path("keep_alive");
      boolean unload = keepAlive.isNumber() ? keepAlive.asDouble() == 0 : "0".equals(keepAlive.asText(null));
      ObjectNode done = chunk(generation, "", true);
      done.put("done_reason", unload ? "unload" : "load");
      sendOneOrStream(exchange, generation, done);
      return;
    }

    ScriptedReply reply = script(new Prompt(generate ? "generate" : "chat", model.name(), role, content, request));
    boolean busy;
    synchronized (lock) {
      inFlight++;
      busy = maxInFlight > 0 && inFlight > maxInFlight;
      peakInFlight = Math.max(peakInFlight, busy ? maxInFlight : inFlight);
      lock.notifyAll();
    }
    try {
      if (busy) {
        sendError(exchange, 503, QUEUE_FULL);
      } else {
        play(exchange, reply, generation);
      }
    } finally {
      synchronized (lock) {
        inFlight--;
        lock.notifyAll();
      }
    }
  }

  private ScriptedReply script(Prompt prompt) {
    for (Rule rule : rules) {
      if (rule.claim(prompt)) {
        log.debug("Ollama stand-in scripted reply={} endpoint={} role={}", rule.reply, prompt.endpoint(), prompt.role());
        return rule.reply;
      }
    }
    return ScriptedReply.text(defaultReply);
  }

  private void play(HttpExchange exchange, ScriptedReply reply, Generation generation) throws IOException {
    if (reply.gate != null && !await(reply.gate)) {
      return;
    }
    if (reply.hang) {
      await(closing);
      return;
    }
    if (!pause(reply.delayBeforeHeaders)) {
      return;
    }
    if (reply.kind == ScriptedReply.Kind.ERROR) {
      sendError(exchange, reply.status, reply.errorMessage);
      return;
    }
    List<String> tokens = tokens(content(reply, generation));
    String doneReason = reply.doneReason == null ? "stop" : reply.doneReason;
    if (generation.numPredict() > 0 && tokens.size() > generation.numPredict()) {
      tokens = tokens.subList(0, generation.numPredict());
      doneReason = reply.doneReason == null ? "length" : reply.doneReason;
    }
    ObjectNode last = chunk(generation, "", true);
    last.put("done_reason", doneReason);
    metrics(last, reply, generation);

    if (!generation.stream()) {
      playWhole(exchange, reply, generation, tokens, last);
    } else {
      playStream(exchange, reply, generation, tokens, last);
    }
  }

  /** Without streaming Ollama answers once everything is generated, and a failure becomes a plain 500. */
  private void playWhole(HttpExchange exchange, ScriptedReply reply, Generation generation, List<String> tokens,
      ObjectNode last) throws IOException {
    int n = tokens.size();
    if (reply.disconnectAfter >= 0) {
      if (pause(reply.delayPerToken.multipliedBy(Math.min(reply.disconnectAfter, n)))) {
        throw new Disconnect();
      }
      return;
    }
    if (reply.stallAfter >= 0) {
      await(closing);
      return;
    }
    if (reply.pauseGate != null && !await(reply.pauseGate)) {
      return;
    }
    if (reply.midErrorAfter >= 0) {
      if (pause(reply.delayPerToken.multipliedBy(Math.min(reply.midErrorAfter, n)))) {
        sendError(exchange, 500, reply.midErrorMessage);
      }
      return;
    }
    if (!pause(reply.delayPerToken.multipliedBy(n))) {
      return;
    }
    String text = String.join("", tokens);
    if (generation.generate()) {
      last.put("response", text);
    } else {
      ObjectNode message = (ObjectNode) last.get("message");
      message.put("content", text);
      if (reply.kind == ScriptedReply.Kind.TOOL_CALL) {
        message.set("tool_calls", toolCalls(reply));
      }
    }
    sendJson(exchange, 200, last);
  }

  private void playStream(HttpExchange exchange, ScriptedReply reply, Generation generation, List<String> tokens,
      ObjectNode last) throws IOException {
    OutputStream out = startStream(exchange);
    int n = tokens.size();
    for (int i = 0; i <= n; i++) {
      if (at(reply.midErrorAfter, i, n)) {
        writeLine(out, JSON.createObjectNode().put("error", reply.midErrorMessage));
        return;
      }
      if (at(reply.disconnectAfter, i, n)) {
        throw new Disconnect();
      }
      if (at(reply.stallAfter, i, n)) {
        await(closing);
        return;
      }
      if (at(reply.pauseAfter, i, n) && !await(reply.pauseGate)) {
        return;
      }
      if (i == n) {
        break;
      }
      if (i > 0 && !pause(reply.delayPerToken)) {
        return;
      }
      writeLine(out, chunk(generation, tokens.get(i), false));
    }
    if (reply.kind == ScriptedReply.Kind.TOOL_CALL && !generation.generate()) {
      ObjectNode call = chunk(generation, "", false);
      ((ObjectNode) call.get("message")).set("tool_calls", toolCalls(reply));
      writeLine(out, call);
    }
    if (n > 0 && !pause(reply.delayPerToken)) {
      return;
    }
    writeLine(out, last);
  }

  /** Whether a fault scripted "after k tokens" fires before token {@code i} of {@code n} (late faults fire before the final chunk). */
  private static boolean at(int after, int i, int n) {
    return after >= 0 && Math.min(after, n) == i;
  }

  private String content(ScriptedReply reply, Generation generation) {
    if (reply.kind == ScriptedReply.Kind.TOOL_CALL) {
      return "";
    }
    if (generation.format() == FormatMode.NONE || reply.kind == ScriptedReply.Kind.JSON || isJsonDocument(reply.content)) {
      return reply.content;
    }
    JsonNode document = generation.format() == FormatMode.SCHEMA
        ? SchemaInstance.of(generation.schema())
        : JSON.createObjectNode().put("text", reply.content);
    return document.toString();
  }

  /** Deltas: the text split after each space, as ollama.md §5 specifies. */
  static List<String> tokens(String text) {
    var tokens = new ArrayList<String>();
    int start = 0;
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) == ' ') {
        tokens.add(text.substring(start, i + 1));
        start = i + 1;
      }
    }
    if (start < text.length()) {
      tokens.add(text.substring(start));
    }
    return tokens;
  }

  private ObjectNode chunk(Generation generation, String delta, boolean done) {
    ObjectNode chunk = JSON.createObjectNode().put("model", generation.model()).put("created_at", CREATED_AT);
    if (generation.generate()) {
      chunk.put("response", delta);
    } else {
      chunk.putObject("message").put("role", "assistant").put("content", delta);
    }
    chunk.put("done", done);
    return chunk;
  }

  private static void metrics(ObjectNode last, ScriptedReply reply, Generation generation) {
    if (generation.generate()) {
      last.putArray("context").add(128006).add(882).add(128007);
    }
    last.put("total_duration", 1234567890L)
        .put("load_duration", 12345678L)
        .put("prompt_eval_count", reply.promptEvalCount == null ? 26 : reply.promptEvalCount)
        .put("prompt_eval_duration", 130079000L)
        .put("eval_count", reply.evalCount == null ? 12 : reply.evalCount)
        .put("eval_duration", 423271000L);
  }

  private ArrayNode toolCalls(ScriptedReply reply) {
    ArrayNode calls = JSON.createArrayNode();
    ObjectNode function = calls.addObject()
        .put("id", toolCallId(toolCallIds.getAndIncrement()))
        .putObject("function");
    function.put("index", 0).put("name", reply.toolName);
    try {
      function.set("arguments", JSON.readTree(reply.toolArgumentsJson));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("tool call arguments are not JSON: " + reply.toolArgumentsJson, e);
    }
    return calls;
  }

  /** {@code call_} and 8 characters of {@code [a-z0-9]}, as Ollama's toolCallId; deterministic per stand-in. */
  private static String toolCallId(int n) {
    String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    var id = new StringBuilder("call_");
    long x = 0x9E3779B97F4A7C15L * (n + 1);
    for (int i = 0; i < 8; i++) {
      id.append(alphabet.charAt((int) Math.floorMod(x >>> (i * 5), alphabet.length())));
    }
    return id.toString();
  }

  private void sendOneOrStream(HttpExchange exchange, Generation generation, ObjectNode only) throws IOException {
    if (generation.stream()) {
      writeLine(startStream(exchange), only);
    } else {
      sendJson(exchange, 200, only);
    }
  }

  // ---------------------------------------------------------------- plumbing

  /** The body as a JSON object, or null after answering what Ollama answers to a missing or malformed body. */
  private JsonNode requestObject(HttpExchange exchange, RecordedRequest request, String goType) throws IOException {
    if (request.body().isBlank()) {
      sendError(exchange, 400, "missing request body");
      return null;
    }
    JsonNode json = request.json();
    if (json.isMissingNode()) {
      sendError(exchange, 400, goDecodeError(request.body()));
      return null;
    }
    if (!json.isObject()) {
      sendError(exchange, 400, "json: cannot unmarshal " + goKind(json) + " into Go value of type api." + goType);
      return null;
    }
    JsonNode model = json.path("model");
    if (!model.isMissingNode() && !model.isNull() && !model.isTextual()) {
      sendError(exchange, 400, "json: cannot unmarshal " + goKind(model) + " into Go struct field " + goType
          + ".model of type string");
      return null;
    }
    return json;
  }

  /** Approximates Go's encoding/json message for the first syntax error (enough for clients to show it). */
  private static String goDecodeError(String body) {
    char first = body.strip().charAt(0);
    if (first == '{' || first == '[' || first == '"') {
      return "unexpected EOF";
    }
    return "invalid character '" + first + "' looking for beginning of value";
  }

  private static String goKind(JsonNode node) {
    return node.isArray() ? "array" : node.isObject() ? "object" : node.isTextual() ? "string"
        : node.isBoolean() ? "bool" : "number";
  }

  /** Go's {@code %q} of a short ASCII string. */
  private static String goQuote(String raw) {
    return "\"" + raw.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static JsonNode parse(String body) {
    if (body.isBlank()) {
      return MissingNode.getInstance();
    }
    try {
      JsonNode node = JSON.readTree(body);
      return node == null ? MissingNode.getInstance() : node;
    } catch (JsonProcessingException e) {
      return MissingNode.getInstance();
    }
  }

  private static boolean isJsonDocument(String text) {
    String t = text.strip();
    if (!(t.startsWith("{") || t.startsWith("["))) {
      return false;
    }
    try {
      JSON.readTree(t);
      return true;
    } catch (JsonProcessingException e) {
      return false;
    }
  }

  /** Ollama normalises {@code llama3} to {@code llama3:latest}; a tag after the last {@code /} is kept. */
  static String normalize(String name) {
    String trimmed = name.trim();
    int slash = trimmed.lastIndexOf('/');
    return trimmed.indexOf(':', slash + 1) >= 0 ? trimmed : trimmed + ":latest";
  }

  private List<ModelEntry> snapshot() {
    synchronized (models) {
      return List.copyOf(models.values());
    }
  }

  private static ObjectNode details() {
    ObjectNode details = JSON.createObjectNode()
        .put("parent_model", "")
        .put("format", "gguf")
        .put("family", "llama");
    details.putArray("families").add("llama");
    details.put("parameter_size", "8.0B").put("quantization_level", "Q4_0");
    return details;
  }

  private static String digest(String name) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
      return "sha256:" + HexFormat.of().formatHex(hash);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A unit vector derived from the text: same text, same embedding; different texts differ. */
  private static ArrayNode embedding(String text) {
    double[] v = new double[EMBEDDING_DIMENSIONS];
    long seed = text.hashCode() * 0x9E3779B97F4A7C15L + 1;
    double norm = 0;
    for (int i = 0; i < v.length; i++) {
      seed = seed * 6364136223846793005L + 1442695040888963407L;
      v[i] = ((seed >>> 11) / (double) (1L << 53)) * 2 - 1;
      norm += v[i] * v[i];
    }
    ArrayNode array = JSON.createArrayNode();
    for (double x : v) {
      array.add(x / Math.sqrt(norm));
    }
    return array;
  }

  private static OutputStream startStream(HttpExchange exchange) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", NDJSON);
    exchange.sendResponseHeaders(200, 0); // 0: chunked
    return exchange.getResponseBody();
  }

  private static void writeLine(OutputStream out, JsonNode object) throws IOException {
    out.write((object.toString() + "\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static void sendJson(HttpExchange exchange, int status, JsonNode body) throws IOException {
    send(exchange, status, JSON_UTF8, body.toString());
  }

  private static void sendError(HttpExchange exchange, int status, String message) throws IOException {
    sendJson(exchange, status, JSON.createObjectNode().put("error", message));
  }

  private static void send(HttpExchange exchange, int status, String contentType, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType);
    if (exchange.getRequestMethod().equals("HEAD")) {
      exchange.sendResponseHeaders(status, -1);
      return;
    }
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** Waits for {@code gate}; false when the stand-in closes first (the request is then abandoned). */
  private boolean await(CountDownLatch gate) {
    try {
      while (!gate.await(50, TimeUnit.MILLISECONDS)) {
        if (closing.getCount() == 0) {
          return false;
        }
      }
      return closing.getCount() > 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Simulated model time; false when the stand-in closes meanwhile. */
  private boolean pause(Duration delay) {
    if (delay.isZero() || delay.isNegative()) {
      return closing.getCount() > 0;
    }
    try {
      return !closing.await(delay.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
