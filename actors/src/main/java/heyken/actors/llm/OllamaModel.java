package heyken.actors.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import heyken.actors.llm.LanguageModel.Availability.State;
import io.github.ollama4j.Ollama;
import io.github.ollama4j.exceptions.OllamaException;
import io.github.ollama4j.models.chat.OllamaChatMessage;
import io.github.ollama4j.models.chat.OllamaChatMessageRole;
import io.github.ollama4j.models.chat.OllamaChatRequest;
import io.github.ollama4j.models.chat.OllamaChatResponseModel;
import io.github.ollama4j.models.chat.OllamaChatResult;
import io.github.ollama4j.models.response.Model;
import io.github.ollama4j.utils.OptionsBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * {@link LanguageModel} on Ollama. Availability and whole answers go through ollama4j 1.1.6 as ollama.md §2
 * documents it ({@code ping}/{@code getVersion}/{@code listModels}, {@code chat(request, null)} with
 * {@code setFormat} for schemas); streamed answers go through the JDK HttpClient against the REST protocol
 * ({@link OllamaChatStream} says why). Around both: admission (at most {@code max-concurrent} calls, FIFO with
 * positions), history trimming to {@code num-ctx}, and retries with doubling backoff on transient failures only.
 * Never pulls a model. Blocking: call it from a blocking dispatcher. Thread-safe; close it to stop its threads.
 */
