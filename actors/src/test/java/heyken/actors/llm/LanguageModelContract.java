package heyken.actors.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import heyken.actors.llm.LanguageModel.Availability;
import heyken.actors.llm.LanguageModel.ChatRequest;
import heyken.actors.llm.LanguageModel.DoneReason;
import heyken.actors.llm.LanguageModel.Message;
import heyken.actors.llm.LanguageModel.Options;
import heyken.actors.llm.LanguageModel.Reply;
import heyken.actors.llm.LanguageModel.StreamListener;
import heyken.actors.llm.LanguageModelException.Kind;
import heyken.testkit.ollama.OllamaStandIn;
import heyken.testkit.ollama.RecordedRequest;
import heyken.testkit.ollama.ScriptedReply;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link LanguageModel} on an Ollama server must do. Runs against the stand-in always and against a
 * real Ollama when {@code OLLAMA_URL} is set; rules that need scripted answers, faults or the recorded requests
 * are skipped on a real server (they {@link #scripted()}).
 */
abstract class LanguageModelContract {

  static final Duration WAIT = Duration.ofSeconds(30);
  static final ObjectMapper JSON = new ObjectMapper();
  static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},"
      + "\"population\":{\"type\":\"integer\"}},\"required\":[\"city\",\"population\"]}";

  private final List<OllamaModel> opened = new ArrayList<>();
  private final ExecutorService callers = Executors.newCachedThreadPool();

  /** Base URL of the server under test. */
  protected abstract String url();

  /** A model installed on it. */
  protected abstract String installedModel();

  /** The stand-in when the server is one: scripts answers and faults, records requests. Empty for a real Ollama. */
  protected abstract Optional<OllamaStandIn> standIn();

  /** Settings fitting the server: short timeouts for the stand-in, minutes for a real model. */
  protected abstract Map<String, Object> serverSettings();

  protected OllamaModel model(Map<String, Object> overrides) {
    var values = new HashMap<String, Object>();
    values.put("heyken.components.ollama-url", url());
    values.put("heyken.llm.model", installedModel());
    values.put("heyken.llm.retry-backoff", "10ms");
    values.putAll(serverSettings());
    values.putAll(overrides);
    var model = new OllamaModel(LlmSettings.from(ConfigFactory.parseMap(values)));
    opened.add(model);
    return model;
  }

  protected OllamaModel model() {
    return model(Map.of());
  }

  /** The stand-in, or skips the rule on a real server. */
  protected OllamaStandIn scripted() {
    assumeTrue(standIn().isPresent(), "needs the stand-in (scripted answers, faults or recorded requests)");
    return standIn().get();
  }

  @AfterEach
  void closeModels() {
    callers.shutdownNow();
    opened.forEach(OllamaModel::close);
  }

  // ------------------------------------------------------------------ availability

  @Test
  void availabilityIsUpWhenTheServerAnswersAndTheModelIsInstalled() {
    Availability availability = model().availability();
    assertTrue(availability.up(), availability.describe());
    assertFalse(availability.serverVersion().isEmpty());
    assertTrue(availability.installedModels().stream().map(OllamaModel::normalize)
        .anyMatch(OllamaModel.normalize(installedModel())::equals), availability.installedModels().toString());
    assertEquals("", availability.action());
  }

  @Test
  void missingModelIsDownWithThePullHintAndNothingIsPulled() {
    var model = model(Map.of("heyken.llm.model", "heyken-contract-missing"));
    Availability availability = model.availability();
    assertEquals(Availability.State.MODEL_MISSING, availability.state(), availability.describe());
    assertTrue(availability.action().contains("`ollama pull heyken-contract-missing`"), availability.action());
    assertTrue(availability.reason().contains("heyken-contract-missing"), availability.reason());

    var failure = assertThrows(LanguageModelException.class, () -> model.chat(ChatRequest.of(Message.user("hi"))));
    assertEquals(Kind.MODEL_MISSING, failure.kind(), failure.getMessage());
    assertEquals(1, failure.attempts(), "a missing model is not retried");
    assertTrue(failure.getMessage().contains("ollama pull heyken-contract-missing"), failure.getMessage());
    standIn().ifPresent(ollama -> {
      assertEquals(List.of(), ollama.requests("/api/pull"), "never pulls by surprise");
      assertEquals(1, ollama.requests("/api/chat").size());
    });
  }

  @Test
  void codeModelMissingIsReportedToo() {
    Availability availability = model(Map.of("heyken.llm.code-model", "heyken-contract-coder")).availability();
    assertEquals(Availability.State.MODEL_MISSING, availability.state(), availability.describe());
    assertTrue(availability.action().contains("`ollama pull heyken-contract-coder`"), availability.action());
  }

  @Test
  void serverDownIsDownWithTheStartHint() throws IOException {
    var model = model(Map.of("heyken.components.ollama-url", "http://127.0.0.1:" + closedPort(),
        "heyken.llm.retries", 1));
    Availability availability = model.availability();
    assertEquals(Availability.State.SERVER_DOWN, availability.state(), availability.describe());
    assertTrue(availability.action().startsWith("start Ollama"), availability.action());

    var failure = assertThrows(LanguageModelException.class, () -> model.chat(ChatRequest.of(Message.user("hi"))));
    assertEquals(Kind.UNREACHABLE, failure.kind(), failure.getMessage());
    assertEquals(2, failure.attempts(), "connection refused is retried");
    assertTrue(failure.getMessage().contains("start Ollama"), failure.getMessage());
    var streamed = assertThrows(LanguageModelException.class,
        () -> model.stream(ChatRequest.of(Message.user("hi")), (delta, soFar) -> { }));
    assertEquals(Kind.UNREACHABLE, streamed.kind(), streamed.getMessage());
  }

  @Test
  void failingProxyMakesTheServerDown() {
    var ollama = scripted();
    ollama.failAllRequests(503, "service unavailable");
    Availability availability = model().availability();
    assertEquals(Availability.State.SERVER_DOWN, availability.state(), availability.describe());
  }

  // ------------------------------------------------------------------ answers

  @Test
  void chatReturnsTheReplyToTheWholeHistory() {
    standIn().ifPresent(ollama -> ollama.whenLastMessage("user", "And of Italy?").reply("Rome."));
    var request = ChatRequest.of(
        Message.system("You answer with one word."),
        Message.user("What is the capital of France?"),
        Message.assistant("Paris."),
        Message.user("And of Italy?"));
    Reply reply = model().chat(request);
    assertFalse(reply.text().isBlank());
    assertEquals(DoneReason.STOP, reply.doneReason());
    assertEquals(1, reply.attempts());
    assertTrue(reply.usage().promptTokens() > 0);
    assertTrue(reply.usage().answerTokens() > 0);
    standIn().ifPresent(ollama -> {
      assertEquals("Rome.", reply.text());
      RecordedRequest sent = ollama.lastRequest("/api/chat");
      assertEquals(List.of("system", "user", "assistant", "user"),
          sent.messages().stream().map(m -> m.path("role").asText()).toList());
      assertEquals("Paris.", sent.messages().get(2).path("content").asText());
      assertFalse(sent.streaming());
    });
  }

  @Test
  void streamingDeliversPartialsBeforeTheEnd() throws Exception {
    var gate = new CountDownLatch(1);
    standIn().ifPresent(ollama ->
        ollama.whenPromptContains("Count").reply(ScriptedReply.text("one two three").pauseAfter(1, gate)));
    BlockingQueue<String> partials = new LinkedBlockingQueue<>();
    var soFar = new CopyOnWriteArrayList<String>();
    var started = new CountDownLatch(1);
    var listener = new StreamListener() {
      @Override
      public void onStarted(int attempt) {
        started.countDown();
      }

      @Override
      public void onPartial(String delta, String textSoFar) {
        partials.add(delta);
        soFar.add(textSoFar);
      }
    };
    CompletableFuture<Reply> call = CompletableFuture.supplyAsync(
        () -> model().stream(ChatRequest.of(Message.user("Count from one to three in words.")), listener), callers);

    String first = partials.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertTrue(first != null && !first.isEmpty(), "a first partial arrives");
    assertTrue(started.await(0, TimeUnit.SECONDS), "onStarted comes before the first partial");
    if (standIn().isPresent()) {
      // the stand-in holds the rest until the gate opens: the partial came while the answer was unfinished
      assertEquals("one ", first);
      assertFalse(call.isDone());
      gate.countDown();
    }
    Reply reply = call.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertEquals(reply.text(), soFar.get(soFar.size() - 1));
    assertTrue(soFar.size() >= (standIn().isPresent() ? 3 : 2), "several partials: " + soFar);
    assertEquals(DoneReason.STOP, reply.doneReason());
    standIn().ifPresent(ollama -> {
      assertEquals("one two three", reply.text());
      assertTrue(ollama.lastRequest("/api/chat").streaming());
    });
  }

  @Test
  void structuredOutputSendsTheSchemaAndParsesJson() throws Exception {
    standIn().ifPresent(ollama -> ollama.whenPromptContains("Paris")
        .reply(ScriptedReply.json("{\"city\":\"Paris\",\"population\":2100000}")));
    JsonNode schema = JSON.readTree(SCHEMA);
    var request = ChatRequest.of(
            Message.system("Reply only with JSON matching this schema: " + SCHEMA),
            Message.user("Give the city Paris and its population."))
        .withSchema(schema)
        .withOptions(Options.DEFAULT.withTemperature(0).withSeed(42));
    for (boolean streaming : new boolean[] {false, true}) {
      Reply reply = streaming ? model().stream(request, (delta, soFar) -> { }) : model().chat(request);
      JsonNode answer = reply.json();
      assertTrue(answer.path("city").isTextual(), reply.text());
      assertTrue(answer.path("population").canConvertToLong(), reply.text());
      standIn().ifPresent(ollama -> {
        assertEquals("Paris", answer.path("city").asText());
        assertEquals(schema, ollama.lastRequest("/api/chat").format(), "the schema is sent as format");
      });
    }
  }

  @Test
  void jsonFormatIsSentAsTheStringJson() {
    var ollama = scripted();
    model().chat(ChatRequest.of(Message.user("anything as JSON")).withJsonFormat());
    assertEquals("json", ollama.lastRequest("/api/chat").format().asText());
    model().stream(ChatRequest.of(Message.user("anything as JSON")).withJsonFormat(), (delta, soFar) -> { });
    assertEquals("json", ollama.lastRequest("/api/chat").format().asText());
  }

  @Test
  void numCtxTemperatureSeedAndKeepAliveAreSent() {
    var ollama = scripted();
    var request = ChatRequest.of(Message.user("hi"))
        .withOptions(Options.DEFAULT.withTemperature(0).withSeed(42).withNumPredict(64));
    model().chat(request);
    assertOptions(ollama.lastRequest("/api/chat"), 8192);
    model().stream(request, (delta, soFar) -> { });
    assertOptions(ollama.lastRequest("/api/chat"), 8192);
    model().chat(request.withOptions(request.options().withNumCtx(4096)));
    assertEquals(4096, ollama.lastRequest("/api/chat").option("num_ctx").asInt());
  }

  private static void assertOptions(RecordedRequest sent, int numCtx) {
    assertEquals(numCtx, sent.option("num_ctx").asInt(), sent.body());
    assertEquals(0.0, sent.option("temperature").asDouble(-1), sent.body());
    assertEquals(42, sent.option("seed").asInt(), sent.body());
    assertEquals(64, sent.option("num_predict").asInt(), sent.body());
    assertEquals("10m", sent.json().path("keep_alive").asText(), sent.body());
  }

  @Test
  void codePurposeUsesTheCodeModel() {
    var ollama = scripted();
    ollama.installModel("qwen2.5-coder:7b");
    model(Map.of("heyken.llm.code-model", "qwen2.5-coder:7b")).chat(ChatRequest.of(Message.user("code")).forCode());
    assertEquals("qwen2.5-coder:7b", ollama.lastRequest("/api/chat").model());
  }

  @Test
  void historyIsTrimmedToTheContextKeepingTheSystemPrompt() {
    var ollama = scripted();
    var history = new ArrayList<Message>();
    history.add(Message.system("You are Heyken."));
    for (int i = 0; i < 10; i++) {
      history.add(i % 2 == 0 ? Message.user("question " + i + " " + "x".repeat(400))
          : Message.assistant("answer " + i + " " + "y".repeat(400)));
    }
    history.add(Message.user("the newest question"));
    // 300 tokens of context, 100 kept for the answer: the system prompt, the newest and one more (~107 each) fit
    model(Map.of("heyken.llm.num-ctx", 300, "heyken.llm.reply-reserve", 100)).chat(ChatRequest.of(history));
    List<JsonNode> sent = ollama.lastRequest("/api/chat").messages();
    assertEquals(3, sent.size(), sent.toString());
    assertEquals("You are Heyken.", sent.get(0).path("content").asText());
    assertTrue(sent.get(1).path("content").asText().startsWith("answer 9"));
    assertEquals("the newest question", sent.get(2).path("content").asText());
  }

  // ------------------------------------------------------------------ failures

  @Test
  void midStreamErrorIsAnErrorNotATruncatedSuccess() {
    var ollama = scripted();
    ollama.whenPromptContains("crash").reply(ScriptedReply.text("a b c d").midError(2));
    var partials = new CopyOnWriteArrayList<String>();
    var failure = assertThrows(LanguageModelException.class,
        () -> model().stream(ChatRequest.of(Message.user("crash")), (delta, soFar) -> partials.add(delta)));
    assertEquals(Kind.STREAM_FAILED, failure.kind(), failure.getMessage());
    assertTrue(failure.getMessage().contains(OllamaStandIn.RUNNER_ERROR), failure.getMessage());
    assertEquals(List.of("a ", "b "), partials);
    assertEquals("a b ", failure.partialText());
    assertEquals(1, failure.attempts(), "not retried once partials reached the caller");
    assertEquals(1, ollama.requests("/api/chat").size());
  }

  @Test
  void streamFailureBeforeAnyPartialIsRetried() {
    var ollama = scripted();
    ollama.whenPromptContains("flaky").times(1).reply(ScriptedReply.text("a b").midError(0));
    ollama.whenPromptContains("flaky").times(1).reply(ScriptedReply.text("a b").disconnect(0));
    ollama.whenPromptContains("flaky").reply("fine now");
    Reply reply = model().stream(ChatRequest.of(Message.user("flaky")), (delta, soFar) -> { });
    assertEquals("fine now", reply.text());
    assertEquals(3, reply.attempts());
  }

  @Test
  void droppedConnectionAfterPartialsIsConnectionLost() {
    var ollama = scripted();
    ollama.whenPromptContains("drop").reply(ScriptedReply.text("a b c").disconnect(1));
    var failure = assertThrows(LanguageModelException.class,
        () -> model().stream(ChatRequest.of(Message.user("drop")), (delta, soFar) -> { }));
    assertEquals(Kind.CONNECTION_LOST, failure.kind(), failure.getMessage());
    assertEquals("a ", failure.partialText());
  }

  @Test
  void doneReasonLengthIsReportedAndNotRetried() {
    // num_predict 2 cuts any real answer too; the stand-in cuts its scripted reply the same way
    var request = ChatRequest.of(Message.user("Write a long story about a lighthouse."))
        .withOptions(Options.DEFAULT.withNumPredict(2));
    Reply whole = model().chat(request);
    assertEquals(DoneReason.LENGTH, whole.doneReason());
    assertTrue(whole.truncated());
    assertEquals(1, whole.attempts());
    Reply streamed = model().stream(request, (delta, soFar) -> { });
    assertTrue(streamed.truncated());
    assertEquals(1, streamed.attempts());
    standIn().ifPresent(ollama -> assertEquals(2, ollama.requests("/api/chat").size()));
  }

  @Test
  void truncatedJsonSaysWhyItDoesNotParse() {
    var ollama = scripted();
    ollama.whenPromptContains("files").reply(ScriptedReply.json("{\"files\":[{\"path\":\"A.java\"").doneReason("length"));
    Reply reply = model().chat(ChatRequest.of(Message.user("files")).withJsonFormat());
    var failure = assertThrows(LanguageModelException.class, reply::json);
    assertEquals(Kind.INVALID_OUTPUT, failure.kind());
    assertTrue(failure.getMessage().contains("done_reason length"), failure.getMessage());
  }

  @Test
  void transient503IsRetriedThenSucceeds() {
    var ollama = scripted();
    ollama.always().times(2).reply(ScriptedReply.busy());
    Reply whole = model().chat(ChatRequest.of(Message.user("hi")));
    assertEquals(3, whole.attempts());
    assertEquals(OllamaStandIn.DEFAULT_REPLY, whole.text());

    ollama.clearRequests().always().times(2).reply(ScriptedReply.busy());
    Reply streamed = model().stream(ChatRequest.of(Message.user("hi")), (delta, soFar) -> { });
    assertEquals(3, streamed.attempts());
    assertEquals(3, ollama.requests("/api/chat").size());
  }

  @Test
  void retriesStopAtTheConfiguredCount() {
    var ollama = scripted();
    ollama.always().reply(ScriptedReply.busy());
    var failure = assertThrows(LanguageModelException.class,
        () -> model(Map.of("heyken.llm.retries", 1)).chat(ChatRequest.of(Message.user("hi"))));
    assertEquals(Kind.BUSY, failure.kind());
    assertEquals(2, failure.attempts());
    assertEquals(2, ollama.requests("/api/chat").size());
  }

  @Test
  void badRequestAndRunnerFailureAreNotRetried() {
    var ollama = scripted();
    ollama.whenPromptContains("bad").reply(ScriptedReply.error(400, "invalid options"));
    ollama.whenPromptContains("oom").reply(ScriptedReply.error(500, "llama runner process has terminated"));
    for (boolean streaming : new boolean[] {false, true}) {
      ollama.clearRequests();
      var rejected = assertThrows(LanguageModelException.class, () -> call(streaming, "bad"));
      assertEquals(Kind.REJECTED, rejected.kind(), rejected.getMessage());
      assertTrue(rejected.getMessage().contains("invalid options"), rejected.getMessage());
      var failed = assertThrows(LanguageModelException.class, () -> call(streaming, "oom"));
      assertEquals(Kind.SERVER_ERROR, failed.kind(), failed.getMessage());
      assertTrue(failed.getMessage().contains("ollama ps"), failed.getMessage());
      assertEquals(2, ollama.requests("/api/chat").size(), "one request each, no retry");
    }
  }

  @Test
  void missingModelIsNotRetriedWhenStreamingEither() {
    var ollama = scripted();
    var failure = assertThrows(LanguageModelException.class, () -> model().stream(
        ChatRequest.of(Message.user("hi")).withModel("heyken-contract-missing"), (delta, soFar) -> { }));
    assertEquals(Kind.MODEL_MISSING, failure.kind());
    assertEquals(404, failure.status());
    assertEquals(1, ollama.requests("/api/chat").size());
  }

  private Reply call(boolean streaming, String prompt) {
    var request = ChatRequest.of(Message.user(prompt));
    return streaming ? model().stream(request, (delta, soFar) -> { }) : model().chat(request);
  }

  // ------------------------------------------------------------------ concurrency and time

  @Test
  void concurrencyBoundHoldsAndTheWaiterHearsItsPosition() throws Exception {
    var ollama = scripted();
    var gate = new CountDownLatch(1);
    ollama.whenPromptContains("held").reply(ScriptedReply.text("done").heldUntil(gate));
    var model = model(Map.of("heyken.llm.max-concurrent", 2));
    BlockingQueue<Integer> positions = new LinkedBlockingQueue<>();
    var calls = new ArrayList<CompletableFuture<Reply>>();
    for (int i = 0; i < 3; i++) {
      boolean streaming = i == 1;
      calls.add(CompletableFuture.supplyAsync(() -> streaming
          ? model.stream(ChatRequest.of(Message.user("held")), new StreamListener() {
            @Override
            public void onQueued(int position) {
              positions.add(position);
            }

            @Override
            public void onPartial(String delta, String soFar) {
            }
          })
          : model.chat(ChatRequest.of(Message.user("held")), positions::add), callers));
    }
    assertEquals(1, positions.poll(WAIT.toSeconds(), TimeUnit.SECONDS), "the third caller waits first in line");
    assertTrue(ollama.awaitInFlight(2, WAIT));
    assertEquals(new LanguageModel.QueueStatus(2, 1, 2), model.queue());
    assertEquals(2, ollama.inFlight(), "the waiter was not sent");
    gate.countDown();
    for (var call : calls) {
      assertEquals("done", call.get(WAIT.toSeconds(), TimeUnit.SECONDS).text());
    }
    assertEquals(2, ollama.peakInFlight());
    assertEquals(new LanguageModel.QueueStatus(0, 0, 2), model.queue());
  }

  @Test
  void queueFullFailsAtOnce() throws Exception {
    var ollama = scripted();
    var gate = new CountDownLatch(1);
    ollama.whenPromptContains("held").reply(ScriptedReply.text("done").heldUntil(gate));
    var model = model(Map.of("heyken.llm.max-concurrent", 1, "heyken.llm.max-waiting", 0));
    var first = CompletableFuture.supplyAsync(() -> model.chat(ChatRequest.of(Message.user("held"))), callers);
    assertTrue(ollama.awaitInFlight(1, WAIT));
    var failure = assertThrows(LanguageModelException.class, () -> model.chat(ChatRequest.of(Message.user("held"))));
    assertEquals(Kind.QUEUE_FULL, failure.kind());
    assertTrue(failure.getMessage().contains("try again"), failure.getMessage());
    gate.countDown();
    assertEquals("done", first.get(WAIT.toSeconds(), TimeUnit.SECONDS).text());
  }

  @Test
  void requestTimeoutFiresWhenTheModelTakesTooLongToStart() {
    var ollama = scripted();
    ollama.whenPromptContains("load").reply(ScriptedReply.text("late").delayBeforeHeaders(Duration.ofSeconds(20)));
    var model = model(Map.of("heyken.llm.request-timeout", "1s", "heyken.llm.retries", 0));
    long start = System.nanoTime();
    var whole = assertThrows(LanguageModelException.class, () -> model.chat(ChatRequest.of(Message.user("load"))));
    assertEquals(Kind.TIMEOUT, whole.kind(), whole.getMessage());
    assertTrue(whole.getMessage().contains("heyken.llm.request-timeout"), whole.getMessage());
    var streamed = assertThrows(LanguageModelException.class,
        () -> model.stream(ChatRequest.of(Message.user("load")), (delta, soFar) -> { }));
    assertEquals(Kind.TIMEOUT, streamed.kind(), streamed.getMessage());
    assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(10)) < 0,
        "both timed out well before the 20 s the model would take");
  }

  @Test
  void silentStreamIsAbandonedAfterTheIdleTimeout() {
    var ollama = scripted();
    ollama.whenPromptContains("stuck").reply(ScriptedReply.text("a b c").stallAfter(1));
    var failure = assertThrows(LanguageModelException.class,
        () -> model(Map.of("heyken.llm.stream-idle-timeout", "300ms"))
            .stream(ChatRequest.of(Message.user("stuck")), (delta, soFar) -> { }));
    assertEquals(Kind.TIMEOUT, failure.kind(), failure.getMessage());
    assertTrue(failure.getMessage().contains("stream-idle-timeout"), failure.getMessage());
    assertEquals("a ", failure.partialText());
  }

  @Test
  void hungWholeAnswerIsAbandoned() {
    var ollama = scripted();
    ollama.whenPromptContains("hang").reply(ScriptedReply.text("never").hang());
    var failure = assertThrows(LanguageModelException.class,
        () -> model(Map.of("heyken.llm.request-timeout", "1s", "heyken.llm.retries", 0))
            .chat(ChatRequest.of(Message.user("hang"))));
    assertEquals(Kind.TIMEOUT, failure.kind(), failure.getMessage());
  }

  @Test
  void timeoutIsTransientAndRetried() {
    var ollama = scripted();
    ollama.whenPromptContains("cold").times(1).reply(ScriptedReply.text("late").delayBeforeHeaders(Duration.ofSeconds(20)));
    ollama.whenPromptContains("cold").reply("warm now");
    Reply reply = model(Map.of("heyken.llm.request-timeout", "1s", "heyken.llm.retries", 1))
        .stream(ChatRequest.of(Message.user("cold")), (delta, soFar) -> { });
    assertEquals("warm now", reply.text());
    assertEquals(2, reply.attempts());
  }

  private static int closedPort() throws IOException {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