public final class OllamaModel implements LanguageModel, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(OllamaModel.class);
  private static final AtomicLong CALL_IDS = new AtomicLong();

  private final LlmSettings settings;
  private final Ollama chatClient;
  private final Ollama probeClient;
  private final OllamaChatStream streams;
  private final OllamaFailures failures;
  private final AdmissionQueue admission;
  private final ExecutorService calls;
  private final ScheduledThreadPoolExecutor watchdog;
  private final AtomicReference<State> lastState = new AtomicReference<>();
  private volatile boolean closed;

  public OllamaModel(LlmSettings settings) {
    this.settings = settings;
    this.failures = new OllamaFailures(settings.url(), settings.requestTimeout(), settings.streamIdleTimeout());
    this.admission = new AdmissionQueue(settings.maxConcurrent(), settings.maxWaiting());
    AtomicInteger threads = new AtomicInteger();
    this.calls = Executors.newCachedThreadPool(r -> daemon(r, "ollama-call-" + threads.incrementAndGet()));
    this.watchdog = new ScheduledThreadPoolExecutor(1, r -> daemon(r, "ollama-watchdog"));
    this.watchdog.setRemoveOnCancelPolicy(true); // one timer per chunk: cancelled ones must not pile up
    String url = settings.configured() ? settings.url() : LlmSettings.DEFAULT_URL;
    // ollama4j's timeout bounds the wait for response headers, which for a whole answer is the whole generation
    // (its default of 10 s is far too small, ollama.md §2); it has whole seconds and no connect timeout.
    this.chatClient = new Ollama(url);
    this.chatClient.setRequestTimeoutSeconds(ceilSeconds(settings.requestTimeout()));
    // Heyken sends no tools; with 0 ollama4j never runs a tool loop on a reply that carries tool_calls anyway
    this.chatClient.setMaxChatToolCallRetries(0);
    this.probeClient = new Ollama(url);
    this.probeClient.setRequestTimeoutSeconds(ceilSeconds(settings.connectTimeout()));
    HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1) // Ollama speaks HTTP/1.1; skips the h2c upgrade dance
        .connectTimeout(settings.connectTimeout())
        .build();
    this.streams = new OllamaChatStream(http, URI.create(url + "/api/chat"), settings.requestTimeout(),
        settings.streamIdleTimeout(), watchdog, failures);
  }

  public static OllamaModel create(Config config) {
    return new OllamaModel(LlmSettings.from(config));
  }

  public LlmSettings settings() {
    return settings;
  }

  // ------------------------------------------------------------------ availability

  @Override
  public Availability availability() {
    Availability availability = probe();
    State previous = lastState.getAndSet(availability.state());
    if (previous != availability.state()) {
      if (availability.up()) {
        log.info("Ollama available: {}", availability.describe());
      } else {
        log.warn("Ollama unavailable state={}: {}", availability.state(), availability.describe());
      }
    }
    return availability;
  }

  private Availability probe() {
    if (!settings.configured()) {
      return new Availability(State.NOT_CONFIGURED,
          "OLLAMA_URL is empty: free-text answers and generated features are off",
          "set OLLAMA_URL in .env (e.g. " + LlmSettings.DEFAULT_URL + ") and restart", "", List.of());
    }
    String version;
    List<String> installed;
    try {
      if (!probeClient.ping()) {
        return new Availability(State.SERVER_DOWN,
            "Ollama at " + settings.url() + " answers /api/tags with an error status",
            "it may be starting or behind a failing proxy: check `ollama ps` and the Ollama log, or correct OLLAMA_URL",
            "", List.of());
      }
      version = probeClient.getVersion();
      installed = probeClient.listModels().stream().map(Model::getName).toList();
    } catch (OllamaException | RuntimeException e) {
      // ping throws instead of returning false when nothing listens (ollama.md §2)
      return new Availability(State.SERVER_DOWN,
          "Ollama at " + settings.url() + " does not answer (" + OllamaFailures.connectFailure(e) + ")",
          OllamaFailures.START_OLLAMA, "",
          List.of());
    }
    var required = new LinkedHashSet<>(List.of(settings.model(), settings.codeModel()));
    var normalizedInstalled = installed.stream().map(OllamaModel::normalize).toList();
    var missing = required.stream().filter(m -> !normalizedInstalled.contains(normalize(m))).toList();
    if (!missing.isEmpty()) {
      return new Availability(State.MODEL_MISSING,
          (missing.size() == 1 ? "model " + missing.get(0) + " is" : "models " + String.join(" and ", missing) + " are")
              + " missing on Ollama " + version + " at " + settings.url() + " (installed: "
              + (installed.isEmpty() ? "none" : String.join(", ", installed)) + ")",
          missing.stream().map(m -> "`ollama pull " + m + "`").reduce((a, b) -> a + " and " + b)
              .map(pulls -> "run " + pulls + " on the Ollama host (Heyken never pulls by itself)").orElseThrow(),
          version, installed);
    }
    String serves = settings.codeModel().equals(settings.model())
        ? settings.model() : settings.model() + " (code: " + settings.codeModel() + ")";
    return new Availability(State.UP, "Ollama " + version + " at " + settings.url() + " serves " + serves, "",
        version, installed);
  }

  // ------------------------------------------------------------------ chat

  @Override
  public Reply chat(ChatRequest request, QueueListener queue) {
    Call call = prepare(request, false);
    return traced(call, () -> admitted(call, queue, () -> withRetries(call, () -> false, attempt -> whole(call))));
  }

  @Override
  public Reply stream(ChatRequest request, StreamListener listener) {
    Call call = prepare(request, true);
    return traced(call, () -> admitted(call, listener, () -> {
      var delivered = new AtomicBoolean();
      var partial = new AtomicReference<>("");
      try {
        return withRetries(call, delivered::get, attempt -> {
          listener.onStarted(attempt);
          return streams.run(call.model(), call.body(), (delta, soFar) -> {
            delivered.set(true);
            partial.set(soFar);
            listener.onPartial(delta, soFar);
          });
        });
      } catch (LanguageModelException e) {
        throw e.after(e.attempts(), partial.get());
      }
    }));
  }

  @Override
  public QueueStatus queue() {
    return admission.status();
  }

  /** Stops the watchdog and abandons calls still running on ollama4j threads. */
  @Override
  public void close() {
    closed = true;
    watchdog.shutdownNow();
    calls.shutdownNow();
  }

  /** A request resolved against the settings: model, trimmed history, options and (streaming) the body to send. */
  private record Call(long id, String model, List<Message> messages, int numCtx, Options options, JsonNode format,
      boolean stream, int estimatedTokens, ObjectNode body) {
  }

  private Call prepare(ChatRequest request, boolean stream) {
    if (closed) {
      throw new IllegalStateException("this OllamaModel is closed");
    }
    if (!settings.configured()) {
      throw new LanguageModelException(LanguageModelException.Kind.NOT_CONFIGURED,
          "OLLAMA_URL is empty: the language model is switched off",
          "set OLLAMA_URL in .env (e.g. " + LlmSettings.DEFAULT_URL + ") and restart");
    }
    String model = request.model() != null ? request.model() : settings.modelFor(request.purpose());
    Options options = request.options();
    int numCtx = options.numCtx() != null ? options.numCtx() : settings.numCtx();
    int reserve = options.numPredict() != null && options.numPredict() > 0 ? options.numPredict() : settings.replyReserve();
    int budget = Math.max(0, numCtx - reserve);
    TokenBudget.Fit fit = TokenBudget.fit(request.messages(), budget);
    long id = CALL_IDS.incrementAndGet();
    if (fit.dropped() > 0) {
      log.info("history trimmed to fit the context llmCall={} model={} dropped={} kept={} estimatedTokens={} budget={}",
          id, model, fit.dropped(), fit.messages().size(), fit.estimatedTokens(), budget);
    }
    if (fit.estimatedTokens() > budget) {
      log.warn("prompt is larger than the context even after trimming llmCall={} model={} estimatedTokens={} "
          + "numCtx={} reserve={}: Ollama will cut it; shorten the system prompt or the last message, or raise "
          + "heyken.llm.num-ctx", id, model, fit.estimatedTokens(), numCtx, reserve);
    }
    return new Call(id, model, fit.messages(), numCtx, options, request.format(), stream, fit.estimatedTokens(),
        stream ? body(model, fit.messages(), numCtx, options, request.format()) : null);
  }

  /** The REST body of the streaming path; the whole-answer path sends the same through ollama4j. */
  private ObjectNode body(String model, List<Message> messages, int numCtx, Options options, JsonNode format) {
    ObjectNode body = Wire.JSON.createObjectNode().put("model", model).put("stream", true);
    ArrayNode list = body.putArray("messages");
    for (Message message : messages) {
      list.addObject().put("role", message.role().wire()).put("content", message.content());
    }
    ObjectNode wireOptions = body.putObject("options").put("num_ctx", numCtx);
    if (options.temperature() != null) {
      wireOptions.put("temperature", options.temperature());
    }
    if (options.seed() != null) {
      wireOptions.put("seed", options.seed());
    }
    if (options.numPredict() != null) {
      wireOptions.put("num_predict", options.numPredict());
    }
    if (format != null) {
      body.set("format", format);
    }
    body.put("keep_alive", settings.keepAlive());
    return body;
  }

  /** One whole-answer attempt through ollama4j, on a worker thread so that a hung call can be abandoned. */
  private Reply whole(Call call) {
    OllamaChatRequest request = OllamaChatRequest.builder()
        .withModel(call.model())
        .withMessages(new ArrayList<>(call.messages().stream()
            .map(m -> new OllamaChatMessage(role(m.role()), m.content())).toList()))
        .withOptions(ollama4jOptions(call))
        .withKeepAlive(settings.keepAlive())
        .build();
    if (call.format() != null && call.format().isTextual()) {
      request.withGetJsonResponse();
    } else if (call.format() != null) {
      // 1.1.6 has no withFormat on chat requests; the inherited setter serialises a Map as "format":{…} (§2)
      @SuppressWarnings("unchecked")
      Map<String, Object> schema = Wire.JSON.convertValue(call.format(), Map.class);
      request.setFormat(schema);
    }
    Future<OllamaChatResult> pending = calls.submit(() -> chatClient.chat(request, null));
    // ollama4j cannot be cancelled once the headers arrived (§2 "Cancellation"): bound the whole call here
    Duration deadline = Duration.ofSeconds(ceilSeconds(settings.requestTimeout())).plus(settings.streamIdleTimeout());
    OllamaChatResult result;
    try {
      result = pending.get(deadline.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      pending.cancel(true);
      throw failures.stalled(call.model());
    } catch (InterruptedException e) {
      pending.cancel(true);
      Thread.currentThread().interrupt();
      throw OllamaFailures.interrupted();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof OllamaException) {
        throw failures.fromOllama4j((OllamaException) cause, call.model());
      }
      // ollama4j's parser throws unchecked on a body it cannot read (§2 "Parser fragility")
      throw new LanguageModelException(LanguageModelException.Kind.CONNECTION_LOST,
          "ollama4j could not read the answer of Ollama at " + settings.url() + " (" + brief(cause) + ")",
          "check that OLLAMA_URL points at Ollama itself; report it if it repeats", -1, cause);
    }
    OllamaChatResponseModel response = result.getResponseModel();
    String text = response.getMessage() == null || response.getMessage().getResponse() == null
        ? "" : response.getMessage().getResponse();
    return new Reply(text, response.getModel() == null ? call.model() : response.getModel(),
        DoneReason.fromWire(response.getDoneReason()),
        new Usage(orZero(response.getPromptEvalCount()), orZero(response.getEvalCount()),
            nanos(response.getTotalDuration()), nanos(response.getLoadDuration()), nanos(response.getEvalDuration())),
        1);
  }

  private static io.github.ollama4j.utils.Options ollama4jOptions(Call call) {
    OptionsBuilder options = new OptionsBuilder().setNumCtx(call.numCtx());
    if (call.options().temperature() != null) {
      options.setTemperature(call.options().temperature().floatValue());
    }
    if (call.options().seed() != null) {
      options.setSeed(call.options().seed());
    }
    if (call.options().numPredict() != null) {
      options.setNumPredict(call.options().numPredict());
    }
    return options.build();
  }

  private static OllamaChatMessageRole role(Role role) {
    switch (role) {
      case SYSTEM:
        return OllamaChatMessageRole.SYSTEM;
      case ASSISTANT:
        return OllamaChatMessageRole.ASSISTANT;
      default:
        return OllamaChatMessageRole.USER;
    }
  }

  // ------------------------------------------------------------------ admission, retries, logging

  @FunctionalInterface
  private interface Attempt {
    Reply run(int attempt);
  }

  private Reply admitted(Call call, QueueListener listener, Supplier<Reply> body) {
    QueueStatus before = admission.status();
    if (before.running() >= before.capacity()) {
      log.debug("waiting for a turn llmCall={} running={} waiting={}", call.id(), before.running(), before.waiting());
    }
    admission.enter(listener);
    try {
      return body.get();
    } finally {
      admission.leave();
    }
  }

  /** Retries transient failures with doubling backoff, never once something was streamed to the caller. */
  private Reply withRetries(Call call, java.util.function.BooleanSupplier delivered, Attempt attempt) {
    int allowed = 1 + settings.retries();
    for (int n = 1; ; n++) {
      try {
        return attempt.run(n).withAttempts(n);
      } catch (LanguageModelException e) {
        if (!e.isTransient() || n >= allowed || delivered.getAsBoolean()) {
          throw e.after(n, "");
        }
        Duration backoff = settings.retryBackoff().multipliedBy(1L << Math.min(n - 1, 20));
        log.warn("language-model call failed, retrying llmCall={} model={} kind={} attempt={}/{} backoff={}ms: {}",
            call.id(), call.model(), e.kind(), n, allowed, backoff.toMillis(), e.reason());
        try {
          Thread.sleep(backoff.toMillis());
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw OllamaFailures.interrupted();
        }
      }
    }
  }

  /** Puts the call id and model in the MDC (found by the Logger API) and logs how the call ended. */
  private Reply traced(Call call, Supplier<Reply> body) {
    String previousCall = MDC.get("llmCall");
    String previousModel = MDC.get("model");
    MDC.put("llmCall", String.valueOf(call.id()));
    MDC.put("model", call.model());
    long start = System.nanoTime();
    try {
      log.debug("language-model call llmCall={} model={} stream={} messages={} estimatedTokens={} numCtx={} format={}",
          call.id(), call.model(), call.stream(), call.messages().size(), call.estimatedTokens(), call.numCtx(),
          call.format() == null ? "none" : call.format().isTextual() ? "json" : "schema");
      Reply reply = body.get();
      heyken.actors.metrics.Metrics.llmCall(call.model(), "ok", start);
      long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();
      log.info("language-model answer llmCall={} model={} doneReason={} attempts={} promptTokens={} answerTokens={} "
              + "tokensPerSecond={} millis={}", call.id(), reply.model(), reply.doneReason(), reply.attempts(),
          reply.usage().promptTokens(), reply.usage().answerTokens(),
          String.format("%.1f", reply.usage().tokensPerSecond()), millis);
      if (reply.truncated()) {
        log.warn("answer cut off (done_reason length) llmCall={} model={} answerTokens={}: ask for less or raise "
            + "num_predict / heyken.llm.num-ctx", call.id(), reply.model(), reply.usage().answerTokens());
      }
      if (reply.usage().promptTokens() >= call.numCtx() * 95 / 100) {
        // Ollama drops the oldest messages silently when the prompt overflows (ollama.md §3 "Context")
        log.warn("prompt filled the context llmCall={} model={} promptTokens={} numCtx={}: Ollama probably cut it; "
            + "trim the history or raise heyken.llm.num-ctx", call.id(), reply.model(), reply.usage().promptTokens(),
            call.numCtx());
      }
      return reply;
    } catch (LanguageModelException e) {
      heyken.actors.metrics.Metrics.llmCall(call.model(), String.valueOf(e.kind()), start);
      log.warn("language-model call failed llmCall={} model={} kind={} status={} attempts={}: {}", call.id(),
          call.model(), e.kind(), e.status(), e.attempts(), e.getMessage());
      throw e;
    } finally {
      restore("llmCall", previousCall);
      restore("model", previousModel);
    }
  }

  private static void restore(String key, String value) {
    if (value == null) {
      MDC.remove(key);
    } else {
      MDC.put(key, value);
    }
  }

  // ------------------------------------------------------------------ small things

  /** Ollama lists {@code name:tag}; a bare name means {@code :latest}. */
  static String normalize(String name) {
    String trimmed = name.trim();
    int slash = trimmed.lastIndexOf('/');
    return trimmed.indexOf(':', slash + 1) >= 0 ? trimmed : trimmed + ":latest";
  }

  private static long ceilSeconds(Duration duration) {
    long seconds = duration.toSeconds();
    return duration.equals(Duration.ofSeconds(seconds)) ? Math.max(1, seconds) : seconds + 1;
  }

  private static int orZero(Integer value) {
    return value == null ? 0 : value;
  }

  private static Duration nanos(Long value) {
    return value == null ? Duration.ZERO : Duration.ofNanos(value);
  }

  private static String brief(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String m = root.getMessage();
    String s = root.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
    return s.length() > 200 ? s.substring(0, 200) + "…" : s;
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }
}
